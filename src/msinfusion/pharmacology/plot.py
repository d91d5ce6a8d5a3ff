"""Plots of a simulation report (matplotlib, Agg backend, imported only when a plot is drawn).

Top panel: concentration of the typical patient and, for a population, its median with the
5th-95th percentile band (log scale). Bottom panel: the effect (B cells or alpha-4 saturation)
the same way. The file type follows the suffix (.png or .svg).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from msinfusion.errors import PharmacologyError
from msinfusion.pharmacology.lymphocytes import ALEMTUZUMAB_SUBSETS, BASELINE_PCT, SUBSET_LABELS
from msinfusion.pharmacology.report import SimulationReport

_SUFFIXES = {".png", ".svg"}
_EFFECT_LABELS = {
    "b_cells_per_ul": "CD19 B cells (cells/uL)",
    "alpha4_saturation_pct": "alpha-4 integrin saturation (%)",
}


def _subset_panel(ax: Any, report: SimulationReport) -> None:
    """B, CD4 and CD8 in % of baseline: typical lines, population 5th-95th bands, the LLN."""
    grid = report.typical.grid_day
    bands = None if report.population is None else report.population.subset_percentiles
    for i, (name, values) in enumerate((report.typical.subsets_pct_of_baseline or {}).items()):
        color = f"C{i + 2}"
        ax.plot(grid, values[0], color=color, label=f"{SUBSET_LABELS[name]} (typical)")
        if bands is not None and report.population is not None:
            pop_grid = report.population.grid_day
            ax.fill_between(pop_grid, bands[name][5.0], bands[name][95.0], color=color, alpha=0.15)
    lln = BASELINE_PCT * ALEMTUZUMAB_SUBSETS.value("lln_fraction")
    ax.axhline(lln, color="gray", lw=0.8, ls="--", label=f"LLN {lln:g} % (placeholder)")
    ax.set_ylabel("% of baseline")
    ax.legend(loc="lower right", fontsize=7)


def save_plot(report: SimulationReport, path: Path) -> Path:
    if path.suffix.lower() not in _SUFFIXES:
        raise PharmacologyError(
            f"plot file must end in .png or .svg, not '{path.suffix}'", field="plot"
        )
    import matplotlib  # noqa: PLC0415 - lazy: only when a plot is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - lazy, after selecting Agg

    subsets = report.typical.subsets_pct_of_baseline
    has_effect = report.typical.effect is not None or subsets is not None
    fig, axes = plt.subplots(
        2 if has_effect else 1, 1, figsize=(9, 6 if has_effect else 3.5), sharex=True, squeeze=False
    )
    grid = report.typical.grid_day
    conc_ax = axes[0][0]
    conc_ax.plot(grid, report.typical.conc_ug_per_ml[0], color="C0", label="typical patient")
    pop = report.population
    if pop is not None:
        conc_ax.fill_between(
            pop.grid_day,
            pop.conc_percentiles[5.0],
            pop.conc_percentiles[95.0],
            color="C0",
            alpha=0.2,
            label="5th-95th percentile",
        )
        conc_ax.plot(pop.grid_day, pop.conc_percentiles[50.0], color="C1", lw=1, label="median")
    conc_ax.set_yscale("log")
    conc_ax.set_ylim(bottom=1e-2)
    conc_ax.set_ylabel("concentration (ug/mL)")
    conc_ax.set_title(f"{report.model.therapy_id}: {report.model.pk.model_id}")
    conc_ax.legend(loc="lower left", fontsize=8)
    if has_effect and report.typical.effect is not None:
        eff_ax = axes[1][0]
        eff_ax.plot(grid, report.typical.effect[0], color="C2", label="typical patient")
        if pop is not None and pop.effect_percentiles is not None:
            band = pop.effect_percentiles
            eff_ax.fill_between(pop.grid_day, band[5.0], band[95.0], color="C2", alpha=0.2)
            eff_ax.plot(pop.grid_day, band[50.0], color="C3", lw=1, label="median")
        eff_ax.set_ylabel(_EFFECT_LABELS.get(report.model.effect.value, "effect"))
        eff_ax.legend(loc="lower left", fontsize=8)
    if subsets is not None:
        _subset_panel(axes[1][0], report)
    axes[-1][0].set_xlabel("day")
    if report.model.placeholders():
        fig.text(
            0.01,
            0.005,
            "contains placeholder parameters: " + ", ".join(report.model.placeholders())[:160],
            fontsize=6,
            color="gray",
        )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
