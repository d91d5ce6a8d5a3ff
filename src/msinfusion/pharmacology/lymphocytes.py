"""Alemtuzumab lymphocyte subsets (CD19 B, CD4 T, CD8 T): depletion and reconstitution.

Structure, driven by the alemtuzumab concentration C of §3.2; counts in % of the patient's own
baseline (N0 = 100 %: the dossier gives no baseline counts, so absolute cells/uL are not
simulated)::

    CD4, CD8:  dN_s/dt = k_s*N0_s - k_s*N_s - kkill*C(t)*N_s       (dossier §3.3, gamma = 0)
    B:         dB/dt   = kB*(B0*F - B/F) - kkill*C(t)*B            (baff.py: BAFF-driven)
               dF/dt   = kF*(1 - F*B/B0)                           (F = BAFF / baseline)

Why this structure and not more:

- The dossier's template is ``kprod0 (N0/N)^gamma - kdeath N - kkill(C) N``. For one pool the
  recovery after wash-out, ``dx/dt = kdeath (x^-gamma - x)``, is monotone for every gamma, so
  the homeostatic exponent cannot produce the B-cell overshoot (165 % at 12 months); with one
  recovery target per subset gamma and kdeath are not separately identifiable. So the T-cell
  subsets keep gamma = 0 and one reconstitution rate ``k_s`` each, calibrated to the targets
  table's times to LLN (20 / 35 months, Hill-Cawthorne 2012, "calibration of reconstitution
  speeds").
- B cells get the second state the overshoot needs: BAFF (Thompson 2010, see ``baff.py``).
  ``kB`` is the dossier's B-cell turnover (anti-CD20 template, §1.5 item 1) and only the BAFF
  rate ``kF`` is calibrated (to "back to baseline by 3 months"); 165 % at month 12, the B-cell
  time to LLN (7.1 months) and BAFF at month 12 are held out and validated.
- Killing is proportional to concentration (``kkill*C``, the low-concentration limit of the
  template's ``Kmax C/(KC50 + C)``): neither Kmax nor KC50 is published, and one potency is all
  the data can set. ``kkill`` is shared by the subsets (one drug, one target, CD52) and calibrated
  to the label's CD4 means (40 cells/uL at month 1, 270 at month 12: a ratio of 6.75, which does
  not need the unknown baseline).
- The PK is the label-level one-compartment model; its lymphocyte-dependent clearance (§3.2) has
  no parameters in the dossier, so PK does not feed back on the counts.

Numerics: on each grid step the kill ``kkill*C`` is integrated exactly through the step's AUC
(the exact AUC of the linear PK). The T-cell equations are linear and solved in closed form for
the whole window at once (``pd.relax_in_place``); B cells and BAFF are stepped by exact sub-flows
(``baff.baff_b_cells``), so depletion during 4-hour infusions needs no fine grid.

>>> grid = np.array([0.0, 1.0, 2.0])
>>> courses, baff = reconstitute(grid, np.zeros((1, 3)), individual_rates({}, 1),
...                              CALIBRATED_KKILL_L_PER_MG_DAY)
>>> [courses[s].round(9).tolist() for s in SUBSETS]   # no drug: baseline throughout
[[[100.0, 100.0, 100.0]], [[100.0, 100.0, 100.0]], [[100.0, 100.0, 100.0]]]
>>> baff.round(9).tolist()
[[100.0, 100.0, 100.0]]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from msinfusion.pharmacology.baff import baff_b_cells
from msinfusion.pharmacology.parameters import Parameter, ParameterSet, omega2_from_cv
from msinfusion.pharmacology.pd import relax_in_place, time_to_threshold_day

Array = NDArray[np.float64]
_DOSSIER = "/work/shared/reference/pkpd-models.md"
SUBSETS = ("B", "CD4", "CD8")
SUBSET_LABELS = MappingProxyType({"B": "CD19 B cells", "CD4": "CD4 T cells", "CD8": "CD8 T cells"})
BASELINE_PCT = 100.0
DAYS_PER_MONTH = 365.25 / 12.0
# Doses more than this apart belong to different courses (courses are >= 12 months apart;
# a missed day is appended to its course, dossier §3.2 / catalog note).
COURSE_GAP_DAY = 30.0
REPORT_MONTHS = (1.0, 3.0, 6.0, 12.0, 24.0, 30.0)

# Calibrated by ``calibration.calibrate_lymphocyte_rates()`` (typical patient, one course of
# 12 mg x 5 days): kkill so that CD4(month 12) / CD4(month 1) = 270/40 (US label 12.2 means,
# dossier §3.3), each k_s so that the subset first reaches LLN 20 (CD8) and 35 (CD4) months
# after the course start (targets table, Hill-Cawthorne 2012, grade A). A unit test fails when
# these constants no longer reproduce the targets.
CALIBRATED_KKILL_L_PER_MG_DAY = 0.14007796140320636
CALIBRATED_K_PER_DAY = MappingProxyType(
    {"CD4": 0.0006399401993939785, "CD8": 0.0011321243318171614}
)
# B-cell turnover: the anti-CD20 template's kout (Yu 2022 ofatumumab, nlmixr2lib
# Yu_2022_ofatumumab.R; dossier §1.5 item 1, grade B), IIV SD(log) 0.922 from the same source.
B_TURNOVER_PER_DAY = 0.0124
B_TURNOVER_OMEGA = 0.922
# BAFF rate kF: calibrated to "B cells back to baseline by 3 months" (B = 100 % at month 3,
# Thompson 2010, https://www.ncbi.nlm.nih.gov/pubmed/19763798) by
# ``calibration.calibrate_baff_rate()`` (typical patient, one course of 12 mg x 5 days).
# Not a published number.
CALIBRATED_BAFF_K_PER_DAY = 0.015568030770829506

# LLN as a fraction of baseline: the dossier gives no subset LLNs or baselines; the same interim
# choice as the anti-CD20 repletion threshold (``pd.REPLETION_FRACTION_OF_B0``). Placeholder.
LLN_FRACTION_OF_BASELINE = 0.5


def _p(value: float, unit: str, grade: str, where: str, note: str) -> Parameter:
    return Parameter(
        value=value,
        unit=unit,
        grade=grade,
        source=f"{_DOSSIER} {where}",
        note=note,
        is_placeholder=grade in {"placeholder", "calibrated"},
    )


_TARGET_MONTHS = {"CD4": 35.0, "CD8": 20.0}
_IIV_NOTE = (
    "no IIV published for reconstitution; the dossier's alemtuzumab IIV placeholder "
    "(30-40 % CV on CL and V, §3.2) reused at 35 % CV"
)
_THOMPSON = "Thompson 2010, https://www.ncbi.nlm.nih.gov/pubmed/19763798"
_HILL_CAWTHORNE = (
    "Hill-Cawthorne 2012, https://academia.kaust.edu.sa/en/publications/"
    "long-term-lymphocyte-reconstitution-after-alemtuzumab-treatment-o"
)

ALEMTUZUMAB_SUBSETS = ParameterSet(
    model_id="alemtuzumab_subsets_linear_T_cells_baff_driven_B_cells",
    typical=MappingProxyType(
        {
            "kkill": _p(
                CALIBRATED_KKILL_L_PER_MG_DAY,
                "L/mg/day",
                "calibrated",
                "§3.3; calibrated to US label 12.2 CD4 40 -> 270 cells/uL (month 1 -> 12), "
                "https://ptmasterguide.com/2022/03/19/alemtuzumab-mechanism-of-action/",
                "drug-driven lysis per unit concentration, shared by B, CD4 and CD8",
            ),
            "k_B": _p(
                B_TURNOVER_PER_DAY,
                "1/day",
                "B",
                "§1.5 item 1 (Yu 2022 ofatumumab kout, anti-CD20 template)",
                "B-cell turnover at baseline BAFF; the template's value reused for alemtuzumab",
            ),
            "k_BAFF": _p(
                CALIBRATED_BAFF_K_PER_DAY,
                "1/day",
                "calibrated",
                f"calibrated to B cells back to baseline (100 %) at month 3, {_THOMPSON}",
                "BAFF production/uptake rate (baff.py); no published value",
            ),
            **{
                f"k_{s}": _p(
                    CALIBRATED_K_PER_DAY[s],
                    "1/day",
                    "calibrated",
                    f"targets table; calibrated to {s} at LLN {_TARGET_MONTHS[s]} months after "
                    f"one course, {_HILL_CAWTHORNE}",
                    "reconstitution (= turnover) rate; single course of 12 mg x 5 days",
                )
                for s in ("CD4", "CD8")
            },
            "lln_fraction": _p(
                LLN_FRACTION_OF_BASELINE,
                "1",
                "placeholder",
                "§3.3",
                "LLN as a fraction of baseline; no subset LLN or baseline in the dossier",
            ),
        }
    ),
    omega2=MappingProxyType(
        {
            "k_B": _p(
                B_TURNOVER_OMEGA**2, "1", "B", "§1.5 item 1 IIV SD(log) 0.922", "template's kout"
            ),
            **{
                f"k_{s}": _p(omega2_from_cv(35.0), "1", "placeholder", "§3.2 iiv", _IIV_NOTE)
                for s in ("CD4", "CD8")
            },
        }
    ),
)


def reconstitute(
    grid_day: Array,
    cum_auc_ug_day_per_ml: Array,
    rates_per_day: Mapping[str, Array],
    kkill_l_per_mg_day: float,
    *,
    start_pct: Mapping[str, Array] | None = None,
    start_baff_pct: Array | None = None,
    k_baff_per_day: float | None = None,
    record_baff: bool = True,
) -> tuple[dict[str, Array], Array]:
    """% of baseline of each subset, shape (N, T), and BAFF (% of baseline, (N, T); (N, 1),
    its last value, without ``record_baff``), from the cumulative AUC of C (mg*day/L).

    The subset named "B" follows the BAFF model; every other name the linear one. Starts at
    baseline unless ``start_pct``/``start_baff_pct`` (the state a window resumes from).
    """
    n, points = cum_auc_ug_day_per_ml.shape
    h = np.diff(grid_day)
    # time-major (T-1, N): every pass below runs down the time axis over all patients at once
    cum_t = cum_auc_ug_day_per_ml.T
    kill = np.subtract(cum_t[1:], cum_t[:-1], out=np.empty((points - 1, n)))
    kill *= kkill_l_per_mg_day
    starts = start_pct or {name: np.full(n, BASELINE_PCT) for name in rates_per_day}
    baff = np.full(n, BASELINE_PCT) if start_baff_pct is None else start_baff_pct
    kf = ALEMTUZUMAB_SUBSETS.value("k_BAFF") if k_baff_per_day is None else k_baff_per_day
    out: dict[str, Array] = {}
    linear = [name for name in rates_per_day if name != "B"]
    if linear:  # the linear subsets side by side in one pass: (T-1, N x subsets)
        width = n * len(linear)
        loss, production = np.empty((points - 1, width)), np.empty((points - 1, width))
        for j, name in enumerate(linear):
            block = slice(j * n, (j + 1) * n)
            np.multiply.outer(h, rates_per_day[name], out=production[:, block])
            np.add(production[:, block], kill, out=loss[:, block])
        production *= BASELINE_PCT
        start = np.concatenate([starts[name] for name in linear])
        values = relax_in_place(start, loss, production)
        out.update((name, values[:, j * n : (j + 1) * n].T) for j, name in enumerate(linear))
    if "B" in rates_per_day:
        out["B"], baff_out = baff_b_cells(
            starts["B"],
            baff,
            kill,
            h_day=h,
            k_b_per_day=rates_per_day["B"],
            k_baff_per_day=kf,
            record_baff=record_baff,
        )
    else:
        baff_out = np.full((n, points if record_baff else 1), np.nan)
    return {name: out[name] for name in rates_per_day}, baff_out


def subset_courses(
    grid_day: Array,
    cum_auc_ug_day_per_ml: Array,
    rates_per_day: Mapping[str, Array],
    kkill_l_per_mg_day: float,
) -> dict[str, Array]:
    """% of baseline of each subset, shape (N, T), from the cumulative AUC of C (mg*day/L)."""
    return reconstitute(grid_day, cum_auc_ug_day_per_ml, rates_per_day, kkill_l_per_mg_day)[0]


def individual_rates(eta: Mapping[str, Array], n: int) -> dict[str, Array]:
    """k_s of each patient: typical value x exp(eta) (eta of name ``pd.k_s``); B is kB."""
    params = ALEMTUZUMAB_SUBSETS
    return {s: params.value(f"k_{s}") * np.exp(eta.get(f"pd.k_{s}", np.zeros(n))) for s in SUBSETS}


def course_starts_day(dose_starts_day: tuple[float, ...], end_day: float) -> Array:
    """First dose of each course: doses more than ``COURSE_GAP_DAY`` apart start a new one."""
    starts = [d for d in dose_starts_day if d < end_day]
    firsts = [d for i, d in enumerate(starts) if i == 0 or d - starts[i - 1] > COURSE_GAP_DAY]
    return np.asarray(firsts, dtype=np.float64)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubsetStats:
    """Per subset, arrays of shape (N, courses) or (N, len(REPORT_MONTHS))."""

    course_start_day: Array
    nadir_pct: Mapping[str, Array]
    nadir_day_after_start: Mapping[str, Array]
    months_to_lln: Mapping[str, Array]
    pct_at_month: Mapping[str, Array]


def subset_stats(
    grid_day: Array, subsets_pct: Mapping[str, Array], dose_starts_day: tuple[float, ...]
) -> SubsetStats:
    """Nadir, its timing and the months to LLN after each course (NaN: not within the course
    window, i.e. before the next course or the end); % of baseline at ``REPORT_MONTHS``."""
    end = float(grid_day[-1])
    starts = course_starts_day(dose_starts_day, end)
    bounds = np.append(starts[1:], end)
    lln = BASELINE_PCT * ALEMTUZUMAB_SUBSETS.value("lln_fraction")
    nadir, nadir_day, to_lln, at_month = {}, {}, {}, {}
    for name, values in subsets_pct.items():
        n = values.shape[0]
        nadir[name], nadir_day[name], to_lln[name] = (np.empty((n, starts.size)) for _ in range(3))
        for j, (start, stop) in enumerate(zip(starts, bounds, strict=True)):
            sel = (grid_day >= start) & (grid_day <= stop)
            t, v = grid_day[sel], values[:, sel]
            low = v.argmin(axis=1)
            nadir[name][:, j] = v[np.arange(n), low]
            nadir_day[name][:, j] = t[low] - start
            days = time_to_threshold_day(t, v, np.full(n, lln), after_day=start)
            to_lln[name][:, j] = (days - start) / DAYS_PER_MONTH
        at_month[name] = np.stack(
            [values_at(grid_day, values, m * DAYS_PER_MONTH) for m in REPORT_MONTHS], axis=1
        )
    return SubsetStats(
        course_start_day=starts,
        nadir_pct=nadir,
        nadir_day_after_start=nadir_day,
        months_to_lln=to_lln,
        pct_at_month=at_month,
    )


def values_at(grid_day: Array, values: Array, day: float) -> Array:
    """Each row linearly interpolated at ``day``; NaN beyond the grid."""
    if not grid_day[0] <= day <= grid_day[-1]:
        return np.full(values.shape[0], math.nan)
    j = int(np.clip(np.searchsorted(grid_day, day, side="right") - 1, 0, grid_day.size - 2))
    frac = (day - grid_day[j]) / (grid_day[j + 1] - grid_day[j])
    return np.asarray(values[:, j] + frac * (values[:, j + 1] - values[:, j]), dtype=np.float64)


def stack_subset_stats(parts: list[SubsetStats]) -> SubsetStats:
    """Concatenate the patients of several chunks (same grid and schedule)."""

    def join(field: str) -> dict[str, Array]:
        return {s: np.concatenate([getattr(p, field)[s] for p in parts]) for s in SUBSETS}

    return SubsetStats(
        course_start_day=parts[0].course_start_day,
        nadir_pct=join("nadir_pct"),
        nadir_day_after_start=join("nadir_day_after_start"),
        months_to_lln=join("months_to_lln"),
        pct_at_month=join("pct_at_month"),
    )
