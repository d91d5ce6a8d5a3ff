"""Model-informed natalizumab dosing in the clinic: troughs, recommendations, their accuracy.

One use case per action, each one audited transaction (``AuditedAccess.run``):

- ``assess``: store the measured troughs (clinical entries of kind ``drug-level``), score every
  new trough against the latest stored recommendation made before it (its prediction error is
  stored in the trough's entry), fit the model to every stored trough with the doses from the
  patient's record, and store the recommendation (kind ``tdm-recommendation``) with its model
  and version. The fit runs before anything is written, so a refused input stores nothing.
- ``apply_interval``: a physician (only) puts the latest recommendation's interval on the
  patient's natalizumab order, which re-plans its calendar. Never automatic.
- ``get_panel`` and ``accuracy``: the read models of the patient page and of the running
  accuracy per model version (against the published 4.8 % / 24 %).

Doses come from the record: sessions whose infusion started (their recorded rates and pauses,
``schedule_from_events``) and doses recorded as given elsewhere (the protocol run uninterrupted
from 09:00 at the centre on that day: a stated assumption, shown in the basis).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from msinfusion.application.audit import Actor, AuditedAccess, Subject
from msinfusion.application.clinical_record_view import retracted_ids
from msinfusion.application.permissions import Action
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.record_keeping import check_order_options
from msinfusion.application.records import (
    ClinicalEntry,
    ClinicalEntryKind,
    OrderStatus,
    TherapyOrder,
)
from msinfusion.catalog.registry import Catalog
from msinfusion.clinical_time import read_aware_datetime
from msinfusion.errors import InvalidCommand, InvalidCourseOrder, MsinfusionError
from msinfusion.pharmacology.dosing import (
    InfusionSchedule,
    combine,
    schedule_from_events,
    schedule_from_protocol,
)
from msinfusion.pharmacology.tdm import Level
from msinfusion.pharmacology.tdm_advice import (
    PUBLISHED_ACCURACY,
    PublishedAccuracy,
    TdmAdvice,
    VersionAccuracy,
    advise,
    predicted_level,
    prediction_error_pct,
    running_accuracy,
)
from msinfusion.planning.course_builders import NATALIZUMAB_INTERVALS
from msinfusion.session.codec import event_from_dict

THERAPY_ID = "natalizumab"
PROTOCOL_ID = "natalizumab-300"
MAX_TROUGHS = 50
MAX_TROUGH_UG_PER_ML = 1000.0
"""Sanity bound on a typed value (published troughs range 0.1-110 ug/mL), not a clinical rule."""
GIVEN_ELSEWHERE_AT = time(9, 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class TroughInput:
    at: datetime
    trough_ug_per_ml: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredTrough:
    entry_id: str
    at: datetime
    trough_ug_per_ml: float
    prediction: Mapping[str, Any] | None
    """``recommendation_id``, ``model_version``, ``predicted_ug_per_ml``, ``error_pct``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Recommendation:
    entry_id: str
    recorded_at: datetime
    order_id: str
    orderable_interval: str | None
    """The longest interval the order can take (``4w``/``6w``) not above the model's."""
    advice: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class TdmPanel:
    """The patient page's natalizumab panel."""

    patient_id: str
    order: TherapyOrder | None
    troughs: tuple[StoredTrough, ...]
    recommendation: Recommendation | None
    accuracy: tuple[VersionAccuracy, ...]
    published: tuple[PublishedAccuracy, ...]


