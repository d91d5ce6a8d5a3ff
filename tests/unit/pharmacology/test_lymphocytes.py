"""Alemtuzumab lymphocyte subsets: depletion, ordered reconstitution, course 2, calibration."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from scipy.integrate import solve_ivp
from typer.testing import CliRunner

from msinfusion.catalog import shipped_catalog
from msinfusion.entrypoints.pharmacology_cli import pharmacology_app
from msinfusion.pharmacology.calibration import (
    CD4_MONTH12_OVER_MONTH1,
    TARGET_MONTHS_TO_LLN,
    subset_readouts,
)
from msinfusion.pharmacology.dosing import InfusionSchedule
from msinfusion.pharmacology.lymphocytes import (
    B_TURNOVER_PER_DAY,
    CALIBRATED_K_PER_DAY,
    CALIBRATED_KKILL_L_PER_MG_DAY,
    DAYS_PER_MONTH,
    course_starts_day,
    subset_courses,
    subset_stats,
)
from msinfusion.pharmacology.models import (
    Effect,
    get_model,
    sample_patients,
    simulate_patients,
    simulation_grid,
    typical_patients,
)
from msinfusion.pharmacology.population import run_population
from msinfusion.pharmacology.regimen import standard_regimen
from msinfusion.pharmacology.report import SimulationReport, simulate
from tests.unit.pharmacology.helpers import ORIGIN
from tests.unit.pharmacology.test_properties import schedules

CATALOG = shipped_catalog()

TWO_YEARS = 2 * 365.25


@pytest.fixture(scope="module")
def label_run() -> SimulationReport:
    """Typical patient, label regimen (5 days, 3 days at 12 months), two years."""
    schedule = standard_regimen(
        "alemtuzumab", catalog=CATALOG, origin=ORIGIN, end=ORIGIN + timedelta(days=TWO_YEARS)
    )
    return simulate("alemtuzumab", schedule, end_day=TWO_YEARS)


def _subsets(report: SimulationReport) -> dict[str, np.ndarray]:
    subsets = report.typical.subsets_pct_of_baseline
    assert subsets is not None
    return {name: values[0] for name, values in subsets.items()}


def test_course_1_depletes_every_subset_within_days(label_run: SimulationReport) -> None:
    grid = label_run.typical.grid_day
    for name, pct in _subsets(label_run).items():
        assert pct[0] == pytest.approx(100.0), name
        # by the end of the 5-day course every subset has lost more than 70 %, by day 7 80 %
        assert np.interp(5.0, grid, pct) < 30.0, name
        assert np.interp(7.0, grid, pct) < 20.0, name
        assert np.interp(2.0, grid, pct) < np.interp(1.0, grid, pct) < 100.0, name


def test_reconstitution_speeds_are_ordered_b_then_cd8_then_cd4(
    label_run: SimulationReport,
) -> None:
    stats = label_run.typical_subsets
    assert stats is not None
    at_6_months = {s: stats.pct_at_month[s][0, 2] for s in ("B", "CD4", "CD8")}
    assert at_6_months["B"] > at_6_months["CD8"] > at_6_months["CD4"]
    assert B_TURNOVER_PER_DAY > CALIBRATED_K_PER_DAY["CD8"] > CALIBRATED_K_PER_DAY["CD4"]
    # B cells reach LLN before course 2 (BAFF-driven: within ~2 months, well before the 7.1
    # months of Hill-Cawthorne 2012, a failing validation row); CD4 and CD8 do not (NaN: not
    # within course 1's window)
    months = stats.months_to_lln
    assert 1.0 < months["B"][0, 0] < 3.0
    assert math.isnan(months["CD4"][0, 0])
    assert math.isnan(months["CD8"][0, 0])


def test_course_2_re_depletes(label_run: SimulationReport) -> None:
    grid = label_run.typical.grid_day
    course2 = label_run.schedule.dose_starts_day[5]
    assert course2 == pytest.approx(365.0)
    for name, pct in _subsets(label_run).items():
        before = np.interp(course2, grid, pct)
        after = np.interp(course2 + 14.0, grid, pct)
        assert after < 0.5 * before, name
        # B cells are already coming back two weeks on (BAFF raised by the depletion)
        assert after < (25.0 if name == "B" else 20.0), name
    stats = label_run.typical_subsets
    assert stats is not None
    assert stats.course_start_day.tolist() == [0.0, 365.0]
    assert stats.nadir_pct["B"][0, 1] < 25.0


def test_calibrated_rates_reproduce_the_dossier_targets() -> None:
    kkill = CALIBRATED_KKILL_L_PER_MG_DAY
    for name in ("CD4", "CD8"):
        months = TARGET_MONTHS_TO_LLN[name]
        reached, _ = subset_readouts(kkill, CALIBRATED_K_PER_DAY[name], CATALOG)
        assert reached == pytest.approx(months, abs=0.01), name
    ratio = subset_readouts(kkill, CALIBRATED_K_PER_DAY["CD4"], CATALOG)[1]
    assert ratio == pytest.approx(CD4_MONTH12_OVER_MONTH1, rel=1e-3)
    # a weaker drug depletes less, so CD4 is back at LLN sooner
    assert subset_readouts(kkill / 3, CALIBRATED_K_PER_DAY["CD4"], CATALOG)[0] < 35.0


def test_constant_concentration_hand_worked() -> None:
    """C = 1 mg/L for ever, k = 0.01, kkill = 0.14: x = 100 k/(k + kkill) + rest * e^-(0.15 t)."""
    grid = np.array([0.0, 0.5, 3.0, 10.0, 60.0])
    cum_auc = grid[None, :] * 1.0
    pct = subset_courses(grid, cum_auc, {"x": np.array([0.01])}, 0.14)["x"][0]
    x_inf = 100.0 * 0.01 / 0.15
    expected = x_inf + (100.0 - x_inf) * np.exp(-0.15 * grid)
    assert pct == pytest.approx(expected, rel=1e-12)


def test_subsets_match_a_tight_ode_solution_for_the_real_course() -> None:
    schedule = standard_regimen(
        "alemtuzumab", catalog=CATALOG, origin=ORIGIN, end=ORIGIN + timedelta(days=60)
    )
    model = get_model("alemtuzumab")
    grid = simulation_grid(schedule, 60.0)
    course = simulate_patients(model, schedule, grid, typical_patients())
    k, kkill = CALIBRATED_K_PER_DAY["CD4"], CALIBRATED_KKILL_L_PER_MG_DAY
    cl, v = model.pk.value("CL"), model.pk.value("V1")

    def f(t: float, y: np.ndarray) -> np.ndarray:
        amount, x = y
        rate = schedule.rate_at(t) * 24.0
        return np.array([rate - cl / v * amount, k * (100.0 - x) - kkill * amount / v * x])

    ref = solve_ivp(
        f,
        (0.0, 60.0),
        [0.0, 100.0],
        t_eval=grid,
        method="LSODA",
        rtol=1e-10,
        atol=1e-10,
        max_step=0.02,
    ).y[1]
    ours = course.subsets_pct_of_baseline
    assert ours is not None
    assert np.max(np.abs(ours["CD4"][0] - ref)) < 0.05  # % of baseline


@settings(max_examples=20, deadline=None)
@given(schedules())
def test_subsets_stay_positive_and_t_cells_below_baseline(s: InfusionSchedule) -> None:
    """T cells never exceed baseline (linear, no overshoot); B cells may (BAFF), but stay
    positive and finite."""
    end = (s.segments[-1].end_day if s.segments else 0.0) + 40.0
    course = simulate_patients(
        get_model("alemtuzumab"), s, simulation_grid(s, end), typical_patients()
    )
    assert course.subsets_pct_of_baseline is not None
    for name, values in course.subsets_pct_of_baseline.items():
        assert np.isfinite(values).all(), name
        assert (values > 0.0).all(), name
        if name != "B":
            assert (values <= 100.0 + 1e-9).all(), name


def test_course_starts_group_consecutive_days() -> None:
    days = (0.0, 1.0, 2.0, 3.0, 6.0, 365.0, 366.0, 367.0, 800.0)
    assert course_starts_day(days, 700.0).tolist() == [0.0, 365.0]
    assert course_starts_day(days, 900.0).tolist() == [0.0, 365.0, 800.0]


def test_population_is_reproducible_and_draws_subset_variability() -> None:
    model = get_model("alemtuzumab")
    assert model.effect is Effect.LYMPHOCYTE_SUBSETS
    schedule = standard_regimen(
        "alemtuzumab", catalog=CATALOG, origin=ORIGIN, end=ORIGIN + timedelta(days=400)
    )
    runs = [
        run_population(model, schedule, 400.0, n_patients=60, seed=seed, chunk=25)
        for seed in (7, 7, 8)
    ]
    stats = [r.subset_stats for r in runs]
    assert stats[0] is not None
    assert stats[1] is not None
    assert stats[2] is not None
    assert np.array_equal(stats[0].nadir_pct["CD4"], stats[1].nadir_pct["CD4"])
    assert not np.array_equal(stats[0].nadir_pct["CD4"], stats[2].nadir_pct["CD4"])
    patients = sample_patients(model, 2, np.random.default_rng(1))
    assert {"pd.k_B", "pd.k_CD4", "pd.k_CD8"} <= set(patients.eta)
    assert "pd.lln_fraction" in model.placeholders()


def test_cli_shows_subset_courses_and_times_to_lln() -> None:
    runner = CliRunner()
    args = ["simulate", "alemtuzumab", "--start", "2026-01-05T09:00:00+00:00", "--years", "2"]
    result = runner.invoke(pharmacology_app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    subsets = json.loads(result.output)["summary"]["lymphocyte_subsets"]
    assert subsets["lln_is_placeholder"] is True
    b_course1 = subsets["B"]["courses"][0]
    assert b_course1["months_to_lln"] == pytest.approx(1.6, abs=0.1)
    assert [c["start_day"] for c in subsets["CD4"]["courses"]] == [0.0, 365.0]
    assert subsets["CD4"]["courses"][0]["months_to_lln"] is None
    table = runner.invoke(pharmacology_app, args)
    assert table.exit_code == 0, table.output
    assert "CD4 T cells" in table.output
    assert "months to LLN" in table.output
    assert "not reached" in table.output


def test_month_grid_is_calendar_average() -> None:
    assert pytest.approx(365.25) == DAYS_PER_MONTH * 12
    stats = subset_stats(
        np.array([0.0, 400.0]),
        {"B": np.array([[100.0, 100.0]]), "CD4": np.array([[100.0, 100.0]])},
        (0.0,),
    )
    assert math.isnan(stats.pct_at_month["B"][0, -1])  # month 30 lies beyond the grid
