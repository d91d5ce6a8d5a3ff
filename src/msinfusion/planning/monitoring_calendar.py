"""Lab and follow-up calendars generated from a course calendar, and results recorded against them.

Each item is a list of due dates. A result fulfils the earliest open slot whose window contains
it: a baseline slot takes results on or before the first dose; slot ``k`` takes results after
slot ``k-1``'s due date and before slot ``k+1``'s. A slot with no result after its due date
(``as_of`` > due) is **overdue**; a result the lab flags abnormal, or beyond a cited threshold,
is **abnormal**. Which calendar applies, and its cited cadences, is the therapy file's
``[planning.monitoring]``; lab thresholds are the gate thresholds of course_rules.toml. An item
built on an unverified cadence or a grade C rule carries ``verified=False``.
"""

from __future__ import annotations

import enum
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from msinfusion.catalog.model import Interval, Monitoring, MonitoringPlan
from msinfusion.planning import course_data as data
from msinfusion.planning.calendar_units import add_months, shift
from msinfusion.planning.course_options import traits_of
from msinfusion.planning.courses import CourseCalendar
from msinfusion.planning.jcv_status import JcvStatus, read_serostatus
from msinfusion.planning.lymphocyte_monitoring import lymphocyte_depletion
from msinfusion.planning.monitoring_item import MonitoringItem
from msinfusion.planning.monitoring_item import cited_item as _item
from msinfusion.planning.monitoring_item import every_date as _every
from msinfusion.planning.patient_record import LabResult, PatientRecord

__all__ = [
    "MonitoringItem",
    "MonitoringSlot",
    "SlotStatus",
    "monitoring_flags",
    "monitoring_items",
    "record_results",
]

# Display horizon for "lifelong" follow-up (mitoxantrone yearly LVEF), not a clinical number.
LIFELONG_DISPLAY_YEARS = 5


class SlotStatus(enum.Enum):
    DONE = "done"
    OVERDUE = "overdue"
    DUE = "due"
    PLANNED = "planned"


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitoringSlot:
    item_id: str
    title: str
    test: str
    due: date
    status: SlotStatus
    result: LabResult | None
    abnormal: bool
    sources: tuple[str, ...]
    verified: bool = True
    baseline: bool = False
    """The item's baseline slot: only a result on or before its due date fills it."""


def _pml_surveillance(
    calendar: CourseCalendar, plan: Monitoring, record: PatientRecord | None
) -> list[MonitoringItem]:
    """Natalizumab: anti-JCV by status, MRI (abbreviated when high risk), US REMS assessments."""
    first, last = calendar.doses[0].effective, calendar.doses[-1].effective
    prefix = calendar.therapy_id
    jcv = record.latest("anti_jcv", on_or_before=last) if record else None
    status = (
        JcvStatus.UNKNOWN
        if jcv is None
        else read_serostatus(jcv.positive, jcv.value, jcv.assay).status
    )
    positive = status is JcvStatus.POSITIVE
    prior_is = bool(record and record.prior_immunosuppressant)
    cutoff = Decimal(str(data.raw_rules()["pml_table_a"]["index_cutoff"]))
    high_index = bool(jcv and positive and jcv.value is not None and jcv.value > cutoff)
    items: list[MonitoringItem] = []
    every6 = plan.interval("jcv_every")
    if not positive:  # negative, indeterminate or unknown: every 6 months
        items.append(
            _item(
                every6,
                f"{prefix}_anti_jcv",
                "Anti-JCV antibody (index)",
                "anti_jcv",
                _every(first, every6.value, last, include_first=True),
                baseline=True,
                positive_is_abnormal=True,
            )
        )
    elif not prior_is and not high_index:  # JCV+ low index, no prior IS: from 2 years
        low_from = plan.interval("jcv_low_index_from")
        start = shift(first, low_from.value)
        items.append(
            _item(
                low_from,
                f"{prefix}_anti_jcv",
                "Anti-JCV index (low-index retest)",
                "anti_jcv",
                _every(start, every6.value, last, include_first=True),
            )
        )
    high_risk = positive and (prior_is or high_index)
    mri_every = plan.interval("mri_every")
    items.append(
        _item(
            mri_every,
            f"{prefix}_mri",
            "Brain MRI (full)",
            "mri_brain",
            _every(first, mri_every.value, last, include_first=True),
            baseline=True,
        )
    )
    if high_risk:
        start = shift(first, plan.interval("high_risk_from").value)
        high_every = plan.interval("mri_high_risk_every")
        items.append(
            _item(
                high_every,
                f"{prefix}_mri_pml",
                "Abbreviated MRI for PML (FLAIR, T2, DWI)",
                "mri_brain_abbreviated",
                _every(start, high_every.value, last, include_first=True),
            )
        )
    if calendar.jurisdiction != "EU":
        rems_every = plan.interval("rems_every")
        rems = (
            shift(first, plan.interval("rems_first").value),
            *_every(first, rems_every.value, last, include_first=False),
        )
        items.append(
            _item(
                rems_every,
                f"{prefix}_rems_pml_assessment",
                "REMS PML assessment and re-authorisation (US)",
                "rems_assessment",
                tuple(sorted(set(rems))),
            )
        )
    return items


