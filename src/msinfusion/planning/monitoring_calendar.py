"""Lab and follow-up calendars generated from a course calendar, and results recorded against them.

Each item is a list of due dates. A result fulfils the earliest open slot whose window contains
it: a baseline slot takes results on or before the first dose; slot ``k`` takes results after
slot ``k-1``'s due date and before slot ``k+1``'s. A slot with no result after its due date
(``as_of`` > due) is **overdue**; a result the lab flags abnormal, or beyond a cited threshold,
is **abnormal**. Intervals are cited in course_rules.toml.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from msinfusion.catalog.model import Interval
from msinfusion.planning import course_data as data
from msinfusion.planning.calendar_units import add_months, shift
from msinfusion.planning.courses import CourseCalendar
from msinfusion.planning.patient_record import LabResult, PatientRecord

# Display horizon for "lifelong" follow-up (mitoxantrone yearly LVEF), not a clinical number.
LIFELONG_DISPLAY_YEARS = 5


class SlotStatus(enum.Enum):
    DONE = "done"
    OVERDUE = "overdue"
    DUE = "due"
    PLANNED = "planned"


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitoringItem:
    id: str
    title: str
    test: str
    dates: tuple[date, ...]
    sources: tuple[str, ...]
    baseline: bool = False
    abnormal_below: Decimal | None = None
    positive_is_abnormal: bool = False
    note: str | None = None


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


def _every(
    first: date, interval: Interval, until: date, *, include_first: bool
) -> tuple[date, ...]:
    out, k = [], 0 if include_first else 1
    while (day := shift(first, interval, times=k)) <= until:
        out.append(day)
        k += 1
    return tuple(out)


def _item(
    key: str,
    item_id: str,
    title: str,
    test: str,
    dates: tuple[date, ...],
    *,
    baseline: bool = False,
    abnormal_below: Decimal | None = None,
    positive_is_abnormal: bool = False,
) -> MonitoringItem:
    rule = data.rule(key)
    return MonitoringItem(
        id=item_id,
        title=title,
        test=test,
        dates=dates,
        sources=rule.source_urls,
        note=rule.note,
        baseline=baseline,
        abnormal_below=abnormal_below,
        positive_is_abnormal=positive_is_abnormal,
    )


def _alemtuzumab(calendar: CourseCalendar) -> list[MonitoringItem]:
    first, last = calendar.doses[0].effective, calendar.doses[-1].effective
    until = shift(last, data.interval("monitoring.alemtuzumab_horizon"))
    monthly = data.interval("monitoring.alemtuzumab_blood_urine_every")
    dates = _every(first, monthly, until, include_first=True)
    thyroid = _every(
        first, data.interval("monitoring.alemtuzumab_thyroid_every"), until, include_first=True
    )
    skin = _every(
        first, data.interval("monitoring.alemtuzumab_skin_every"), until, include_first=True
    )
    key = "monitoring.alemtuzumab_blood_urine_every"
    return [
        _item(key, "alemtuzumab_cbc", "CBC with differential", "cbc_diff", dates, baseline=True),
        _item(
            key, "alemtuzumab_creatinine", "Serum creatinine", "creatinine", dates, baseline=True
        ),
        _item(
            key,
            "alemtuzumab_urinalysis",
            "Urinalysis with cell counts",
            "urinalysis",
            dates,
            baseline=True,
        ),
        _item(
            "monitoring.alemtuzumab_thyroid_every",
            "alemtuzumab_thyroid",
            "Thyroid function",
            "tsh",
            thyroid,
            baseline=True,
        ),
        _item(
            "monitoring.alemtuzumab_skin_every",
            "alemtuzumab_skin",
            "Skin examination",
            "skin_exam",
            skin,
            baseline=True,
        ),
    ]


def _natalizumab(calendar: CourseCalendar, record: PatientRecord | None) -> list[MonitoringItem]:
    first, last = calendar.doses[0].effective, calendar.doses[-1].effective
    jcv = record.latest("anti_jcv", on_or_before=last) if record else None
    prior_is = bool(record and record.prior_immunosuppressant)
    cutoff = Decimal(str(data.raw_rules()["pml_table_a"]["index_cutoff"]))
    high_index = bool(jcv and jcv.positive and jcv.value is not None and jcv.value > cutoff)
    items: list[MonitoringItem] = []
    every6 = data.interval("monitoring.natalizumab_jcv_every")
    if jcv is None or not jcv.positive:  # negative or unknown: every 6 months
        dates = _every(first, every6, last, include_first=True)
        items.append(
            _item(
                "monitoring.natalizumab_jcv_every",
                "natalizumab_anti_jcv",
                "Anti-JCV antibody (index)",
                "anti_jcv",
                dates,
                baseline=True,
                positive_is_abnormal=True,
            )
        )
    elif not prior_is and not high_index:  # JCV+ low index, no prior IS: from 2 years
        start = shift(first, data.interval("monitoring.natalizumab_jcv_low_index_from"))
        items.append(
            _item(
                "monitoring.natalizumab_jcv_low_index_from",
                "natalizumab_anti_jcv",
                "Anti-JCV index (low-index retest)",
                "anti_jcv",
                _every(start, every6, last, include_first=True),
            )
        )
    high_risk = bool(jcv and jcv.positive and (prior_is or high_index))
    mri_every = data.interval("monitoring.natalizumab_mri_every")
    items.append(
        _item(
            "monitoring.natalizumab_mri_every",
            "natalizumab_mri",
            "Brain MRI (full)",
            "mri_brain",
            _every(first, mri_every, last, include_first=True),
            baseline=True,
        )
    )
    if high_risk:
        start = shift(first, data.interval("monitoring.natalizumab_high_risk_from"))
        items.append(
            _item(
                "monitoring.natalizumab_mri_high_risk_every",
                "natalizumab_mri_pml",
                "Abbreviated MRI for PML (FLAIR, T2, DWI)",
                "mri_brain_abbreviated",
                _every(
                    start,
                    data.interval("monitoring.natalizumab_mri_high_risk_every"),
                    last,
                    include_first=True,
                ),
            )
        )
    if calendar.jurisdiction != "EU":
        rems = (
            shift(first, data.interval("monitoring.natalizumab_rems_first")),
            *_every(
                first, data.interval("monitoring.natalizumab_rems_every"), last, include_first=False
            ),
        )
        items.append(
            _item(
                "monitoring.natalizumab_rems_every",
                "natalizumab_rems_pml_assessment",
                "REMS PML assessment and re-authorisation (US)",
                "rems_assessment",
                tuple(sorted(set(rems))),
            )
        )
    return items


def _anti_cd20(calendar: CourseCalendar, ig_interval: Interval | None) -> list[MonitoringItem]:
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


def _mitoxantrone(calendar: CourseCalendar) -> list[MonitoringItem]:
    dose_dates = tuple(d.effective for d in calendar.doses)
    after = _every(
        dose_dates[-1],
        data.interval("monitoring.mitoxantrone_lvef_after_every"),
        add_months(dose_dates[-1], 12 * LIFELONG_DISPLAY_YEARS),
        include_first=False,
    )
    floor = data.number("gates.mitoxantrone_lvef_min_pct")
    return [
        _item(
            "monitoring.mitoxantrone_lvef_after_every",
            "mitoxantrone_lvef",
            "LVEF (echo/MUGA)",
            "lvef_pct",
            dose_dates + after,
            baseline=True,
            abnormal_below=floor,
        ),
        _item(
            "gates.mitoxantrone_neutrophils_min_per_mm3",
            "mitoxantrone_neutrophils",
            "Neutrophils before each dose",
            "neutrophils_per_mm3",
            dose_dates,
            baseline=True,
            abnormal_below=data.number("gates.mitoxantrone_neutrophils_min_per_mm3"),
        ),
    ]


def monitoring_items(
    calendar: CourseCalendar,
    record: PatientRecord | None = None,
    *,
    ig_interval: Interval | None = None,
) -> tuple[MonitoringItem, ...]:
    """The monitoring schedule that follows from ``calendar`` (and the patient's JCV status)."""
    therapy = calendar.therapy_id
    if therapy == "alemtuzumab":
        return tuple(_alemtuzumab(calendar))
    if therapy == "natalizumab":
        return tuple(_natalizumab(calendar, record))
    if therapy in ("ocrelizumab", "ublituximab", "rituximab"):
        return tuple(_anti_cd20(calendar, ig_interval))
    if therapy == "mitoxantrone":
        return tuple(_mitoxantrone(calendar))
    return ()


def _is_abnormal(item: MonitoringItem, result: LabResult) -> bool:
    if result.abnormal:
        return True
    if item.positive_is_abnormal and result.positive:
        return True
    return (
        item.abnormal_below is not None
        and result.value is not None
        and (result.value < item.abnormal_below)
    )


def _window(item: MonitoringItem, k: int) -> tuple[date | None, date | None]:
    """(exclusive low, exclusive/inclusive high) of slot ``k``."""
    if k == 0 and item.baseline:
        return None, item.dates[0]
    low = item.dates[k - 1] if k > 0 else None
    high = item.dates[k + 1] if k + 1 < len(item.dates) else None
    return low, high


def record_results(
    item: MonitoringItem, record: PatientRecord, as_of: date
) -> tuple[MonitoringSlot, ...]:
    """Slots of ``item`` with the patient's results assigned, and overdue / abnormal flags."""
    results = sorted(
        (r for r in record.labs if r.test == item.test and r.on <= as_of), key=lambda r: r.on
    )
    taken: dict[int, LabResult] = {}
    for result in results:
        for k in range(len(item.dates)):
            low, high = _window(item, k)
            inclusive = k == 0 and item.baseline
            fits_high = high is None or (result.on <= high if inclusive else result.on < high)
            if k not in taken and (low is None or result.on > low) and fits_high:
                taken[k] = result
                break
    slots = []
    for k, due in enumerate(item.dates):
        found = taken.get(k)
        if found is not None:
            status = SlotStatus.DONE
        elif as_of > due:
            status = SlotStatus.OVERDUE
        elif k == 0 or as_of > item.dates[k - 1]:
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
            )
        )
    return tuple(slots)


def monitoring_flags(slots: tuple[MonitoringSlot, ...]) -> dict[str, tuple[MonitoringSlot, ...]]:
    """What the patient page and the board show: overdue and abnormal slots."""
    return {
        "overdue": tuple(s for s in slots if s.status is SlotStatus.OVERDUE),
        "abnormal": tuple(s for s in slots if s.abnormal),
    }
