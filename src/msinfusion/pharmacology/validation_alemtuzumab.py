"""Validation rows for alemtuzumab: label-level PK and the lymphocyte subsets (dossier §3).

Two runs: the label regimen (12 mg x 5 days, 12 mg x 3 days at day 365) to 31 months, for the
PK rows and the label-regimen subset rows; and the single-course calibration regimen over six
years, for the times to LLN (the targets table's values are for a single course) and the B-cell
and BAFF rows of Thompson 2010 (month 12 is read before course 2, as the study measured it).
"""

from __future__ import annotations

import numpy as np

from msinfusion.catalog.registry import Catalog
from msinfusion.pharmacology.calibration import (
    B_MONTH3_PCT,
    B_MONTH12_PCT,
    BAFF_MONTH12_PCT,
    CD4_MONTH12_OVER_MONTH1,
    TARGET_MONTHS_TO_LLN,
    baff_readouts,
    lymphocyte_calibration_schedule,
    subset_readouts,
)
from msinfusion.pharmacology.lymphocytes import (
    ALEMTUZUMAB_SUBSETS,
    BASELINE_PCT,
    CALIBRATED_BAFF_K_PER_DAY,
    CALIBRATED_K_PER_DAY,
    CALIBRATED_KKILL_L_PER_MG_DAY,
    DAYS_PER_MONTH,
    REPORT_MONTHS,
    SUBSETS,
    SubsetStats,
)
from msinfusion.pharmacology.report import SimulationReport, simulate
from msinfusion.pharmacology.validation_row import (
    POPULATION,
    SEED,
    Row,
    band,
    population_stats,
    schedule_at,
)

_LABEL_DAYS = [0.0, 1.0, 2.0, 3.0, 4.0, 365.0, 366.0, 367.0]
_NO_BASELINE = "% of own baseline"
_HELD_OUT = "development (held out)"


def _subsets(report: SimulationReport) -> SubsetStats:
    pop = report.population
    if pop is None or pop.subset_stats is None:  # pragma: no cover - always a population run
        raise RuntimeError("alemtuzumab validation needs a population with subsets")
    return pop.subset_stats


def _pk_rows(r: SimulationReport) -> list[Row]:
    grid, conc = r.typical.grid_day, r.typical.conc_ug_per_ml[0]
    c1 = conc[(grid >= 4) & (grid <= 5)].max() * 1000
    c2 = conc[(grid >= 367) & (grid <= 368)].max() * 1000
    day30 = float(np.interp(30.0, grid, conc)) * 1000
    pop = population_stats(r)
    common = {"drug": "alemtuzumab", "kind": "rel", "tolerance": 0.20, "grade": "C"}
    return [
        Row(
            quantity="Cmax course 1, day 5 (ng/mL)",
            target="3014",
            target_value=3014.0,
            typical=c1,
            population=band(pop.cmax[:, 4] * 1000),
            **common,  # type: ignore[arg-type]
        ),
        Row(
            quantity="Cmax course 2, day 3 (ng/mL)",
            target="2276",
            target_value=2276.0,
            typical=c2,
            population=band(pop.cmax[:, 7] * 1000),
            **common,  # type: ignore[arg-type]
        ),
        Row(
            drug="alemtuzumab",
            quantity="concentration 30 days after course start (ng/mL)",
            target="< 60",
            target_value=60.0,
            typical=day30,
            population="-",
            kind="max",
            tolerance=0.0,
            grade="A/C",
        ),
    ]


def _censored_band(months: np.ndarray) -> str:
    """Median (5th-95th) with patients not reaching LLN counted as later than all others."""
    later = np.where(np.isnan(months), np.inf, months)
    p5, p50, p95 = np.percentile(later, [5.0, 50.0, 95.0], method="inverted_cdf")
    return f"{p50:.3g} ({p5:.3g}-{p95:.3g})"


