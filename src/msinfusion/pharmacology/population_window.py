"""Resumable simulation of a chunk of virtual patients, one time window after another.

A population streamed over time keeps, per chunk of patients, only the state at the end of the
last window (amounts, cumulative AUC, B cells or lymphocyte subsets: a few numbers per patient),
so memory does not grow with the simulated years. Each window is simulated by the same
exact-step kernels as a whole course (``linear.propagate``, ``nonlinear.propagate_mm``,
``pd.relax_steps``) started from that state; ``tests/unit/pharmacology/test_population_stream.py``
checks that windows joined end to end equal ``models.simulate_patients`` on the whole grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from msinfusion.pharmacology.linear import TwoCompartment, propagate
from msinfusion.pharmacology.lymphocytes import (
    ALEMTUZUMAB_SUBSETS,
    BASELINE_PCT,
    individual_rates,
    reconstitute,
)
from msinfusion.pharmacology.models import (
    Course,
    DrugModel,
    Effect,
    Patients,
    linear_auc,
    michaelis_menten,
    two_compartment,
)
from msinfusion.pharmacology.nonlinear import MichaelisMenten2C, propagate_mm
from msinfusion.pharmacology.pd import (
    ANTI_CD20_BCELL,
    NATALIZUMAB_SATURATION,
    alpha4_saturation_pct,
    relax_steps,
)

Array = NDArray[np.float64]


def window_bounds(n_points: int, window: int) -> list[tuple[int, int]]:
    """Index ranges ``[first, last]`` covering ``0..n_points-1``; neighbours share one point,
    so every grid step lies in exactly one window.

    >>> window_bounds(7, 3)
    [(0, 2), (2, 4), (4, 6)]
    >>> window_bounds(1, 3)
    [(0, 0)]
    """
    if window < 2:
        raise ValueError(f"window: {window} points cannot hold a step; give 2 or more")
    bounds, first = [], 0
    while first < n_points - 1:
        last = min(first + window - 1, n_points - 1)
        bounds.append((first, last))
        first = last
    return bounds or [(0, 0)]


@dataclass(slots=True, kw_only=True)
class ChunkState:
    """One chunk's patients and their state at the first point of the next window."""

    model: DrugModel
    patients: Patients
    linear: TwoCompartment | None
    mm: MichaelisMenten2C | None
    amounts: Array  # (N, 2) linear, (N, 3) Michaelis-Menten (A1, A2, AUC)
    cum_auc: Array  # (N,)
    b_cells: Array | None
    subsets: dict[str, Array] | None
    baff_pct: Array | None = None


def start_chunk(model: DrugModel, patients: Patients) -> ChunkState:
    """The state at day 0: nothing in the body, B cells and subsets at baseline."""
    n = patients.size
    linear = None if model.nonlinear else two_compartment(model, patients)
    mm = michaelis_menten(model, patients) if model.nonlinear else None
    b_cells = np.full(n, ANTI_CD20_BCELL.value("B0")) if model.effect is Effect.B_CELLS else None
    subsets = (
        {s: np.full(n, BASELINE_PCT) for s in individual_rates(patients.eta, n)}
        if model.effect is Effect.LYMPHOCYTE_SUBSETS
        else None
    )
    return ChunkState(
        model=model,
        patients=patients,
        linear=linear,
        mm=mm,
        amounts=np.zeros((n, 3 if model.nonlinear else 2)),
        cum_auc=np.zeros(n),
        b_cells=b_cells,
        subsets=subsets,
        baff_pct=None if subsets is None else np.full(n, BASELINE_PCT),
    )


def simulate_window(state: ChunkState, grid_day: Array, rate_mg_per_h: Array) -> Course:
    """The chunk's course on ``grid_day`` (which starts where the last window ended); ``state``
    is advanced to the window's last point. ``rate_mg_per_h[m]`` is the rate on step m."""
    if state.mm is not None:
        states = propagate_mm(state.mm, grid_day, rate_mg_per_h, y0=state.amounts)
        conc = states[:, :, 0] / state.mm.V1[:, None]
        cum = states[:, :, 2]
        state.amounts = states[:, -1, :].copy()
    else:
        assert state.linear is not None
        amounts = propagate(state.linear, grid_day, rate_mg_per_h, state.amounts)
        conc = amounts[:, :, 0] / state.linear.V1[:, None]
        cum = linear_auc(state.linear, grid_day, rate_mg_per_h, amounts) + state.cum_auc[:, None]
        state.amounts = amounts[:, -1, :].copy()
    state.cum_auc = cum[:, -1].copy()
    return Course(
        grid_day=grid_day,
        conc_ug_per_ml=conc,
        cum_auc_ug_day_per_ml=cum,
        effect=_effect(state, grid_day, conc),
        effect_kind=state.model.effect,
        subsets_pct_of_baseline=_subsets(state, grid_day, cum),
    )


def _effect(state: ChunkState, grid: Array, conc: Array) -> Array | None:
    """The single-output effect; B cells follow ``pd.bcell_course`` from the carried state."""
    if state.model.effect is Effect.ALPHA4_SATURATION:
        return alpha4_saturation_pct(conc, NATALIZUMAB_SATURATION)
    if state.b_cells is None:
        return None
    pd, eta, n = ANTI_CD20_BCELL, state.patients.eta, state.patients.size
    emax = pd.value("Emax") * np.exp(eta.get("pd.Emax", np.zeros(n)))
    kout = pd.value("kout") * np.exp(eta.get("pd.kout", np.zeros(n)))
    c = np.maximum(conc, 0.0)
    ratio = np.power(np.sqrt(c[:, 1:] * c[:, :-1]) / pd.value("EC50"), pd.value("hill"))
    h = np.diff(grid)[None, :]
    loss = kout[:, None] * (1.0 + emax[:, None] * ratio / (1.0 + ratio)) * h
    production = kout[:, None] * pd.value("B0") * h
    values = relax_steps(state.b_cells, loss, production)
    state.b_cells = values[:, -1].copy()
    return values


def _subsets(state: ChunkState, grid: Array, cum: Array) -> dict[str, Array] | None:
    """Subsets as ``lymphocytes.subset_courses``, from the carried state (BAFF included)."""
    if state.subsets is None:
        return None
    out, baff = reconstitute(
        grid,
        cum,
        individual_rates(state.patients.eta, state.patients.size),
        ALEMTUZUMAB_SUBSETS.value("kkill"),
        start_pct=state.subsets,
        start_baff_pct=state.baff_pct,
        record_baff=False,
    )
    state.subsets = {name: v[:, -1].copy() for name, v in out.items()}
    state.baff_pct = baff[:, -1].copy()
    return out