def parse_troughs(raw: Any) -> list[TroughInput]:
    """The ``troughs`` of a request body, or the first thing wrong, naming the field."""
    if not isinstance(raw, list) or not raw:
        raise InvalidCommand("troughs must be a non-empty list", field="troughs")
    if len(raw) > MAX_TROUGHS:
        raise InvalidCommand(f"troughs: at most {MAX_TROUGHS} at once", field="troughs")
    out = []
    for i, item in enumerate(raw):
        where = f"troughs[{i}]"
        if not isinstance(item, Mapping):
            raise InvalidCommand(f"{where} must be an object", field=where)
        unknown = sorted(set(item) - {"at", "trough_ug_per_ml"})
        if unknown:
            raise InvalidCommand(
                f"{where}: unknown field {unknown[0]}", field=f"{where}.{unknown[0]}"
            )
        at = read_aware_datetime(
            item.get("at"),
            f"{where}.at",
            error=InvalidCommand,
            not_a_time="'{value}' is not an ISO 8601 time",
            no_offset="'{value}' has no UTC offset",
        )
        value = item.get("trough_ug_per_ml")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidCommand(
                f"{where}.trough_ug_per_ml must be a number", field=f"{where}.trough_ug_per_ml"
            )
        if not math.isfinite(value) or not 0 < value <= MAX_TROUGH_UG_PER_ML:
            raise InvalidCommand(
                f"{where}.trough_ug_per_ml must be above 0 and at most {MAX_TROUGH_UG_PER_ML:g}",
                field=f"{where}.trough_ug_per_ml",
            )
        out.append(TroughInput(at=at, trough_ug_per_ml=float(value)))
    return out


