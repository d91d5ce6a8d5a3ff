"""The validation table of docs/pharmacology-validation.md, computed (``python -m`` this module).

Each row compares a simulated value with a label-level target of the dossier's targets table
(/work/shared/reference/pkpd-models.md), with the relative error (or the difference in
percentage points) and pass/fail against the dossier's suggested tolerance: +-20 % for Cmax,
AUC, trough and half-life, +-25 % for recovery times, +-10 points for percentages. Rows whose
target was used to set a parameter say "calibration" and cannot fail honestly; they are listed
so the reader sees they are not independent evidence.
"""

from __future__ import annotations

import numpy as np

from msinfusion.catalog.registry import Catalog
from msinfusion.pharmacology.calibration import calibration_schedule, repletion_weeks
from msinfusion.pharmacology.linear import terminal_half_life_day
from msinfusion.pharmacology.pd import (
    ANTI_CD20_BCELL,
    CALIBRATED_EC50_MG_PER_L,
    NATALIZUMAB_SATURATION,
)
from msinfusion.pharmacology.pd import alpha4_saturation_pct as saturation
from msinfusion.pharmacology.report import simulate
from msinfusion.pharmacology.validation_alemtuzumab import alemtuzumab_rows
from msinfusion.pharmacology.validation_row import (
    POPULATION,
    SEED,
    Row,
    band,
    change_table,
    markdown_table,
    population_stats,
    schedule_at,
)

__all__ = ["Row", "change_table", "markdown_table", "validation_rows"]


def _ocrelizumab(catalog: Catalog) -> list[Row]:
    days = [0.0, 14.0] + [168.0 * k for k in range(1, 8)]
    protocol_ids = ["ocrelizumab-300-initial"] * 2 + ["ocrelizumab-600-standard"] * 7
    schedule = schedule_at(protocol_ids, days, catalog)
    r = simulate("ocrelizumab", schedule, end_day=168.0 * 8, n_patients=POPULATION, seed=SEED)
    pop, typ = population_stats(r), r.typical_stats
    return [
        Row(
            drug="ocrelizumab",
            quantity="Cmax after 2 x 300 mg (ug/mL)",
            target="141",
            target_value=141.0,
            typical=float(typ.cmax[0, 1]),
            population=band(pop.cmax[:, 1]),
            kind="rel",
            tolerance=0.20,
            grade="A",
        ),
        Row(
            drug="ocrelizumab",
            quantity="Cmax after the first 600 mg (ug/mL)",
            target="212",
            target_value=212.0,
            typical=float(typ.cmax[0, 2]),
            population=band(pop.cmax[:, 2]),
            kind="rel",
            tolerance=0.20,
            grade="C",
        ),
        Row(
            drug="ocrelizumab",
            quantity="AUC over 24 weeks after the 4th 600 mg (ug*day/mL)",
            target="3510",
            target_value=3510.0,
            typical=float(typ.auc[0, 5]),
            population=band(pop.auc[:, 5]),
            kind="rel",
            tolerance=0.20,
            grade="A",
        ),
        Row(
            drug="ocrelizumab",
            quantity="terminal half-life (day)",
            target="26",
            target_value=26.0,
            typical=r.terminal_half_life_day,
            population="-",
            kind="rel",
            tolerance=0.20,
            grade="A",
        ),
    ]


def _repletion(catalog: Catalog) -> list[Row]:
    schedule = calibration_schedule(catalog)
    end = schedule.dose_starts_day[-1] + 6 * 365.0
    r = simulate("ocrelizumab", schedule, end_day=end, n_patients=POPULATION, seed=SEED)
    if r.population is None or r.population.repletion_day is None:  # pragma: no cover
        raise RuntimeError("B-cell model without repletion times")
    weeks = r.population.repletion_day / 7.0
    return [
        Row(
            drug="ocrelizumab",
            quantity="weeks from last infusion to B-cell repletion (median)",
            target="72 (27-175)",
            target_value=72.0,
            typical=repletion_weeks(CALIBRATED_EC50_MG_PER_L, catalog),
            population=band(weeks) + f"; not repleted in 6 y: {np.isnan(weeks).mean():.0%}",
            kind="rel",
            tolerance=0.25,
            grade="B/C",
            use="calibration",
        ),
    ]


