"""B-cell template, repletion calibration, streamed percentiles, interval summaries."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from msinfusion.catalog import shipped_catalog
from msinfusion.pharmacology.calibration import TARGET_REPLETION_WEEKS, repletion_weeks
from msinfusion.pharmacology.dosing import InfusionSchedule, RateSegment
from msinfusion.pharmacology.models import Course, Effect, get_model
from msinfusion.pharmacology.pd import (
    ANTI_CD20_BCELL,
    CALIBRATED_EC50_MG_PER_L,
    bcell_course,
    time_to_threshold_day,
)
from msinfusion.pharmacology.population import LogHistogram
from msinfusion.pharmacology.regimen import standard_regimen
from msinfusion.pharmacology.report import simulate
from msinfusion.pharmacology.summary import interval_stats
from tests.unit.pharmacology.helpers import ORIGIN

CATALOG = shipped_catalog()


def test_calibrated_ec50_reproduces_72_weeks_to_repletion() -> None:
    assert repletion_weeks(CALIBRATED_EC50_MG_PER_L, CATALOG) == pytest.approx(
        TARGET_REPLETION_WEEKS, abs=0.01
    )
    # a more potent antibody (lower EC50) keeps B cells down longer
    assert repletion_weeks(CALIBRATED_EC50_MG_PER_L / 10, CATALOG) > TARGET_REPLETION_WEEKS


def test_bcell_course_matches_an_ode_solution_for_a_decaying_concentration() -> None:
    grid = np.linspace(0.0, 600.0, 1201)
    conc = 200.0 * np.exp(-0.0268 * grid)
    pd = ANTI_CD20_BCELL
    b0, kout, emax = pd.value("B0"), pd.value("kout"), pd.value("Emax")
    ec50, hill = pd.value("EC50"), pd.value("hill")
    ours = bcell_course(
        grid,
        conc[None, :],
        b0=np.array([b0]),
        kout=np.array([kout]),
        emax=np.array([emax]),
        ec50=ec50,
        hill=hill,
    )[0]

    def f(t: float, b: np.ndarray) -> np.ndarray:
        c = 200.0 * np.exp(-0.0268 * t)
        e = emax * c**hill / (ec50**hill + c**hill)
        return kout * b0 - kout * (1 + e) * b

    ref = solve_ivp(f, (0, 600), [b0], t_eval=grid, method="Radau", rtol=1e-10, atol=1e-10).y[0]
    assert np.max(np.abs(ours - ref)) <= 1e-3 * b0


def test_time_to_threshold_interpolates_and_needs_a_dip_first() -> None:
    grid = np.array([0.0, 1.0, 2.0, 3.0])
    values = np.array([[5.0, 0.0, 2.0, 6.0], [5.0, 6.0, 7.0, 8.0]])
    days = time_to_threshold_day(grid, values, np.array([4.0, 4.0]), after_day=0.0)
    assert days[0] == pytest.approx(2.5)
    assert np.isnan(days[1])


def test_streamed_percentiles_agree_with_exact_ones_within_a_bin() -> None:
    rng = np.random.default_rng(3)
    values = np.exp(rng.normal(2.0, 1.0, (5000, 4)))
    hist = LogHistogram(4)
    for chunk in np.array_split(values, 7):
        hist.add(chunk)
    for q in (5.0, 50.0, 95.0):
        exact = np.percentile(values, q, axis=0)
        assert hist.percentile(q) == pytest.approx(exact, rel=0.02)


def test_interval_stats_hand_worked() -> None:
    grid = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    conc = np.array([[0.0, 10.0, 4.0, 8.0, 2.0]])
    cum = np.array([[0.0, 5.0, 12.0, 18.0, 23.0]])
    course = Course(
        grid_day=grid,
        conc_ug_per_ml=conc,
        cum_auc_ug_day_per_ml=cum,
        effect=None,
        effect_kind=Effect.NONE,
    )
    stats = interval_stats(course, (0.0, 2.0), 4.0, threshold_ug_per_ml=5.0)
    assert stats.cmax[0].tolist() == [10.0, 8.0]
    assert stats.trough[0].tolist() == [4.0, 2.0]
    assert stats.auc[0].tolist() == [12.0, 11.0]
    # below 5: [0, 0.5] and [1 + 5/6, 2] in the first; [2, 2.25] and [3.5, 4] in the second
    assert stats.time_below_day is not None
    assert stats.time_below_day[0] == pytest.approx([0.5 + 1 / 6, 0.25 + 0.5])


def test_population_json_has_percentiles_per_interval() -> None:
    schedule = standard_regimen(
        "ublituximab", catalog=CATALOG, origin=ORIGIN, end=ORIGIN + timedelta(days=200)
    )
    report = simulate("ublituximab", schedule, end_day=200.0, n_patients=200, seed=1)
    data = report.to_json_dict()
    first = data["summary"]["intervals"][0]
    assert set(first["cmax_ug_per_ml"]) == {"median", "p5", "p95", "n"}
    assert first["cmax_ug_per_ml"]["p5"] < first["cmax_ug_per_ml"]["median"]
    assert "pk.CL" in data["placeholders"]
    assert data["summary"]["terminal_half_life_day"] == pytest.approx(23.2, abs=0.1)
    assert report.to_csv().splitlines()[0].startswith("day,conc_ug_per_ml_typical")


def test_ocrelizumab_b_cells_deplete_after_the_first_infusion() -> None:
    schedule = InfusionSchedule(
        origin=ORIGIN,
        dose_starts_day=(0.0,),
        segments=(RateSegment(start_day=0.0, end_day=0.1, rate_mg_per_h=125.0),),
    )
    report = simulate("ocrelizumab", schedule, end_day=30.0)
    cells = report.typical.effect
    assert cells is not None
    assert cells[0, -1] < 0.03 * ANTI_CD20_BCELL.value("B0")
    assert get_model("ocrelizumab").effect is Effect.B_CELLS