def _single_course_rows(catalog: Catalog) -> list[Row]:
    """Months to LLN per subset, the CD4 month-12/month-1 ratio, B cells and BAFF at month 12."""
    schedule = lymphocyte_calibration_schedule(catalog)
    r = simulate("alemtuzumab", schedule, end_day=6 * 365.25, n_patients=POPULATION, seed=SEED)
    stats = _subsets(r)
    kkill = CALIBRATED_KKILL_L_PER_MG_DAY
    baff = baff_readouts(CALIBRATED_BAFF_K_PER_DAY, catalog)
    rows = []
    for name, source in (("B", "geometric mean"), ("CD8", "median"), ("CD4", "median")):
        months = stats.months_to_lln[name][:, 0]
        target = TARGET_MONTHS_TO_LLN[name]
        reached = months[np.isfinite(months)]
        typical = (
            baff["B_months_to_lln"]
            if name == "B"
            else subset_readouts(kkill, CALIBRATED_K_PER_DAY[name], catalog)[0]
        )
        rows.append(
            Row(
                drug="alemtuzumab",
                quantity=f"months to LLN after one course, {name} ({source})",
                target=f"{target:g}",
                target_value=target,
                typical=typical,
                population=_censored_band(months)
                + f"; geo. mean of reached {np.exp(np.log(reached).mean()):.3g}"
                + f"; not in 6 y: {np.isnan(months).mean():.0%}",
                kind="rel",
                tolerance=0.25,
                grade="A",
                use=_HELD_OUT if name == "B" else "calibration",
            )
        )
    month1, month12 = (stats.pct_at_month["CD4"][:, REPORT_MONTHS.index(m)] for m in (1.0, 12.0))
    rows.append(
        Row(
            drug="alemtuzumab",
            quantity="CD4 month 12 / month 1 (label means 270 / 40 cells/uL)",
            target="6.75",
            target_value=CD4_MONTH12_OVER_MONTH1,
            typical=subset_readouts(kkill, CALIBRATED_K_PER_DAY["CD4"], catalog)[1],
            population=f"ratio of means {month12.mean() / month1.mean():.3g} ({_NO_BASELINE})",
            kind="rel",
            tolerance=0.20,
            grade="B",
            use="calibration",
        )
    )
    b12 = stats.pct_at_month["B"][:, REPORT_MONTHS.index(12.0)]
    rows += [
        Row(
            drug="alemtuzumab",
            quantity=f"B cells at month 12, before course 2 ({_NO_BASELINE})",
            target=f"{B_MONTH12_PCT:g}",
            target_value=B_MONTH12_PCT,
            typical=baff["B_month12"],
            population=band(b12),
            kind="pp",
            tolerance=10.0,
            grade="A",
            use=_HELD_OUT,
        ),
        Row(
            drug="alemtuzumab",
            quantity="serum BAFF at month 1 (% of baseline), Thompson 2010",
            target="> 100 (surge)",
            target_value=100.0,
            typical=baff["BAFF_month1"],
            population="-",
            kind="min",
            tolerance=0.0,
            grade="A",
            use=_HELD_OUT,
        ),
        Row(
            drug="alemtuzumab",
            quantity="serum BAFF at month 12 (% of baseline), Thompson 2010",
            target="133 (+33 %)",
            target_value=BAFF_MONTH12_PCT,
            typical=baff["BAFF_month12"],
            population="-",
            kind="pp",
            tolerance=10.0,
            grade="A",
            use=_HELD_OUT,
        ),
    ]
    return rows


def _label_regimen_rows(r: SimulationReport) -> list[Row]:
    """Development rows: depletion timing, B-cell return and overshoot, CD4 at 30 months."""
    typ, pop = r.typical_subsets, _subsets(r)
    if typ is None:  # pragma: no cover
        raise RuntimeError("alemtuzumab report without subsets")
    nadir_typ = max(float(typ.nadir_day_after_start[s][0, 0]) for s in SUBSETS)
    nadir_pop = np.max(np.stack([pop.nadir_day_after_start[s][:, 0] for s in SUBSETS]), axis=0)
    b3, b12 = (REPORT_MONTHS.index(m) for m in (3.0, 12.0))
    lln = BASELINE_PCT * ALEMTUZUMAB_SUBSETS.value("lln_fraction")
    m30 = REPORT_MONTHS.index(30.0)
    below = 100.0 * float((pop.pct_at_month["CD4"][:, m30] < lln).mean())
    return [
        Row(
            drug="alemtuzumab",
            quantity="day of the lowest B/CD4/CD8 count after course 1 (latest subset)",
            target="within days; first count ~1 month",
            target_value=30.0,
            typical=nadir_typ,
            population=band(nadir_pop),
            kind="max",
            tolerance=0.0,
            grade="A",
        ),
        Row(
            drug="alemtuzumab",
            quantity=f"B cells at month 3 ({_NO_BASELINE})",
            target="~100 (back to baseline)",
            target_value=B_MONTH3_PCT,
            typical=float(typ.pct_at_month["B"][0, b3]),
            population=band(pop.pct_at_month["B"][:, b3]),
            kind="pp",
            tolerance=10.0,
            grade="A",
            use="calibration (k_BAFF)",
        ),
        Row(
            drug="alemtuzumab",
            quantity=f"B cells at month 12 ({_NO_BASELINE})",
            target="165",
            target_value=B_MONTH12_PCT,
            typical=float(typ.pct_at_month["B"][0, b12]),
            population=band(pop.pct_at_month["B"][:, b12]),
            kind="pp",
            tolerance=10.0,
            grade="A",
            use=_HELD_OUT,
        ),
        Row(
            drug="alemtuzumab",
            quantity="CD4 below LLN at month 30, label regimen (% of population)",
            target="~50",
            target_value=50.0,
            typical=below,
            population=f"CD4 {band(pop.pct_at_month['CD4'][:, m30])} % of baseline",
            kind="pp",
            tolerance=10.0,
            grade="B",
        ),
    ]


def alemtuzumab_rows(catalog: Catalog) -> list[Row]:
    schedule = schedule_at(["alemtuzumab-12"] * len(_LABEL_DAYS), _LABEL_DAYS, catalog)
    r = simulate(
        "alemtuzumab", schedule, end_day=31 * DAYS_PER_MONTH, n_patients=POPULATION, seed=SEED
    )
    return [*_pk_rows(r), *_single_course_rows(catalog), *_label_regimen_rows(r)]