def _ublituximab(catalog: Catalog) -> list[Row]:
    schedule = schedule_at(["ublituximab-150-day1"], [0.0], catalog)
    r = simulate("ublituximab", schedule, end_day=14.0, n_patients=POPULATION, seed=SEED)
    b0 = ANTI_CD20_BCELL.value("B0")
    pop_effect = None if r.population is None else r.population.effect_percentiles
    if r.typical.effect is None or pop_effect is None:  # pragma: no cover
        raise RuntimeError("B-cell model without cell counts")
    reduction = 100.0 * (1.0 - r.typical.effect[0, -1] / b0)
    pop = 100.0 * (1.0 - pop_effect[50.0][-1] / b0)
    half = terminal_half_life_day(0.200, 3.61, 0.747, 2.75)
    return [
        Row(
            drug="ublituximab",
            quantity="CD19 reduction 14 days after 150 mg (%)",
            target="97",
            target_value=97.0,
            typical=reduction,
            population=f"median {pop:.3g}",
            kind="pp",
            tolerance=10.0,
            grade="A",
        ),
        Row(
            drug="ublituximab",
            quantity="terminal half-life (day), placeholder PK",
            target="22",
            target_value=22.0,
            typical=half,
            population="-",
            kind="rel",
            tolerance=0.20,
            grade="C",
        ),
    ]