def _b_cell_depletion(
    calendar: CourseCalendar, ig_interval: Interval | None
) -> list[MonitoringItem]:
    first, last = calendar.doses[0].effective, calendar.doses[-1].effective
    dates = (
        (first,) if ig_interval is None else _every(first, ig_interval, last, include_first=True)
    )
    return [
        MonitoringItem(
            id="anti_cd20_immunoglobulins",
            title="Quantitative serum immunoglobulins",
            test="serum_immunoglobulins",
            dates=dates,
            baseline=True,
            sources=(
                data.source_url("prescriberpoint-ocrevus"),
                data.source_url("prescriberpoint-briumvi"),
            ),
            note="Label: before the first dose. No label interval during therapy: later "
            "checks only at the interval the centre sets (ig_interval), marked local policy.",
        )
    ]


def _cardiotoxicity(
    calendar: CourseCalendar, plan: Monitoring, record: PatientRecord | None
) -> list[MonitoringItem]:
    """Mitoxantrone: LVEF and neutrophils before every dose, then yearly LVEF for life."""
    dose_dates = tuple(d.effective for d in calendar.doses)
    yearly = plan.interval("lvef_after_last_dose_every")
    after = _every(
        dose_dates[-1],
        yearly.value,
        add_months(dose_dates[-1], 12 * LIFELONG_DISPLAY_YEARS),
        include_first=False,
    )
    floor = data.number("gates.mitoxantrone_lvef_min_pct")
    neutrophils = data.rule("gates.mitoxantrone_neutrophils_min_per_mm3")
    prefix = calendar.therapy_id
    return [
        _item(
            yearly,
            f"{prefix}_lvef",
            "LVEF (echo/MUGA)",
            "lvef_pct",
            dose_dates + after,
            baseline=True,
            abnormal_below=floor,
        ),
        _item(
            neutrophils,
            f"{prefix}_neutrophils",
            "Neutrophils before each dose",
            "neutrophils_per_mm3",
            dose_dates,
            baseline=True,
            abnormal_below=neutrophils.number,
        ),
    ]


Generate = Callable[[CourseCalendar, Monitoring, PatientRecord | None], list[MonitoringItem]]

# From the plan a therapy file declares (``planning.monitoring.plan``) to its calendar.
PLAN_CALENDARS: dict[MonitoringPlan, Generate] = {
    MonitoringPlan.LYMPHOCYTE_DEPLETION: lymphocyte_depletion,
    MonitoringPlan.PML_SURVEILLANCE: _pml_surveillance,
    MonitoringPlan.CARDIOTOXICITY: _cardiotoxicity,
}


