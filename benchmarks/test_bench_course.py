"""Speed of treatment-course planning, gate evaluation and a full patient check (issue 7)."""

from __future__ import annotations

from datetime import date
from typing import Any

from msinfusion.planning.course_check import check_from_dict
from msinfusion.planning.course_plan import plan_course
from msinfusion.planning.courses import CourseOrder

CHECK: dict[str, Any] = {
    "as_of": "2028-01-10",
    "order": {
        "therapy_id": "alemtuzumab",
        "start": "2026-01-05",
        "options": {"further_courses": "2"},
        "given": [{"dose_number": n, "on": f"2026-01-{4 + n:02d}"} for n in range(1, 6)],
    },
    "patient": {
        "id": "bench",
        "labs": [{"test": "cbc_diff", "on": f"2026-{m:02d}-03"} for m in range(1, 13)],
    },
}


def test_bench_plan_natalizumab_five_years(benchmark: Any) -> None:
    order = CourseOrder.create(
        therapy_id="natalizumab", start=date(2026, 1, 5), options={"doses": "65"}
    )
    calendar = benchmark(plan_course, order)
    assert len(calendar.doses) == 65


def test_bench_check_alemtuzumab_patient(benchmark: Any) -> None:
    check = benchmark(check_from_dict, CHECK)
    assert check.monitoring