def _natalizumab(catalog: Catalog) -> list[Row]:
    q4 = schedule_at(["natalizumab-300"] * 20, [28.0 * k for k in range(20)], catalog)
    q6 = schedule_at(["natalizumab-300"] * 14, [42.0 * k for k in range(14)], catalog)
    r4 = simulate("natalizumab", q4, end_day=28.0 * 20, n_patients=POPULATION, seed=SEED)
    r6 = simulate("natalizumab", q6, end_day=42.0 * 14, n_patients=POPULATION, seed=SEED)
    pop6 = band(population_stats(r6).trough[:, -1])
    t4, t6 = r4.typical_stats, r6.typical_stats
    trough4, trough6 = float(t4.trough[0, -1]), float(t6.trough[0, -1])
    sat = NATALIZUMAB_SATURATION
    at_trough = float(saturation(np.array([trough4]), sat)[0])
    at_2 = float(saturation(np.array([2.0]), sat)[0])
    return [
        Row(
            drug="natalizumab",
            quantity="steady-state Cmax q4w (ug/mL)",
            target="110 +- 52",
            target_value=110.0,
            typical=float(t4.cmax[0, -1]),
            population=band(population_stats(r4).cmax[:, -1]),
            kind="rel",
            tolerance=0.20,
            grade="A",
        ),
        Row(
            drug="natalizumab",
            quantity="steady-state trough q4w (ug/mL)",
            target="23-29",
            target_value=26.0,
            typical=trough4,
            population=band(population_stats(r4).trough[:, -1]),
            kind="rel",
            tolerance=0.20,
            grade="A",
        ),
        Row(
            drug="natalizumab",
            quantity="trough reduction q6w vs q4w (%)",
            target="60-70",
            target_value=65.0,
            typical=100.0 * (1 - trough6 / trough4),
            population="-",
            kind="pp",
            tolerance=10.0,
            grade="A",
        ),
        # Published extended-interval troughs (not in the dossier's targets table):
        # NOVA Q6W arm 10-21 ug/mL vs Q4W 33-38 (Neurol Neuroimmunol Neuroinflamm 2024, PMID
        # 39393045, https://pubmed.ncbi.nlm.nih.gov/39393045/, read through its abstract and
        # https://globalneurologyacademy.org/programs/neurofrontiers/Reevaluating-Natalizumab-Dosing-in-RRMS-Insights-from-the-NOVA-Trial/36359);
        # real-world EID (intervals ~5-8 weeks) mean 18.2 ug/mL vs SID 35.7 (PMID 30939392).
        Row(
            drug="natalizumab",
            quantity="steady-state trough q6w (ug/mL), NOVA Q6W arm",
            target="10-21",
            target_value=15.5,
            typical=trough6,
            population=pop6,
            kind="rel",
            tolerance=0.20,
            grade="B",
        ),
        Row(
            drug="natalizumab",
            quantity="trough on extended-interval dosing (ug/mL), real-world mean",
            target="18.2 (EID ~5-8 w)",
            target_value=18.2,
            typical=trough6,
            population=pop6,
            kind="rel",
            tolerance=0.20,
            grade="B",
        ),
        # The same NOVA arms as a ratio (midpoints 15.5 / 35.5), which cancels the assay and
        # population offset that puts both NOVA arms above the label's q4w 23-29 ug/mL.
        Row(
            drug="natalizumab",
            quantity="trough ratio q6w / q4w, NOVA arms (midpoints)",
            target="0.44 (15.5 / 35.5)",
            target_value=15.5 / 35.5,
            typical=trough6 / trough4,
            population="-",
            kind="rel",
            tolerance=0.20,
            grade="B",
        ),
        Row(
            drug="natalizumab",
            quantity="apparent half-life over the interval (day)",
            target="11 +- 4 (NCA)",
            target_value=11.0,
            typical=r4.terminal_half_life_day,
            population="-",
            kind="rel",
            tolerance=0.20,
            grade="A",
        ),
        Row(
            drug="natalizumab",
            quantity="linear-phase half-life, CL only (day)",
            target="28.2",
            target_value=28.2,
            typical=terminal_half_life_day(0.164, 3.49, 0.40, 3.47),
            population="-",
            kind="rel",
            tolerance=0.20,
            grade="A",
        ),
        Row(
            drug="natalizumab",
            quantity="CL change at -43 % body weight (%)",
            target="-33",
            target_value=-33.0,
            typical=100.0 * (0.57**0.60 - 1),
            population="-",
            kind="pp",
            tolerance=10.0,
            grade="A",
        ),
        Row(
            drug="natalizumab",
            quantity="CL change at +43 % body weight (%)",
            target="+30",
            target_value=30.0,
            typical=100.0 * (1.43**0.60 - 1),
            population="-",
            kind="pp",
            tolerance=10.0,
            grade="A",
        ),
        Row(
            drug="natalizumab",
            quantity="alpha-4 saturation at the model's q4w trough (%)",
            target="87.4",
            target_value=87.4,
            typical=at_trough,
            population="-",
            kind="pp",
            tolerance=10.0,
            grade="B",
            use="calibration (at 36 ug/mL)",
        ),
        Row(
            drug="natalizumab",
            quantity="alpha-4 saturation at 2 ug/mL (%)",
            target="~50",
            target_value=50.0,
            typical=at_2,
            population="-",
            kind="pp",
            tolerance=10.0,
            grade="B",
        ),
    ]


def validation_rows(catalog: Catalog) -> list[Row]:
    """Every row of the table, each drug's regimens built from ``catalog``'s protocols."""
    return [
        *_ocrelizumab(catalog),
        *_repletion(catalog),
        *_ublituximab(catalog),
        *_natalizumab(catalog),
        *alemtuzumab_rows(catalog),
    ]


if __name__ == "__main__":  # pragma: no cover - the table's generator, run by hand
    import sys
    from pathlib import Path

    from msinfusion.catalog.registry import shipped_catalog

    table_rows = validation_rows(shipped_catalog())
    # ``--changes-from OLD.md``: the before -> after table against an earlier generated table
    if len(sys.argv) == 3 and sys.argv[1] == "--changes-from":
        print(change_table(Path(sys.argv[2]).read_text(encoding="utf-8"), table_rows), end="")
    else:
        print(markdown_table(table_rows), end="")