def parse_target(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or float(raw) not in (5.0, 10.0):
        raise InvalidCommand(
            "target_ug_per_ml must be 5 or 10 (the NEXT-MS trough targets)",
            field="target_ug_per_ml",
        )
    return float(raw)


def orderable_interval(weeks: int | None) -> str | None:
    """The longest order interval (``4w``, ``6w``) not longer than the model's ``weeks``.

    >>> orderable_interval(5), orderable_interval(7), orderable_interval(3)
    ('4w', '6w', None)
    """
    fitting = [c for c in NATALIZUMAB_INTERVALS if weeks is not None and int(c[:-1]) <= weeks]
    return max(fitting, key=lambda c: int(c[:-1])) if fitting else None


class TdmUseCases:
    def __init__(
        self,
        access: AuditedAccess,
        catalog: Catalog,
        *,
        new_id: Callable[[str], str],
        centre_tz: tzinfo,
        samples: int = 100,
    ) -> None:
        self._access = access
        self._catalog = catalog
        self._new_id = new_id
        self._tz = centre_tz
        self._samples = samples

    # -- writing -----------------------------------------------------------------------------

    def assess(
        self, actor: Actor, patient_id: str, troughs: Sequence[TroughInput], target_ug_per_ml: float
    ) -> tuple[Recommendation, tuple[StoredTrough, ...]]:
        """Store ``troughs``, score them, fit and store a recommendation (one transaction)."""
        subject = Subject(verb="tdm.assess", resource_type="patient", resource_id=patient_id)

        def work(uow: UnitOfWork) -> tuple[Recommendation, tuple[StoredTrough, ...]]:
            patient = uow.patients.get(patient_id)
            order = _natalizumab_order(uow, patient_id)
            entries = uow.clinical_entries.list_for_patient(patient_id)
            stored = _troughs(entries)
            history = self._history(uow, patient_id, entries)
            weight = None if patient.weight_kg is None else float(patient.weight_kg)
            latest = _latest_recommendation(entries)
            new_entries: list[ClinicalEntry] = []
            for i, trough in enumerate(sorted(troughs, key=lambda t: t.at)):
                where = f"troughs[{i}].at"
                if trough.at > actor.at:
                    raise InvalidCommand(f"{where} is in the future", field=where)
                if trough.at <= history.origin:
                    raise InvalidCommand(
                        f"{where} is before the first natalizumab dose", field=where
                    )
                same = [s for s in stored if s.at == trough.at]
                if same and same[0].trough_ug_per_ml == trough.trough_ug_per_ml:
                    continue  # sent again: already stored
                if same:
                    raise InvalidCommand(
                        f"{where}: another value is stored for this time; retract it first",
                        field=where,
                    )
                prediction = _prediction(history, trough, latest, weight)
                entry_id = _trough_entry_id(patient_id, trough.at, entries)
                entry = self._entry(
                    actor,
                    patient_id,
                    ClinicalEntryKind.DRUG_LEVEL,
                    trough.at,
                    {
                        "analyte": THERAPY_ID,
                        "at": trough.at.isoformat(),
                        "trough_ug_per_ml": trough.trough_ug_per_ml,
                        "prediction": prediction,
                    },
                    entry_id=entry_id,
                )
                new_entries.append(entry)
                stored.append(_stored_trough(entry))
            levels = [
                Level(day=history.day_of(s.at), conc_ug_per_ml=s.trough_ug_per_ml)
                for s in sorted(stored, key=lambda s: s.at)
            ]
            try:
                advice = advise(
                    history,
                    levels,
                    self._catalog.get_protocol(PROTOCOL_ID),
                    target_ug_per_ml=target_ug_per_ml,
                    weight_kg=weight,
                    samples=self._samples,
                )
            except MsinfusionError as error:
                raise InvalidCommand(error.message, field=error.field or "troughs") from None
            data = {
                "order_id": order.id,
                "origin": history.origin.isoformat(),
                "trough_entry_ids": [s.entry_id for s in stored],
                **advice_to_dict(advice),
            }
            rec_entry = self._entry(
                actor, patient_id, ClinicalEntryKind.TDM_RECOMMENDATION, actor.at, data
            )
            for entry in (*new_entries, rec_entry):
                uow.clinical_entries.add(entry)
            fresh = {e.id for e in new_entries}
            return _recommendation(rec_entry), tuple(s for s in stored if s.entry_id in fresh)

        return self._access.run(actor, Action.RECORD_CLINICAL, subject, work)

    def apply_interval(
        self,
        actor: Actor,
        patient_id: str,
        recommendation_id: str,
        *,
        acknowledge_off_label: bool = False,
    ) -> TherapyOrder:
        """Put the latest recommendation's orderable interval on the natalizumab order."""
        subject = Subject(verb="tdm.apply", resource_type="patient", resource_id=patient_id)

        def work(uow: UnitOfWork) -> TherapyOrder:
            entries = uow.clinical_entries.list_for_patient(patient_id)
            latest = _latest_recommendation(entries)
            if latest is None or latest.entry_id != recommendation_id:
                raise InvalidCommand(
                    "recommendation_id must name the patient's latest recommendation",
                    field="recommendation_id",
                )
            interval = latest.orderable_interval
            if interval is None:
                raise InvalidCommand(
                    "the model keeps no orderable interval above the target", field="interval_weeks"
                )
            order = uow.orders.get(latest.order_id)
            if not order.active or order.status is not OrderStatus.SIGNED:
                raise InvalidCommand(
                    f"order {order.id} is {order.status.value}: not active", field="order_id"
                )
            extended = interval != NATALIZUMAB_INTERVALS[0]
            if extended and not acknowledge_off_label:
                raise InvalidCourseOrder(
                    f"natalizumab every {interval} is extended-interval dosing (off-label): "
                    "acknowledge_off_label is required",
                    field="acknowledge_off_label",
                )
            options = dict(order.options)
            options["interval"] = interval
            options.pop("interval_from_dose", None)
            if extended:
                # The doses given keep their 4-weekly calendar; the new interval runs from the
                # last of them (re-planning from the start would make them "too early").
                options["acknowledge_off_label"] = "yes"
                options["interval_from_dose"] = str(_doses_given(uow, order) + 1)
            changed = replace(order, options=tuple(sorted(options.items())))
            check_order_options(changed.therapy_id, changed.start_date, changed.options)
            uow.orders.update(changed)
            return changed

        return self._access.run(actor, Action.WRITE_ORDER, subject, work)

    # -- reading -----------------------------------------------------------------------------

    def get_panel(self, actor: Actor, patient_id: str) -> TdmPanel:
        subject = Subject(verb="tdm.read", resource_type="patient", resource_id=patient_id)

        def work(uow: UnitOfWork) -> TdmPanel:
            uow.patients.get(patient_id)
            entries = uow.clinical_entries.list_for_patient(patient_id)
            orders = [
                o
                for o in uow.orders.list_for_patient(patient_id)
                if o.therapy_id == THERAPY_ID and o.active
            ]
            return TdmPanel(
                patient_id=patient_id,
                order=orders[-1] if orders else None,
                troughs=tuple(sorted(_troughs(entries), key=lambda s: s.at)),
                recommendation=_latest_recommendation(entries),
                accuracy=_accuracy(uow),
                published=PUBLISHED_ACCURACY,
            )

        return self._access.run(actor, Action.READ_COURSE, subject, work)

    def accuracy(self, actor: Actor) -> tuple[VersionAccuracy, ...]:
        """Running accuracy per model version over every patient's scored troughs."""
        subject = Subject(verb="tdm.accuracy", resource_type="centre")
        return self._access.run(actor, Action.READ_COURSE, subject, _accuracy)

    # -- helpers -----------------------------------------------------------------------------

    def _entry(
        self,
        actor: Actor,
        patient_id: str,
        kind: ClinicalEntryKind,
        at: datetime,
        data: dict[str, Any],
        *,
        entry_id: str | None = None,
    ) -> ClinicalEntry:
        return ClinicalEntry(
            id=entry_id or self._new_id("entry"),
            patient_id=patient_id,
            kind=kind,
            on=at.astimezone(self._tz).date(),
            data=data,
            recorded_at=actor.at,
            recorded_by=actor.user_id,
        )

    def _history(
        self, uow: UnitOfWork, patient_id: str, entries: list[ClinicalEntry]
    ) -> InfusionSchedule:
        """The natalizumab doses of the patient's record, as a dosing schedule."""
        streams = []
        for summary in uow.sessions.list_for_patient(patient_id):
            if summary.infusion_started_at is None or summary.protocol_id is None:
                continue
            if self._catalog.get_protocol(summary.protocol_id).therapy_id != THERAPY_ID:
                continue
            streams.append([event_from_dict(e) for e in uow.events.read(summary.session_id)])
        gone = retracted_ids(entries)
        elsewhere = sorted(
            datetime.combine(date.fromisoformat(str(e.data["on"])), GIVEN_ELSEWHERE_AT, self._tz)
            for e in entries
            if e.kind is ClinicalEntryKind.GIVEN_DOSE
            and e.id not in gone
            and uow.orders.get(str(e.data["order_id"])).therapy_id == THERAPY_ID
        )
        firsts = [s[0].at for s in streams if s] + elsewhere
        if not firsts:
            raise InvalidCommand(
                "the patient's record holds no natalizumab dose given", field="troughs"
            )
        origin = min(firsts)
        parts = []
        if elsewhere:
            protocol = self._catalog.get_protocol(PROTOCOL_ID)
            parts.append(
                schedule_from_protocol([protocol] * len(elsewhere), elsewhere, origin=origin)
            )
        if streams:
            parts.append(schedule_from_events(streams, origin=origin))
        return combine(parts)


def advice_to_dict(advice: TdmAdvice) -> dict[str, Any]:
    """The JSON shape of a recommendation, as stored and as the API answers."""
    band = advice.trough_band_ug_per_ml
    return {
        "status": advice.status,
        "model_version": advice.model_version,
        "target_ug_per_ml": advice.target_ug_per_ml,
        "target_source_url": advice.target_source_url,
        "interval_weeks": advice.interval_weeks,
        "predicted_trough_ug_per_ml": advice.predicted_trough_ug_per_ml,
        "band": {
            "trough_p5_ug_per_ml": None if band is None else band[0],
            "trough_p95_ug_per_ml": None if band is None else band[1],
            "interval_weeks_p95_above_target": advice.interval_band_weeks[0],
            "interval_weeks_p50_above_target": advice.interval_band_weeks[1],
        },
        "alpha4_saturation_pct_at_trough": advice.alpha4_saturation_pct_at_trough,
        "orderable_interval": orderable_interval(advice.interval_weeks),
        "eta_map": advice.eta_map,
        "eta_sd": advice.eta_sd,
        "fitted_levels_ug_per_ml": list(advice.fitted_levels_ug_per_ml),
        "forecasts": list(advice.forecasts),
        "curve": [[p.day, p.map_ug_per_ml, p.p5_ug_per_ml, p.p95_ug_per_ml] for p in advice.curve],
        "basis": list(advice.basis),
        "decision_support": True,
    }


def _natalizumab_order(uow: UnitOfWork, patient_id: str) -> TherapyOrder:
    orders = [
        o
        for o in uow.orders.list_for_patient(patient_id)
        if o.therapy_id == THERAPY_ID and o.active
    ]
    if not orders:
        raise InvalidCommand("the patient has no active natalizumab order", field="order_id")
    return orders[-1]


def _trough_entry_id(patient_id: str, at: datetime, entries: list[ClinicalEntry]) -> str:
    """A trough's entry id from the patient, its time and the troughs stored before it.

    Two requests that store the same trough at once compute the same id, so the second one's
    transaction fails on the primary key (``DuplicateRecord``, 409) and stores nothing: a trough
    is never counted, or scored, twice. After a retraction the count differs, so the corrected
    value gets a new id.
    """
    stored = sum(1 for e in entries if e.kind is ClinicalEntryKind.DRUG_LEVEL)
    key = f"{patient_id}|{at.astimezone(UTC).isoformat()}|{stored}"
    return "entry-trough-" + hashlib.sha256(key.encode()).hexdigest()[:24]


def _doses_given(uow: UnitOfWork, order: TherapyOrder) -> int:
    """The highest dose number of the order given so far (sessions started, doses elsewhere)."""
    entries = uow.clinical_entries.list_for_patient(order.patient_id)
    gone = retracted_ids(entries)
    numbers = [
        int(e.data["dose_number"])
        for e in entries
        if e.kind is ClinicalEntryKind.GIVEN_DOSE
        and e.id not in gone
        and e.data.get("order_id") == order.id
    ]
    numbers += [
        s.dose_number
        for s in uow.sessions.list_for_patient(order.patient_id)
        if s.infusion_started_at is not None
        and s.dose_number is not None
        and s.protocol_id == PROTOCOL_ID
        and s.infusion_started_at.date() >= order.start_date
    ]
    return max(numbers, default=0)


def _stored_trough(entry: ClinicalEntry) -> StoredTrough:
    prediction = entry.data.get("prediction")
    return StoredTrough(
        entry_id=entry.id,
        at=datetime.fromisoformat(str(entry.data["at"])),
        trough_ug_per_ml=float(entry.data["trough_ug_per_ml"]),
        prediction=prediction if isinstance(prediction, Mapping) else None,
    )


def _troughs(entries: list[ClinicalEntry]) -> list[StoredTrough]:
    gone = retracted_ids(entries)
    return [
        _stored_trough(e)
        for e in entries
        if e.kind is ClinicalEntryKind.DRUG_LEVEL and e.id not in gone
    ]


def _recommendation(entry: ClinicalEntry) -> Recommendation:
    return Recommendation(
        entry_id=entry.id,
        recorded_at=entry.recorded_at,
        order_id=str(entry.data["order_id"]),
        orderable_interval=entry.data.get("orderable_interval"),
        advice=entry.data,
    )


def _latest_recommendation(entries: list[ClinicalEntry]) -> Recommendation | None:
    gone = retracted_ids(entries)
    found = [
        e for e in entries if e.kind is ClinicalEntryKind.TDM_RECOMMENDATION and e.id not in gone
    ]
    return _recommendation(found[-1]) if found else None


def _prediction(
    history: InfusionSchedule,
    trough: TroughInput,
    latest: Recommendation | None,
    weight_kg: float | None,
) -> dict[str, Any] | None:
    """What the latest earlier recommendation predicted for this trough, and its error."""
    if latest is None or latest.recorded_at >= trough.at:
        return None
    eta = {str(k): float(v) for k, v in dict(latest.advice["eta_map"]).items()}
    predicted = predicted_level(history, history.day_of(trough.at), eta, weight_kg=weight_kg)
    return {
        "recommendation_id": latest.entry_id,
        "model_version": str(latest.advice["model_version"]),
        "predicted_ug_per_ml": predicted,
        "error_pct": prediction_error_pct(
            predicted_ug_per_ml=predicted, measured_ug_per_ml=trough.trough_ug_per_ml
        ),
    }


def _accuracy(uow: UnitOfWork) -> tuple[VersionAccuracy, ...]:
    entries = uow.clinical_entries
    gone = retracted_ids(entries.list_of_kind(ClinicalEntryKind.RETRACTION))
    scored = [
        _stored_trough(e)
        for e in entries.list_of_kind(ClinicalEntryKind.DRUG_LEVEL)
        if e.id not in gone
    ]
    return running_accuracy(
        (str(t.prediction["model_version"]), float(t.prediction["error_pct"]))
        for t in scored
        if t.prediction is not None
    )
