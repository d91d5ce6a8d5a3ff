"""The order form's option fields, per course kind (ADR 0001: by the kind a therapy file
declares, never by drug name). They mirror what ``planning.course_builders*`` read; the planner
still checks every value (an unknown option or value is refused there, naming ``option:NAME``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from msinfusion.application.order_premedication import PremedicationOffer, premedication_offers
from msinfusion.catalog.model import CourseKind, Therapy
from msinfusion.catalog.registry import shipped_catalog
from msinfusion.planning.course_options import JURISDICTIONS


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionField:
    name: str
    label: str
    choices: tuple[tuple[str, str], ...] = ()
    """(value, words); empty: a typed value. The first choice is the planner's default."""
    hint: str = ""
    inputmode: str = "numeric"


_DOSES = OptionField(
    name="doses", label="Doses to list (optional)", hint="Empty: the therapy's usual horizon."
)
KIND_OPTIONS: dict[CourseKind, tuple[OptionField, ...]] = {
    CourseKind.SPLIT_START_CALENDAR_MONTHS: (
        OptionField(
            name="maintenance_unit",
            label="Maintenance interval",
            choices=(("", "every 6 calendar months (label)"), ("week", "every 24 weeks")),
        ),
        _DOSES,
    ),
    CourseKind.SPLIT_START_WEEKS: (_DOSES,),
    CourseKind.FIXED_INTERVAL: (
        OptionField(
            name="interval",
            label="Interval",
            choices=(("", "every 4 weeks (label)"), ("6w", "every 6 weeks (extended, off-label)")),
        ),
        OptionField(
            name="acknowledge_off_label",
            label="Extended-interval dosing is off-label",
            choices=(("", "not acknowledged"), ("yes", "yes, I acknowledge it is off-label")),
            hint="Needed for every 6 weeks.",
        ),
        _DOSES,
    ),
    CourseKind.OFF_LABEL_REGIMENS: (
        OptionField(
            name="regimen",
            label="Regimen (off-label, required)",
            choices=(("", "choose a regimen"), ("hermes", "HERMES"), ("olympus", "OLYMPUS")),
        ),
    ),
    CourseKind.REPEATED_DAILY_COURSES: (
        OptionField(name="further_courses", label="Further courses (optional)", hint="Default 0."),
    ),
    CourseKind.CUMULATIVE_LIMITED: (
        OptionField(
            name="prior_mg_per_m2",
            label="Prior mitoxantrone, mg/m² (optional)",
            inputmode="decimal",
        ),
        OptionField(name="interval_months", label="Interval in months (optional)"),
    ),
    CourseKind.RELAPSE_DAILY_COURSE: (
        OptionField(
            name="days",
            label="Days (required)",
            choices=(("", "choose"), ("3", "3 days"), ("5", "5 days")),
        ),
    ),
}
COMMON_OPTIONS = (
    OptionField(
        name="jurisdiction",
        label="Jurisdiction of the rules",
        choices=(("", "the centre's"), *((j, j) for j in JURISDICTIONS)),
    ),
    OptionField(name="early_days", label="Local window: days early (optional)"),
    OptionField(name="late_days", label="Local window: days late (optional)"),
)


def orderable_therapies() -> list[Therapy]:
    """Shipped therapies with a course calendar, by name."""
    return sorted(
        (t for t in shipped_catalog() if t.planning is not None), key=lambda t: t.inn.casefold()
    )


def option_fields(therapy_id: str) -> tuple[OptionField, ...]:
    for therapy in orderable_therapies():
        if therapy.id == therapy_id and therapy.planning is not None:
            return KIND_OPTIONS.get(therapy.planning.course_kind, ()) + COMMON_OPTIONS
    return COMMON_OPTIONS


def premedication_fields(therapy_id: str) -> tuple[PremedicationOffer, ...]:
    """The premedication pick-lists of the therapy's protocols (``order_premedication``); the
    form names them ``premed_0``, ``premed_1``... in this order."""
    for therapy in orderable_therapies():
        if therapy.id == therapy_id:
            return premedication_offers(therapy)
    return ()


def premedication_input(therapy_id: str, fields: Mapping[str, str]) -> dict[str, str]:
    """The physician's picks from the form (premedication → drug or ``none``); empty ones
    are left to the protocol's first choice."""
    return {
        offer.premedication: picked
        for i, offer in enumerate(premedication_fields(therapy_id))
        if (picked := fields.get(f"premed_{i}", "").strip())
    }
