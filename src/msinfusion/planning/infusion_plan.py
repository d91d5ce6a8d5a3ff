"""The exact plan of one infusion: premedication times, rate steps, end, observation, chair time.

``plan_infusion`` is a pure function of the protocol, the start time and the patient's measures;
it never reads a clock. Volumes, doses and times are exact ``Fraction``s; the JSON view rounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from msinfusion.catalog.ladder import as_fraction, run_ladder
from msinfusion.catalog.model import PremedicationWindow, Protocol, Severity
from msinfusion.errors import IneligibleProtocol, PlanningError
from msinfusion.planning.body_surface_area import mosteller_bsa_m2


def minutes(value: Fraction | Decimal | int) -> timedelta:
    """An exact minute count as a timedelta, rounded to the microsecond."""
    return timedelta(microseconds=round(as_fraction(value) * 60_000_000))


def after(moment: datetime, offset: timedelta) -> datetime:
    """``moment + offset`` in elapsed (UTC) time, shown in ``moment``'s own timezone.

    Plain ``+`` on a ``zoneinfo`` datetime is wall-clock arithmetic and is an hour off across a
    daylight-saving change; an infusion runs in elapsed time.
    """
    return (moment.astimezone(UTC) + offset).astimezone(moment.tzinfo)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedPremedication:
    """When to give one premedication; ``give_from`` is None when no earliest time is stated."""

    name: str
    dose: str
    route: str | None
    required: bool
    give_from: datetime | None
    give_until: datetime
    approximate: bool
    tolerance: timedelta | None
    verified: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedStep:
    index: int
    start: datetime
    end: datetime
    rate_ml_per_h: Fraction
    volume_ml: Fraction
    cumulative_volume_ml: Fraction
    cumulative_dose_mg: Fraction


@dataclass(frozen=True, slots=True, kw_only=True)
class InfusionPlan:
    protocol_id: str
    protocol_version: str
    dose_number: int
    dose_mg: Fraction
    body_surface_area_m2: Fraction | None
    bag_volume_ml: Fraction
    concentration_mg_per_ml: Fraction
    premedications: tuple[PlannedPremedication, ...]
    steps: tuple[PlannedStep, ...]
    infusion_start: datetime
    infusion_end: datetime
    observation: timedelta
    observation_end: datetime
    chair_start: datetime
    off_label: bool

    @property
    def infusion_duration(self) -> timedelta:
        return self.infusion_end.astimezone(UTC) - self.infusion_start.astimezone(UTC)

    @property
    def chair_time(self) -> timedelta:
        return self.observation_end.astimezone(UTC) - self.chair_start.astimezone(UTC)

    def to_json_dict(self) -> dict[str, Any]:
        """The integration view (a public contract): ISO 8601 times with offset, rounded numbers."""
        return {
            "protocol_id": self.protocol_id,
            "protocol_version": self.protocol_version,
            "dose_number": self.dose_number,
            "dose_mg": _num(self.dose_mg),
            "body_surface_area_m2": _num(self.body_surface_area_m2, 3),
            "bag_volume_ml": _num(self.bag_volume_ml),
            "concentration_mg_per_ml": _num(self.concentration_mg_per_ml, 4),
            "off_label": self.off_label,
            "premedications": [
                {
                    "name": p.name,
                    "dose": p.dose,
                    "route": p.route,
                    "required": p.required,
                    "give_from": _iso(p.give_from),
                    "give_until": _iso(p.give_until),
                    "approximate": p.approximate,
                    "tolerance_min": None
                    if p.tolerance is None
                    else p.tolerance / timedelta(minutes=1),
                    "verified": p.verified,
                }
                for p in self.premedications
            ],
            "steps": [
                {
                    "start": _iso(s.start),
                    "end": _iso(s.end),
                    "rate_ml_per_h": _num(s.rate_ml_per_h),
                    "volume_ml": _num(s.volume_ml),
                    "cumulative_volume_ml": _num(s.cumulative_volume_ml),
                    "cumulative_dose_mg": _num(s.cumulative_dose_mg),
                }
                for s in self.steps
            ],
            "infusion_start": _iso(self.infusion_start),
            "infusion_end": _iso(self.infusion_end),
            "infusion_duration_min": _minutes(self.infusion_duration),
            "observation_end": _iso(self.observation_end),
            "observation_min": _minutes(self.observation),
            "chair_start": _iso(self.chair_start),
            "chair_time_min": _minutes(self.chair_time),
        }


def plan_infusion(
    protocol: Protocol,
    start_at: datetime,
    *,
    dose_number: int | None = None,
    height_cm: Decimal | float | None = None,
    weight_kg: Decimal | float | None = None,
    bag_volume_ml: Decimal | float | None = None,
    course_day: int | None = None,
    worst_prior_reaction: Severity | None = None,
) -> InfusionPlan:
    """Plan one uninterrupted infusion of ``protocol`` whose drug starts at ``start_at``.

    ``dose_number`` defaults to the first dose number the protocol is eligible for;
    ``bag_volume_ml`` is the volume actually prepared when pharmacy reports one (the ladder then
    runs until that volume is delivered); ``course_day`` selects premedications that apply only on
    some days of a course (alemtuzumab).
    """
    if start_at.tzinfo is None or start_at.utcoffset() is None:
        raise PlanningError(
            "start_at must be timezone-aware (ISO 8601 with offset)", field="start_at"
        )
    number = protocol.eligibility.min_dose_number if dose_number is None else dose_number
    if number < 1:
        raise PlanningError(f"dose_number must be 1 or more, got {number}", field="dose_number")
    reasons = protocol.eligibility.reasons_ineligible(
        dose_number=number, worst_prior_reaction=worst_prior_reaction
    )
    if reasons:
        raise IneligibleProtocol(
            f"protocol {protocol.id} may not be used: " + "; ".join(reasons), field="dose_number"
        )
    bsa = None
    if protocol.dose.mg_per_m2 is not None:
        bsa = mosteller_bsa_m2(height_cm=height_cm, weight_kg=weight_kg)
        dose_mg = as_fraction(protocol.dose.mg_per_m2.value) * bsa
    else:
        assert protocol.dose.mg is not None  # the loader guarantees exactly one dose form
        dose_mg = as_fraction(protocol.dose.mg.value)
    volume = _bag_volume(protocol, bag_volume_ml)
    concentration = dose_mg / volume

    steps = tuple(
        PlannedStep(
            index=seg.step_index,
            start=after(start_at, minutes(seg.start_min)),
            end=after(start_at, minutes(seg.end_min)),
            rate_ml_per_h=seg.rate_ml_per_h,
            volume_ml=seg.volume_ml,
            cumulative_volume_ml=seg.cumulative_volume_ml,
            cumulative_dose_mg=seg.cumulative_volume_ml * concentration,
        )
        for seg in run_ladder(protocol.ladder.steps, volume)
    )
    premedications = _premedications(protocol, start_at, course_day)
    observation = minutes(protocol.observation_rule(number).observation_min.value)
    infusion_end = steps[-1].end
    required_starts = [p.give_from or p.give_until for p in premedications if p.required]
    return InfusionPlan(
        protocol_id=protocol.id,
        protocol_version=protocol.version,
        dose_number=number,
        dose_mg=dose_mg,
        body_surface_area_m2=bsa,
        bag_volume_ml=volume,
        concentration_mg_per_ml=concentration,
        premedications=premedications,
        steps=steps,
        infusion_start=start_at,
        infusion_end=infusion_end,
        observation=observation,
        observation_end=after(infusion_end, observation),
        chair_start=min([start_at, *required_starts]),
        off_label=protocol.off_label,
    )


def _bag_volume(protocol: Protocol, prepared_ml: Decimal | float | None) -> Fraction:
    if prepared_ml is None:
        return as_fraction(protocol.bag_volume_ml.value)
    volume = Fraction(Decimal(str(prepared_ml)))
    nominal = as_fraction(protocol.bag_volume_ml.value)
    if volume <= 0:
        raise PlanningError(
            f"bag_volume_ml must be positive, got {prepared_ml}", field="bag_volume_ml"
        )
    # Concentrate added to a full bag makes it a little larger (dossier Q9); a volume far from the
    # nominal bag is a different preparation, which the protocol does not cover.
    if not nominal * Fraction(9, 10) <= volume <= nominal * Fraction(12, 10):
        raise PlanningError(
            f"bag_volume_ml {prepared_ml} is not within -10%/+20% of the protocol's "
            f"{protocol.bag_volume_ml.value} mL bag",
            field="bag_volume_ml",
        )
    return volume


def _premedications(
    protocol: Protocol, start_at: datetime, course_day: int | None
) -> tuple[PlannedPremedication, ...]:
    planned = []
    for premed in protocol.premedications:
        days = premed.applies_to_course_days
        if days is not None and course_day is not None and course_day not in days:
            continue
        window = premed.window
        planned.append(
            PlannedPremedication(
                name=premed.drug,
                dose=premed.dose,
                route=premed.route,
                required=premed.required,
                give_from=None
                if window is None or window.max_before_start_min is None
                else after(start_at, -minutes(window.max_before_start_min.value)),
                give_until=start_at
                if window is None
                else after(start_at, -minutes(window.min_before_start_min.value)),
                approximate=False if window is None else window.approximate,
                tolerance=(
                    None
                    if window is None or window.tolerance_min is None
                    else minutes(window.tolerance_min.value)
                ),
                verified=premed.verified and _window_verified(window),
            )
        )
    return tuple(planned)


def _window_verified(window: PremedicationWindow | None) -> bool:
    if window is None:
        return True
    parts = (window.min_before_start_min, window.max_before_start_min, window.tolerance_min)
    return all(part.verified for part in parts if part is not None)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _num(value: Fraction | None, places: int = 3) -> float | None:
    return None if value is None else round(float(value), places)


def _minutes(value: timedelta) -> float:
    return round(value / timedelta(minutes=1), 3)
