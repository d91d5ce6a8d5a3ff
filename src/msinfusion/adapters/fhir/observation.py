"""Observation: the vital signs charted in a session, and their NEWS2 total.

One ``VitalsRecorded`` event (stream number ``n``) gives, for what it measured:

* ``{session}-bp-{n}``: the blood-pressure panel 85354-9 (profile ``bp``), no value, systolic
  8480-6, diastolic 8462-4 and, when recorded (``VitalsRecorded`` v5), mean arterial pressure
  8478-0 as components in ``mm[Hg]``;
* ``{session}-heart-rate-{n}`` 8867-4 ``/min``; ``{session}-spo2-{n}`` coded 2708-6 and
  59408-5 (``%``); ``{session}-temperature-{n}`` 8310-5 ``Cel``;
  ``{session}-respiratory-rate-{n}`` 9279-1 ``/min``; each with its MDC code as a second coding;
* ``{session}-news2-{n}``: when the set holds all seven NEWS2 parameters, the NEWS2 total
  (SNOMED CT UK 1104051000000101) as a ``survey`` Observation with the sub-scores as components,
  ``derivedFrom`` the measurements. An incomplete set has no NEWS2 score (none is imputed).

``effectiveDateTime`` is when it was measured, ``issued`` when it was charted (both times of a
late entry); ``performer`` the signing user; ``device`` the monitor (by identifier) when a
device fed it; ``partOf`` the session's infusion administration once it started.
"""

from __future__ import annotations

from fractions import Fraction

from fhir.resources.R4B.observation import Observation

from msinfusion.adapters.fhir.codes import (
    BP_PANEL,
    BP_PANEL_DISPLAY,
    BP_PANEL_MDC,
    NEWS2_SUBSCORES,
    NEWS2_TOTAL,
    OBSERVATION_CATEGORY,
    OXYGEN_SATURATION,
    PROFILES,
    SNOMED,
    VITAL_SIGNS_PROFILE,
    loinc,
    mdc,
    vital_sign_code,
)
from msinfusion.adapters.fhir.common import (
    JsonObject,
    instant,
    meta,
    quantity,
    reference,
    validated,
)
from msinfusion.adapters.fhir.medication_administration import infusion_status, numbered_events
from msinfusion.adapters.fhir.record import SessionRecord
from msinfusion.monitoring.news2 import score_news2
from msinfusion.session import events as ev
from msinfusion.session.alerting import vital_signs_of

DEVICE_SYSTEM = "urn:msinfusion:device"
"""Senders of device feeds (``device:<sender>`` users), as identifiers of this server."""

KINDS = ("bp", "heart-rate", "spo2", "temperature", "respiratory-rate", "news2")
"""The kinds of Observation ids, ``{session}-{kind}-{n}``."""

SINGLE_VALUES: tuple[tuple[str, str], ...] = (
    ("heart-rate", "heart_rate_bpm"),
    ("spo2", "spo2_pct"),
    ("temperature", "temperature_c"),
    ("respiratory-rate", "respiratory_rate_per_min"),
)
"""Observation kind -> the event field it reports (one value each)."""


def _category(code: str, display: str) -> list[JsonObject]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code, "display": display}]}]


VITAL_SIGNS = _category("vital-signs", "Vital Signs")
SURVEY = _category("survey", "Survey")


def _coded(field: str) -> JsonObject:
    code = vital_sign_code(field)
    coding = [loinc(code.loinc, code.display)]
    if code.mdc is not None and code.mdc_ref is not None:
        coding.append(mdc(code.mdc, code.mdc_ref))
    return {"coding": coding, "text": code.display}


def _spo2_code() -> JsonObject:
    coded = _coded("spo2_pct")
    coded["coding"].insert(0, loinc(OXYGEN_SATURATION, "Oxygen saturation in Arterial blood"))
    return coded


