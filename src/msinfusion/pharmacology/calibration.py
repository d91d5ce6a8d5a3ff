"""Reproducible calibrations of the values marked "calibrated" in ``pd.py``.

Only the drug-specific potency of the anti-CD20 B-cell template is calibrated (dossier §1.5:
"calibrate only the drug-specific potency"): EC50 such that the typical ocrelizumab patient
repletes (B >= repletion fraction x B0) 72 weeks after the start of the last infusion (dossier
targets table, label 12.2, phase 2 extension). Calibration regimen (a modelling choice, the
dossier does not give the extension's regimen): 2 x 300 mg two weeks apart, then three 600 mg
infusions every 24 weeks, then no more.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from msinfusion.catalog import shipped_catalog
from msinfusion.pharmacology.dosing import InfusionSchedule, schedule_from_protocol
from msinfusion.pharmacology.models import get_model, simulate_grid_concentration
from msinfusion.pharmacology.pd import ANTI_CD20_BCELL, bcell_course, time_to_threshold_day

TARGET_REPLETION_WEEKS = 72.0
DAYS_PER_WEEK = 7.0
_ORIGIN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def calibration_schedule() -> InfusionSchedule:
    catalog = shipped_catalog()
    initial = catalog.get_protocol("ocrelizumab-300-initial")
    maintenance = catalog.get_protocol("ocrelizumab-600-standard")
    starts = [_ORIGIN, _ORIGIN + timedelta(days=14)]
    starts += [_ORIGIN + timedelta(days=168 * k) for k in (1, 2, 3)]
    return schedule_from_protocol(
        [initial, initial, maintenance, maintenance, maintenance], starts, origin=_ORIGIN
    )


def repletion_weeks(ec50_mg_per_l: float) -> float:
    """Weeks from the last infusion start to repletion, typical ocrelizumab patient."""
    schedule = calibration_schedule()
    last = schedule.dose_starts_day[-1]
    grid, conc = simulate_grid_concentration(
        get_model("ocrelizumab"), schedule, last + 5 * 365.0, step_day=0.5
    )
    pd = ANTI_CD20_BCELL
    b0 = np.full(1, pd.value("B0"))
    cells = bcell_course(
        grid,
        conc,
        b0=b0,
        kout=np.full(1, pd.value("kout")),
        emax=np.full(1, pd.value("Emax")),
        ec50=ec50_mg_per_l,
        hill=pd.value("hill"),
    )
    threshold = b0 * pd.value("repletion_fraction")
    day = time_to_threshold_day(grid, cells, threshold, after_day=last)[0]
    return float((day - last) / DAYS_PER_WEEK)


def calibrate_bcell_ec50() -> float:
    """EC50 (mg/L) giving 72 weeks to repletion; a bracketed root search on log EC50."""
    from scipy.optimize import brentq  # type: ignore[import-untyped]  # noqa: PLC0415 - lazy

    def gap(log_ec50: float) -> float:
        return repletion_weeks(float(np.exp(log_ec50))) - TARGET_REPLETION_WEEKS

    return float(np.exp(brentq(gap, np.log(1e-4), np.log(10.0), xtol=1e-10)))
