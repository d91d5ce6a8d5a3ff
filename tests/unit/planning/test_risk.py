"""PML table cell by cell, mitoxantrone cumulative projection, anti-CD20 repletion."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from msinfusion.errors import PlanningError
from msinfusion.planning.course_plan import plan_course
from msinfusion.planning.courses import CourseOrder, GivenDose
from msinfusion.planning.risk import anti_cd20_repletion, pml_risk, project_mitoxantrone

D = date.fromisoformat

# Dossier N 1.4 table A, typed by hand: (status, prior IS, index) -> (<=24, 25-48, 49-72)
TABLE = {
    ("negative", False, None): ("0.02", "0.2", "0.2"),
    ("negative", True, None): ("0.06", "0.9", "0.9"),
    ("positive", False, None): ("1", "3", "6"),
    ("positive", False, "1.5"): ("0.2", "1.1", "1.4"),
    ("positive", False, "1.51"): ("1.2", "8.8", "10.1"),
    ("positive", True, "3.0"): ("6", "12", "13"),
}
MONTHS = ((1, 24), (25, 48), (49, 72))


@pytest.mark.parametrize(("key", "cells"), list(TABLE.items()))
@pytest.mark.parametrize("column", [0, 1, 2])
def test_pml_table_cell_by_cell(
    key: tuple[str, bool, str | None], cells: tuple[str, ...], column: int
) -> None:
    status, prior, index = key
    for months in MONTHS[column]:  # both edges of the band
        risk = pml_risk(
            jcv_positive=status == "positive",
            prior_immunosuppressant=prior,
            index=None if index is None else Decimal(index),
            months=months,
        )
        assert risk.risk_per_1000 == Decimal(cells[column])
        assert risk.sources[0] == "https://pro.uptodatefree.ir/Show/55637"
        assert not risk.verified


def test_pml_beyond_the_table_is_not_extrapolated() -> None:
    risk = pml_risk(jcv_positive=True, index=Decimal(1), prior_immunosuppressant=False, months=73)
    assert risk.risk_per_1000 is None
    assert "beyond" in risk.months_band


def test_pml_zero_months_uses_the_first_band_and_refuses_nonsense() -> None:
    assert pml_risk(
        jcv_positive=False, index=None, prior_immunosuppressant=False, months=0
    ).risk_per_1000 == Decimal("0.02")
    with pytest.raises(PlanningError):
        pml_risk(jcv_positive=True, index=None, prior_immunosuppressant=False, months=-1)
    with pytest.raises(PlanningError):
        pml_risk(jcv_positive=True, index=Decimal(-1), prior_immunosuppressant=False, months=3)


def test_pml_other_assay_index_is_not_applied() -> None:
    risk = pml_risk(
        jcv_positive=True,
        index=Decimal("0.5"),
        prior_immunosuppressant=False,
        months=30,
        assay="Labcorp LDT",
    )
    assert risk.row == "positive-no-is-index-unknown"
    assert risk.risk_per_1000 == Decimal(3)
    assert "N5" in risk.note


def test_mitoxantrone_cumulative_projection_with_bsa() -> None:
    calendar = plan_course(
        CourseOrder.create(
            therapy_id="mitoxantrone",
            start=D("2026-01-05"),
            options={"jurisdiction": "EU", "prior_mg_per_m2": "10"},
            given=(GivenDose(dose_number=1, on=D("2026-01-05"), mg_per_m2=10.0),),
        )
    )
    assert len(calendar.doses) == 5  # (72 - 10) // 12
    rows = project_mitoxantrone(
        calendar,
        prior_mg_per_m2=Decimal(10),
        limit_mg_per_m2=Decimal(72),
        given=calendar_given(),
        bsa_m2=Fraction(2),
    )
    assert [r.cumulative_mg_per_m2 for r in rows] == [
        Decimal(20),
        Decimal(32),
        Decimal(44),
        Decimal(56),
        Decimal(68),
    ]
    assert rows[0].given
    assert rows[0].dose_mg == Fraction(20)
    assert rows[1].dose_mg == Fraction(24)  # 12 mg/m2 x 2.0 m2
    assert all(r.within_limit for r in rows)


def calendar_given() -> tuple[GivenDose, ...]:
    return (GivenDose(dose_number=1, on=D("2026-01-05"), mg_per_m2=10.0),)


def test_repletion_window_from_label_figures() -> None:
    rep = anti_cd20_repletion("ocrelizumab", last_dose=D("2026-01-05"), as_of=D("2026-03-02"))
    assert rep.weeks_since_last_dose == Fraction(8)
    assert rep.median_repletion_date == D("2027-05-24")  # + 72 weeks
    assert rep.range_dates == (D("2026-07-13"), D("2029-05-14"))  # + 189 / + 1225 days
    ubl = anti_cd20_repletion("ublituximab", last_dose=D("2026-01-05"), as_of=D("2026-01-05"))
    assert ubl.median_repletion_weeks == 70
    assert ubl.range_dates is None
    rtx = anti_cd20_repletion("rituximab", last_dose=D("2026-01-05"), as_of=D("2026-01-06"))
    assert rtx.median_repletion_date is None
    assert rtx.sources == ()
