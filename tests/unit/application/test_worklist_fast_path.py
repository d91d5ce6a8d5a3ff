"""The worklist's fast path equals the reference path (issue 23, first render under 1 s).

The worklist reads each patient's monitoring slots only up to the window's end
(``check_course(monitoring_until=...)``, ``record_results(until=...)``) and fills slots by
bisection. Three properties on generated patients and items:

* bisection assigns every result to the slot the old linear scan chose (``_scan_reference``,
  the scan as it was before the change, kept here as the oracle);
* the slots kept up to a horizon are exactly the first slots of the full list;
* the worklist items of a patient computed the fast way equal those computed from the full
  ``check_course`` (every slot to 48 months), for any therapy, dose history, results, day,
  window and jurisdiction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from msinfusion.application.clinical_record_view import OrderCourse, PatientCourses
from msinfusion.application.records import TherapyOrder
from msinfusion.application.worklist_items import WorklistFilter, patient_items
from msinfusion.catalog.registry import shipped_catalog
from msinfusion.planning.course_check import check_course
from msinfusion.planning.course_options import with_jurisdiction
from msinfusion.planning.course_plan import plan_course
from msinfusion.planning.courses import CourseOrder, GivenDose
from msinfusion.planning.monitoring_calendar import (
    SLOTS_PAST_HORIZON,
    MonitoringItem,
    monitoring_items,
    record_results,
)
from msinfusion.planning.patient_record import LabResult, PatientRecord

THERAPIES = ("alemtuzumab", "natalizumab", "mitoxantrone", "ocrelizumab")
DAY0 = date(2025, 6, 2)


def _scan_reference(item: MonitoringItem, results: list[LabResult]) -> dict[int, LabResult]:
    """The old assignment: each result (by date) to the first untaken slot whose window has it."""
    taken: dict[int, LabResult] = {}
    for result in sorted(results, key=lambda r: r.on):
        for k in range(len(item.dates)):
            if k == 0 and item.baseline:
                low, high = None, item.dates[0]
            else:
                low = item.dates[k - 1] if k > 0 else None
                high = item.dates[k + 1] if k + 1 < len(item.dates) else None
            inclusive = k == 0 and item.baseline
            fits_high = high is None or (result.on <= high if inclusive else result.on < high)
            if k not in taken and (low is None or result.on > low) and fits_high:
                taken[k] = result
                break
    return taken


def _item(dates: list[date], baseline: bool) -> MonitoringItem:
    return MonitoringItem(
        id="x", title="X", test="t", dates=tuple(sorted(dates)), sources=(), baseline=baseline
    )


day_offsets = st.integers(min_value=0, max_value=400)


@settings(max_examples=300, deadline=None)
@given(
    dates=st.lists(day_offsets, max_size=12),
    results=st.lists(day_offsets, max_size=10),
    baseline=st.booleans(),
    today=day_offsets,
)
def test_bisection_fills_the_slots_the_scan_filled(
    dates: list[int], results: list[int], baseline: bool, today: int
) -> None:
    item = _item([DAY0 + timedelta(days=d) for d in dates], baseline)
    labs = [LabResult(test="t", on=DAY0 + timedelta(days=d)) for d in results]
    as_of = DAY0 + timedelta(days=today)
    slots = record_results(item, PatientRecord(patient_id="p", labs=tuple(labs)), as_of)
    expected = _scan_reference(item, [r for r in labs if r.on <= as_of])
    assert {k: s.result for k, s in enumerate(slots) if s.result is not None} == expected


@settings(max_examples=200, deadline=None)
@given(
    dates=st.lists(day_offsets, max_size=40),
    results=st.lists(day_offsets, max_size=10),
    baseline=st.booleans(),
    today=day_offsets,
    ahead=st.integers(min_value=0, max_value=200),
)
def test_slots_up_to_a_horizon_are_the_first_slots_of_the_full_list(
    dates: list[int], results: list[int], baseline: bool, today: int, ahead: int
) -> None:
    item = _item([DAY0 + timedelta(days=d) for d in dates], baseline)
    record = PatientRecord(
        patient_id="p",
        labs=tuple(LabResult(test="t", on=DAY0 + timedelta(days=d)) for d in results),
    )
    as_of = DAY0 + timedelta(days=today)
    until = as_of + timedelta(days=ahead)
    full = record_results(item, record, as_of)
    kept = record_results(item, record, as_of, until=until)
    assert kept == full[: len(kept)]
    due_by = sum(1 for s in full if s.due <= until)
    assert len(kept) == min(len(full), due_by + SLOTS_PAST_HORIZON)


def test_the_horizon_keeps_few_of_an_alemtuzumab_patients_slots() -> None:
    """Hand-checked: course 1 on 2025-12-01..05, course 2 planned 12 months later
    (2026-12-01..03), CBC monthly from 2025-12-01 to 48 months after course 2's last infusion
    (2030-12-03): 61 slots; on 2026-03-02 with a 4-week window the CBC slots due by 2026-03-30
    are 12-01, 01-01, 02-01 and 03-01, plus 3 after them (04-01, 05-01, 06-01)."""
    order = CourseOrder.create(
        therapy_id="alemtuzumab",
        start=date(2025, 12, 1),
        given=tuple(GivenDose(dose_number=n, on=date(2025, 12, n)) for n in range(1, 6)),
    )
    record = PatientRecord(patient_id="p", sex="male")
    as_of = date(2026, 3, 2)
    full = check_course(order, record, as_of=as_of, jurisdiction="US")
    fast = check_course(
        order, record, as_of=as_of, jurisdiction="US", monitoring_until=date(2026, 3, 30)
    )
    cbc = [s.due.isoformat() for s in fast.monitoring if s.item_id == "alemtuzumab_cbc"]
    assert cbc == [
        "2025-12-01",
        "2026-01-01",
        "2026-02-01",
        "2026-03-01",
        "2026-04-01",
        "2026-05-01",
        "2026-06-01",
    ]
    assert sum(1 for s in full.monitoring if s.item_id == "alemtuzumab_cbc") == 61
    assert len(fast.monitoring) < len(full.monitoring) / 5


def _tests_of(therapy: str, order: CourseOrder) -> list[str]:
    calendar = plan_course(order)
    return sorted({item.test for item in monitoring_items(calendar)}) or ["cbc_diff"]


@st.composite
def patients(draw: st.DrawFn) -> tuple[CourseOrder, PatientRecord, date, date, str]:
    """A patient on one therapy: doses given on their due dates (0 to 6), results of the
    therapy's tests on days around the course, a day and a window, a jurisdiction."""
    therapy = draw(st.sampled_from(THERAPIES))
    jurisdiction = draw(st.sampled_from(("US", "EU")))
    start = DAY0 + timedelta(days=draw(st.integers(min_value=0, max_value=300)))
    order = with_jurisdiction(CourseOrder.create(therapy_id=therapy, start=start), jurisdiction)
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        dose = plan_course(order).next_dose()
        if dose is None:
            break
        order = replace(
            order, given=(*order.given, GivenDose(dose_number=dose.dose_number, on=dose.due))
        )
    tests = _tests_of(therapy, order)
    labs = draw(
        st.lists(
            st.builds(
                LabResult,
                test=st.sampled_from(tests),
                on=st.integers(min_value=-40, max_value=700).map(
                    lambda d: start + timedelta(days=d)
                ),
                abnormal=st.sampled_from((None, False, True)),
                positive=st.sampled_from((None, False, True)),
            ),
            max_size=12,
        )
    )
    last = order.given[-1].on if order.given else start
    as_of = last + timedelta(days=draw(st.integers(min_value=0, max_value=900)))
    until = as_of + timedelta(days=draw(st.integers(min_value=0, max_value=120)))
    sex = draw(st.sampled_from(("female", "male", None)))
    return order, PatientRecord(patient_id="p", sex=sex, labs=tuple(labs)), as_of, until, therapy


