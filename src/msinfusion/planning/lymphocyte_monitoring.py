"""Alemtuzumab's monitoring calendar (plan ``lymphocyte-depletion``): monthly blood and urine,
3-monthly thyroid, yearly skin and cervical screening, US liver tests, herpes prophylaxis.

Cadences are the therapy file's ``[planning.monitoring.intervals]``; the CD4 threshold that ends
US prophylaxis is in course_rules.toml. Rule ids (LEMUS-, LEMEU-) are rems-and-label-rules.md.
"""

from __future__ import annotations

from datetime import date

from msinfusion.catalog.model import Monitoring
from msinfusion.planning import course_data as data
from msinfusion.planning.calendar_units import describe, shift
from msinfusion.planning.courses import CourseCalendar, PlannedDose
from msinfusion.planning.monitoring_item import MonitoringItem
from msinfusion.planning.monitoring_item import cited_item as _item
from msinfusion.planning.monitoring_item import every_date as _every
from msinfusion.planning.patient_record import PatientRecord


def lymphocyte_depletion(
    calendar: CourseCalendar, plan: Monitoring, record: PatientRecord | None
) -> list[MonitoringItem]:
    """Alemtuzumab: monthly blood and urine, 3-monthly thyroid, yearly skin, to the horizon."""
    first, last = calendar.doses[0].effective, calendar.doses[-1].effective
    until = shift(last, plan.interval("horizon_after_last_dose").value)
    monthly = plan.interval("blood_urine_every")
    thyroid = plan.interval("thyroid_every")
    skin = plan.interval("skin_every")
    dates = _every(first, monthly.value, until, include_first=True)
    prefix = calendar.therapy_id
    return [
        _item(monthly, f"{prefix}_cbc", "CBC with differential", "cbc_diff", dates, baseline=True),
        _item(
            monthly, f"{prefix}_creatinine", "Serum creatinine", "creatinine", dates, baseline=True
        ),
        _item(
            monthly,
            f"{prefix}_urinalysis",
            "Urinalysis with cell counts",
            "urinalysis",
            dates,
            baseline=True,
        ),
        _item(
            thyroid,
            f"{prefix}_thyroid",
            "Thyroid function",
            "tsh",
            _every(first, thyroid.value, until, include_first=True),
            baseline=True,
        ),
        _item(
            skin,
            f"{prefix}_skin",
            "Skin examination",
            "skin_exam",
            _every(first, skin.value, until, include_first=True),
            baseline=True,
        ),
        *_cervical_screening(calendar, plan, record, until),
        *_liver(calendar, plan, until),
        *_herpes_prophylaxis(calendar, plan, record),
    ]


def _cervical_screening(
    calendar: CourseCalendar, plan: Monitoring, record: PatientRecord | None, until: date
) -> list[MonitoringItem]:
    """Yearly cervical (HPV) screening for women (LEMEU-10 B; US LEMUS-13 C, unverified)."""
    if record is not None and record.sex not in (None, "female"):
        return []
    every = plan.interval("cervical_screening_every")
    first = calendar.doses[0].effective
    unknown_sex = record is None or record.sex is None
    return [
        _item(
            every,
            f"{calendar.therapy_id}_cervical_screening",
            "Cervical (HPV) screening, women" + (" (sex not recorded)" if unknown_sex else ""),
            "cervical_screening",
            _every(first, every.value, until, include_first=True),
            baseline=True,
            verified=calendar.jurisdiction != "US",
            note="US wording not read (LEMUS-13, grade C)."
            if calendar.jurisdiction == "US"
            else None,
        )
    ]


def _liver(calendar: CourseCalendar, plan: Monitoring, until: date) -> list[MonitoringItem]:
    """US and unknown: ALT, AST and total bilirubin periodically (LEMUS-11, cadence unverified)."""
    if calendar.jurisdiction == "EU":
        return []
    every = plan.interval("liver_every")
    dates = _every(calendar.doses[0].effective, every.value, until, include_first=True)
    prefix = calendar.therapy_id
    return [
        _item(every, f"{prefix}_{test}", f"{title} (US, periodically)", test, dates, baseline=True)
        for test, title in (("alt", "ALT"), ("ast", "AST"), ("bilirubin", "Total bilirubin"))
    ]


def _courses(calendar: CourseCalendar) -> list[list[PlannedDose]]:
    found: dict[int | None, list[PlannedDose]] = {}
    for dose in calendar.doses:
        found.setdefault(dose.course_number, []).append(dose)
    return list(found.values())


def _herpes_prophylaxis(
    calendar: CourseCalendar, plan: Monitoring, record: PatientRecord | None
) -> list[MonitoringItem]:
    """Antiviral from day 1 of each course: started (day 1) and continued to its end date.

    EU: 1 month after the course (LEMEU-10). US, and unknown jurisdiction (the longer rule):
    at least 2 months after the course and until CD4+ >= 200 cells/uL, whichever is later
    (LEMUS-14) - the first CD4 result at or above it after the course's last infusion.
    Record ``herpes_prophylaxis`` with ``positive`` true (taking it) or false (not taking).
    """
    eu = calendar.jurisdiction == "EU"
    after = plan.interval(
        "herpes_prophylaxis_after_course_eu" if eu else "herpes_prophylaxis_after_course_us"
    )
    cd4 = data.number("alemtuzumab.herpes_prophylaxis_cd4_min_per_ul")
    items = []
    for number, course in enumerate(_courses(calendar), start=1):
        day1, last = course[0].effective, course[-1].effective
        until = shift(last, after.value)
        rule = f"{describe(after.value)} after the course"
        if not eu:
            reached = [
                lab.on
                for lab in (record.labs if record else ())
                if lab.test == "cd4_per_ul"
                and lab.on > last
                and lab.value is not None
                and lab.value >= cd4
            ]
            until = max(until, min(reached)) if reached else until
            cd4_text = f"reached {min(reached)}" if reached else "not yet recorded: continue"
            rule += f" and CD4+ >= {cd4}/uL ({cd4_text})"
        items.append(
            _item(
                after,
                f"{calendar.therapy_id}_herpes_prophylaxis_course_{number}",
                f"Herpes prophylaxis, course {number}: from {day1} to {until} ({rule})",
                "herpes_prophylaxis",
                (day1, until),
                baseline=True,
                negative_is_abnormal=True,
            )
        )
    return items