class _Builder:
    """The Observations of one session, sharing subject, performer, device and links."""

    def __init__(self, record: SessionRecord) -> None:
        self.record = record
        started = infusion_status(record) not in (None, "not-done")
        self.part_of = (
            [reference("MedicationAdministration", record.session_id)] if started else None
        )

    def common(self, kind: str, sequence: int, event: ev.VitalsRecorded) -> JsonObject:
        user = event.user
        device = None
        performer = None
        if user.startswith("device:"):
            sender = user.removeprefix("device:")
            device = {"identifier": {"system": DEVICE_SYSTEM, "value": sender}, "display": sender}
        elif user in self.record.signers:
            performer = [reference("Practitioner", self.record.signers[user])]
        return {
            "resourceType": "Observation",
            "id": f"{self.record.session_id}-{kind}-{sequence}",
            "meta": meta(synthetic=self.record.synthetic),
            "status": "final",
            "partOf": self.part_of,
            "subject": reference("Patient", self.record.patient_id),
            "effectiveDateTime": instant(event.at),
            "issued": None if event.recorded_at is None else instant(event.recorded_at),
            "performer": performer,
            "device": device,
        }

    def vital(self, kind: str, sequence: int, event: ev.VitalsRecorded, profile: str) -> JsonObject:
        data = self.common(kind, sequence, event)
        data["meta"] = {**(data["meta"] or {}), "profile": [profile, VITAL_SIGNS_PROFILE]}
        data["category"] = VITAL_SIGNS
        return data


def _value(field: str, value: Fraction) -> JsonObject:
    return quantity(value, vital_sign_code(field).ucum)


def vitals_observations(
    builder: _Builder, sequence: int, event: ev.VitalsRecorded
) -> list[JsonObject]:
    """The vital-sign Observations of one charted set."""
    found: list[JsonObject] = []
    pressures = (
        ("systolic_mmhg", event.systolic_mmhg),
        ("diastolic_mmhg", event.diastolic_mmhg),
        ("mean_arterial_mmhg", event.mean_arterial_mmhg),
    )
    if any(value is not None for _, value in pressures):
        bp = builder.vital("bp", sequence, event, PROFILES["bp"])
        bp["code"] = {
            "coding": [
                loinc(BP_PANEL, BP_PANEL_DISPLAY),
                mdc(BP_PANEL_MDC, "MDC_PRESS_BLD_NONINV"),
            ],
            "text": "Blood pressure",
        }
        bp["component"] = [
            {"code": _coded(field), "valueQuantity": _value(field, value)}
            for field, value in pressures
            if value is not None
        ]
        found.append(bp)
    for kind, field in SINGLE_VALUES:
        value = getattr(event, field)
        if value is None:
            continue
        data = builder.vital(kind, sequence, event, PROFILES[field])
        data["code"] = _spo2_code() if field == "spo2_pct" else _coded(field)
        data["valueQuantity"] = _value(field, value)
        found.append(data)
    return found


def news2_observation(
    builder: _Builder, sequence: int, event: ev.VitalsRecorded, measured: list[JsonObject]
) -> JsonObject | None:
    """The NEWS2 total of a complete set (None for an incomplete one)."""
    score = score_news2(vital_signs_of(event, at=event.at, user=event.user))
    if not score.is_complete or score.band is None:
        return None
    data = builder.common("news2", sequence, event)
    data["category"] = SURVEY
    data["code"] = {"coding": [dict(NEWS2_TOTAL)], "text": "NEWS2 total score"}
    data["valueInteger"] = score.total
    data["interpretation"] = [{"text": f"NEWS2 band {score.band.value}"}]
    components = []
    for name, points in score.subscores.items():
        code: JsonObject = {"text": f"NEWS2 {name.replace('_', ' ')} score"}
        if not (name == "spo2" and score.spo2_scale != 1):
            code["coding"] = [{"system": SNOMED, "code": NEWS2_SUBSCORES[name]}]
        components.append({"code": code, "valueInteger": points})
    data["component"] = components
    data["derivedFrom"] = [reference("Observation", m["id"]) for m in measured]
    return data


def observation_ids(record: SessionRecord) -> list[str]:
    """The ids of the session's Observations (what ``observation_resources`` builds), without
    building them."""
    return [data["id"] for data in _observation_data(record)]


def observation_resources(record: SessionRecord) -> list[JsonObject]:
    """Every Observation of the session, in clinical order."""
    return [validated(Observation, data) for data in _observation_data(record)]


def _observation_data(record: SessionRecord) -> list[JsonObject]:
    builder = _Builder(record)
    found: list[JsonObject] = []
    for sequence, event in numbered_events(record):
        if not isinstance(event, ev.VitalsRecorded):
            continue
        measured = vitals_observations(builder, sequence, event)
        news2 = news2_observation(builder, sequence, event, measured)
        found.extend(measured)
        if news2 is not None:
            found.append(news2)
    return found
