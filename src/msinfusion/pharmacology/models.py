"""The drug models: parameter sets, covariates, interindividual variability, one simulation call.

``simulate_patients(model, schedule, grid_day, patients)`` returns concentrations (ug/mL = mg/L),
the cumulative AUC and, where the model has one, the effect (B cells, alpha-4 saturation) for
every patient on the grid. Parameters are ``P_i = P_typ * (WT/WT_ref)^theta * exp(eta_i)`` with
``eta ~ N(0, omega^2)`` (dossier §0); a seeded ``numpy.random.Generator`` makes runs reproducible.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from msinfusion.errors import UnknownModel
from msinfusion.pharmacology import parameters as par
from msinfusion.pharmacology.dosing import HOURS_PER_DAY, InfusionSchedule
from msinfusion.pharmacology.linear import TwoCompartment, propagate
from msinfusion.pharmacology.lymphocytes import (
    ALEMTUZUMAB_SUBSETS,
    individual_rates,
    subset_courses,
)
from msinfusion.pharmacology.nonlinear import MichaelisMenten2C, propagate_mm
from msinfusion.pharmacology.pd import (
    ANTI_CD20_BCELL,
    NATALIZUMAB_SATURATION,
    alpha4_saturation_pct,
    bcell_course,
)

Array = NDArray[np.float64]


class Effect(enum.Enum):
    NONE = "none"
    B_CELLS = "b_cells_per_ul"
    ALPHA4_SATURATION = "alpha4_saturation_pct"
    LYMPHOCYTE_SUBSETS = "lymphocyte_subsets_pct_of_baseline"


@dataclass(frozen=True, slots=True, kw_only=True)
class DrugModel:
    therapy_id: str
    pk: par.ParameterSet
    nonlinear: bool
    effect: Effect
    notes: tuple[str, ...] = ()

    def placeholders(self) -> tuple[str, ...]:
        names = [f"pk.{n}" for n in self.pk.placeholders()]
        pd = _PD.get(self.effect)
        if pd is not None:
            names += [f"pd.{n}" for n in pd.placeholders()]
        return tuple(names)


_PD: Mapping[Effect, par.ParameterSet] = {
    Effect.B_CELLS: ANTI_CD20_BCELL,
    Effect.ALPHA4_SATURATION: NATALIZUMAB_SATURATION,
    Effect.LYMPHOCYTE_SUBSETS: ALEMTUZUMAB_SUBSETS,
}

MODELS: Mapping[str, DrugModel] = {
    "ocrelizumab": DrugModel(
        therapy_id="ocrelizumab", pk=par.OCRELIZUMAB, nonlinear=False, effect=Effect.B_CELLS
    ),
    "ublituximab": DrugModel(
        therapy_id="ublituximab",
        pk=par.UBLITUXIMAB,
        nonlinear=False,
        effect=Effect.B_CELLS,
        notes=("PK values are the generic IgG1 placeholder (dossier §4.2).",),
    ),
    "rituximab": DrugModel(
        therapy_id="rituximab",
        pk=par.RITUXIMAB,
        nonlinear=False,
        effect=Effect.B_CELLS,
        notes=("RA surrogate population (Ng 2006); Q and V2 are placeholders (dossier §5.2).",),
    ),
    "natalizumab": DrugModel(
        therapy_id="natalizumab",
        pk=par.NATALIZUMAB,
        nonlinear=True,
        effect=Effect.ALPHA4_SATURATION,
        notes=("No lymphocyte-count model: the dossier has none (§2.4), so none is simulated.",),
    ),
    "alemtuzumab": DrugModel(
        therapy_id="alemtuzumab",
        pk=par.ALEMTUZUMAB,
        nonlinear=False,
        effect=Effect.LYMPHOCYTE_SUBSETS,
        notes=(
            "Label-level one-compartment PK (dossier §3.2), no lymphocyte-dependent clearance.",
            "Lymphocyte subsets (B, CD4, CD8) in % of the patient's baseline (no baselines in "
            "the dossier); LLN = 50 % of baseline is a placeholder; T-cell rates calibrated to "
            "one course (lymphocytes.py). B cells are driven by BAFF (baff.py, Thompson 2010; "
            "BAFF rate calibrated to B back to baseline at month 3); the mechanism overshoots "
            "by at most ~20 %, so B cells at 165 % at 12 months are not reproduced.",
        ),
    ),
}


def get_model(therapy_id: str) -> DrugModel:
    try:
        return MODELS[therapy_id.lower()]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise UnknownModel(
            f"no pharmacology model for '{therapy_id}' (known: {known})", field="therapy"
        ) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Patients:
    """N virtual patients: covariates and log-normal random effects per parameter."""

    weight_kg: Array
    ada_positive: Array
    eta: Mapping[str, Array]

    @property
    def size(self) -> int:
        return int(self.weight_kg.shape[0])


def typical_patients(n: int = 1, *, weight_kg: float | None = None, ada: bool = False) -> Patients:
    weight = np.full(n, np.nan if weight_kg is None else float(weight_kg))
    return Patients(weight_kg=weight, ada_positive=np.full(n, ada), eta={})


def sample_patients(
    model: DrugModel,
    n: int,
    rng: np.random.Generator,
    *,
    weight_kg: float | None = None,
    ada: bool = False,
) -> Patients:
    """Draw eta for every PK and PD variance of ``model`` (fixed order, so seeds reproduce)."""
    eta: dict[str, Array] = {}
    for name, omega2 in model.pk.omega2.items():
        eta[f"pk.{name}"] = rng.normal(0.0, np.sqrt(omega2.value), n)
    pd = _PD.get(model.effect)
    if pd is not None:
        for name, omega2 in pd.omega2.items():
            eta[f"pd.{name}"] = rng.normal(0.0, np.sqrt(omega2.value), n)
    base = typical_patients(n, weight_kg=weight_kg, ada=ada)
    return Patients(weight_kg=base.weight_kg, ada_positive=base.ada_positive, eta=eta)


def individual(model: DrugModel, patients: Patients, name: str) -> Array:
    """Parameter ``name`` for every patient: typical x weight effect x exp(eta)."""
    pk = model.pk
    value = np.full(patients.size, pk.value(name))
    exponent = pk.typical.get(f"WT_{name}")
    if exponent is not None:
        ratio = np.where(np.isnan(patients.weight_kg), 1.0, patients.weight_kg / pk.value("WT_ref"))
        value = value * ratio**exponent.value
    eta = patients.eta.get(f"pk.{name}")
    return value if eta is None else value * np.exp(eta)


def two_compartment(model: DrugModel, patients: Patients) -> TwoCompartment:
    n = patients.size
    pk = model.pk.typical
    zeros = np.zeros(n)
    q = individual(model, patients, "Q") if "Q" in pk else zeros
    v2 = individual(model, patients, "V2") if "V2" in pk else np.ones(n)
    clt0 = individual(model, patients, "CLT0") if "CLT0" in pk else zeros
    kdes = np.full(n, model.pk.value("kdes")) if "kdes" in pk else zeros
    return TwoCompartment(
        CL=individual(model, patients, "CL"),
        V1=individual(model, patients, "V1"),
        Q=q,
        V2=v2,
        CLT0=clt0,
        kdes=kdes,
    )


def michaelis_menten(model: DrugModel, patients: Patients) -> MichaelisMenten2C:
    ada = np.where(patients.ada_positive, model.pk.value("ADA_CL"), 1.0)
    return MichaelisMenten2C(
        CL=individual(model, patients, "CL") * ada,
        V1=individual(model, patients, "V1"),
        Q=individual(model, patients, "Q"),
        V2=individual(model, patients, "V2"),
        Vmax=individual(model, patients, "Vmax"),
        Km=individual(model, patients, "Km"),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Course:
    """Time courses for N patients on ``grid_day``: arrays of shape (N, T)."""

    grid_day: Array
    conc_ug_per_ml: Array
    cum_auc_ug_day_per_ml: Array
    effect: Array | None
    effect_kind: Effect
    subsets_pct_of_baseline: Mapping[str, Array] | None = None


def rates_on_grid(schedule: InfusionSchedule, grid_day: Array) -> Array:
    """Rate (mg/h) on each [grid[m], grid[m+1]); exact when the grid holds every breakpoint."""
    mids = 0.5 * (grid_day[1:] + grid_day[:-1])
    rates = np.zeros(mids.shape[0])
    for seg in schedule.segments:
        rates[(mids >= seg.start_day) & (mids < seg.end_day)] = seg.rate_mg_per_h
    return rates


def simulation_grid(schedule: InfusionSchedule, end_day: float, step_day: float = 1.0) -> Array:
    """Regular points every ``step_day`` from 0 to ``end_day`` plus every rate change."""
    regular = np.arange(0.0, end_day + 1e-9, step_day)
    points = np.concatenate([regular, np.asarray(schedule.breakpoints_day())])
    points = points[(points >= 0.0) & (points <= end_day)]
    return np.unique(np.concatenate([points, [end_day]]))


def simulate_patients(
    model: DrugModel, schedule: InfusionSchedule, grid_day: Array, patients: Patients
) -> Course:
    rates = rates_on_grid(schedule, grid_day)
    if model.nonlinear:
        mm = michaelis_menten(model, patients)
        states = propagate_mm(mm, grid_day, rates)
        conc = states[:, :, 0] / mm.V1[:, None]
        cum_auc = states[:, :, 2]
    else:
        tc = two_compartment(model, patients)
        amounts = propagate(tc, grid_day, rates)
        conc = amounts[:, :, 0] / tc.V1[:, None]
        cum_auc = linear_auc(tc, grid_day, rates, amounts)
    subsets = None
    if model.effect is Effect.LYMPHOCYTE_SUBSETS:
        subsets = subset_courses(
            grid_day,
            cum_auc,
            individual_rates(patients.eta, patients.size),
            ALEMTUZUMAB_SUBSETS.value("kkill"),
        )
    return Course(
        grid_day=grid_day,
        conc_ug_per_ml=conc,
        cum_auc_ug_day_per_ml=cum_auc,
        effect=_effect(model, patients, grid_day, conc),
        effect_kind=model.effect,
        subsets_pct_of_baseline=subsets,
    )


def linear_auc(tc: TwoCompartment, grid: Array, rates: Array, amounts: Array) -> Array:
    """Cumulative AUC by mass balance: per step, (dose in - change in body amount) / CL.

    Exact for constant clearance; with a decaying clearance the step-average CL is used
    (relative error below 1e-7 on a one-day grid).
    """
    h = np.diff(grid)
    given = (rates * HOURS_PER_DAY * h)[None, :]
    body = amounts.sum(axis=2)
    mid = 0.5 * (grid[1:] + grid[:-1])
    clearance = tc.CL[:, None] if tc.is_time_invariant() else tc.clearance_at(mid)
    step = (given - np.diff(body, axis=1)) / clearance
    return np.concatenate([np.zeros((tc.size, 1)), np.cumsum(step, axis=1)], axis=1)


def _effect(model: DrugModel, patients: Patients, grid: Array, conc: Array) -> Array | None:
    if model.effect is Effect.ALPHA4_SATURATION:
        return alpha4_saturation_pct(conc, NATALIZUMAB_SATURATION)
    if model.effect is Effect.B_CELLS:
        pd = ANTI_CD20_BCELL
        n = patients.size
        emax = np.full(n, pd.value("Emax")) * np.exp(patients.eta.get("pd.Emax", np.zeros(n)))
        kout = np.full(n, pd.value("kout")) * np.exp(patients.eta.get("pd.kout", np.zeros(n)))
        return bcell_course(
            grid,
            conc,
            b0=np.full(n, pd.value("B0")),
            kout=kout,
            emax=emax,
            ec50=pd.value("EC50"),
            hill=pd.value("hill"),
        )
    return None


def simulate_grid_concentration(
    model: DrugModel,
    schedule: InfusionSchedule,
    end_day: float,
    *,
    step_day: float = 1.0,
    patients: Patients | None = None,
) -> tuple[Array, Array]:
    """Grid and concentrations (N, T) only, for the typical patient unless ``patients``."""
    grid = simulation_grid(schedule, end_day, step_day)
    who = typical_patients() if patients is None else patients
    course = simulate_patients(model, schedule, grid, who)
    return grid, course.conc_ug_per_ml