def _courses(order: CourseOrder, check: object, as_of: date, therapy: str) -> PatientCourses:
    stored = TherapyOrder(
        id="order-1",
        patient_id="p",
        therapy_id=therapy,
        start_date=order.start,
        prescriber_id="doc",
    )
    return PatientCourses(
        patient_id="p",
        as_of=as_of,
        entries=(),
        retracted_ids=frozenset(),
        cosignatures={},
        courses=(OrderCourse(order=stored, check=check),),  # type: ignore[arg-type]  # a check
        problems=(),
    )


PROTOCOL_THERAPY = {p.id: t.id for t in shipped_catalog() for p in t.protocols}


@settings(max_examples=150, deadline=None)
@given(patient=patients())
def test_the_fast_worklist_equals_the_full_course_check(
    patient: tuple[CourseOrder, PatientRecord, date, date, str],
) -> None:
    order, record, as_of, until, therapy = patient
    reference = check_course(order, record, as_of=as_of)
    fast = check_course(order, record, as_of=as_of, monitoring_until=until)
    window = WorklistFilter(as_of=as_of, due_before=until)

    def items(check: object) -> list[object]:
        return list(
            patient_items(
                _courses(order, check, as_of, therapy),
                patient_name="P",
                appointments=(),
                day_of=lambda moment: datetime.astimezone(moment, UTC).date(),
                therapy_of=PROTOCOL_THERAPY.__getitem__,
                states={},
                window=window,
            )
        )

    assert items(fast) == items(reference)
    assert fast.gates == reference.gates
    assert fast.calendar == reference.calendar