def monitoring_items(
    calendar: CourseCalendar,
    record: PatientRecord | None = None,
    *,
    ig_interval: Interval | None = None,
) -> tuple[MonitoringItem, ...]:
    """The monitoring schedule that follows from ``calendar`` (and the patient's JCV status)."""
    traits = traits_of(calendar.therapy_id)
    plan = None if traits is None else traits.monitoring
    if plan is None:
        return ()
    if plan.plan is MonitoringPlan.B_CELL_DEPLETION:
        return tuple(_b_cell_depletion(calendar, ig_interval))
    return tuple(PLAN_CALENDARS[plan.plan](calendar, plan, record))


def _is_abnormal(item: MonitoringItem, result: LabResult) -> bool:
    if result.abnormal:
        return True
    if item.positive_is_abnormal and result.positive:
        return True
    if item.negative_is_abnormal and result.positive is False:
        return True
    return (
        item.abnormal_below is not None
        and result.value is not None
        and (result.value < item.abnormal_below)
    )


SLOTS_PAST_HORIZON = 3
"""Slots kept after the last one due by a horizon (``record_results(until=...)``): enough for
every status and window of the slots up to the horizon and the first one after it to be those
of the full calendar (tests/unit/planning/test_monitoring_horizon.py checks it)."""


def _fitting_slot(item: MonitoringItem, on: date, taken: dict[int, LabResult]) -> int | None:
    """The earliest untaken slot whose window contains a result dated ``on``, found by bisection.

    Slot ``k``'s window is after ``dates[k-1]`` and before ``dates[k+1]`` (the last slot: no
    upper bound); a baseline slot 0 takes results on or before its due date. So another ``k``
    fits when ``k <= #dates before on`` and ``k >= #dates on or before on - 1``."""
    dates = item.dates
    if not dates:
        return None
    first = 0
    if item.baseline:
        if 0 not in taken and on <= dates[0]:
            return 0
        first = 1
    before = bisect_left(dates, on)
    lowest = max(bisect_right(dates, on) - 1, first)
    for k in range(lowest, min(before, len(dates) - 1) + 1):
        if k not in taken:
            return k
    return None


def record_results(
    item: MonitoringItem,
    record: PatientRecord,
    as_of: date,
    *,
    until: date | None = None,
    results: tuple[LabResult, ...] | None = None,
) -> tuple[MonitoringSlot, ...]:
    """Slots of ``item`` with the patient's results assigned, and overdue / abnormal flags.

    ``until`` (on or after ``as_of``): only the slots due by then and the
    ``SLOTS_PAST_HORIZON`` after them, each exactly as in the full list (the worklist needs no
    more). ``results``: the record's results of ``item.test`` when the caller grouped them.
    """
    mine = [r for r in record.labs if r.test == item.test] if results is None else list(results)
    taken: dict[int, LabResult] = {}
    for result in sorted((r for r in mine if r.on <= as_of), key=lambda r: r.on):
        k = _fitting_slot(item, result.on, taken)
        if k is not None:
            taken[k] = result
    dates = item.dates
    if until is not None:
        dates = dates[: bisect_right(dates, max(until, as_of)) + SLOTS_PAST_HORIZON]
    slots = []
    for k, due in enumerate(dates):
        found = taken.get(k)
        if found is not None:
            status = SlotStatus.DONE
        elif as_of > due:
            status = SlotStatus.OVERDUE
        elif k == 0 or as_of > dates[k - 1]:
            status = SlotStatus.DUE
        else:
            status = SlotStatus.PLANNED
        slots.append(
            MonitoringSlot(
                item_id=item.id,
                title=item.title,
                test=item.test,
                due=due,
                status=status,
                result=found,
                abnormal=found is not None and _is_abnormal(item, found),
                sources=item.sources,
                verified=item.verified,
                baseline=k == 0 and item.baseline,
            )
        )
    return tuple(slots)


def monitoring_flags(slots: tuple[MonitoringSlot, ...]) -> dict[str, tuple[MonitoringSlot, ...]]:
    """What the patient page and the board show: overdue and abnormal slots."""
    return {
        "overdue": tuple(s for s in slots if s.status is SlotStatus.OVERDUE),
        "abnormal": tuple(s for s in slots if s.abnormal),
    }
