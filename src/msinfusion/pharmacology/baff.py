"""B-cell reconstitution after alemtuzumab driven by BAFF (B-cell activating factor).

Mechanism (Thompson SAJ et al., J Clin Immunol 2010;30:99-105,
https://www.ncbi.nlm.nih.gov/pubmed/19763798, abstract, dossier §3.1): after alemtuzumab, B
cells return to baseline by 3 months and reach 165 % of baseline by 12 months; a surge of serum
BAFF coincides with immature transitional B cells at month 1 and BAFF "remains elevated by 33 %
for at least 12 months"; BAFF "is critical for transition to the mature naive B-cell phenotype".
A one-pool model ``dN/dt = kprod(N) - kdeath N`` cannot overshoot (a 1-D autonomous ODE is
monotone), so a second state is added, BAFF relative to its baseline ``F = BAFF/BAFF0``::

    dF/dt = kF * (1 - F * u)                      u = B/B0 (B in % of baseline / 100)
    dB/dt = kB * (B0 * F - B / F) - kkill*C*B

- BAFF is produced at a constant rate and taken up by B cells (BAFF-R) in proportion to their
  number: depletion (u -> 0) lets BAFF rise (the surge), and BAFF falls back only as B cells
  return, so it lags behind them. At baseline (F = u = 1) both rates balance.
- BAFF drives both halves of B-cell turnover relative to baseline: the maturation into the
  peripheral pool (production ``kB*B0*F``; "critical for transition to the mature naive
  phenotype") and the survival of mature cells (loss ``kB*B/F``, longer life-span with more
  BAFF). With BAFF held, the pool settles at ``u = F^2``.
- ``kB`` is the anti-CD20 template's B-cell turnover (dossier §1.5 item 1, 0.0124 1/day);
  ``kF`` has no published value and is calibrated (``calibration.calibrate_baff_rate``).

What this can and cannot do (worked out in docs/pharmacology-validation.md): linearised at
baseline the loop has damping ratio ``(kF + kB)/(2 sqrt(3 kF kB)) >= 1/sqrt(3)`` whatever the
rates, so its overshoot is small (at most about a fifth of baseline for the depletion this
drug causes), and with uptake by B cells BAFF must be *below* baseline whenever B cells are
above it at quasi-steady state (``F u = 1``); the published 165 % with BAFF +33 % at month 12
is therefore beyond this mechanism, and the validation rows say so.

Numerics (per grid step of length h, kill integrated as ``K = kkill * AUC(step)``): Strang
splitting with exact sub-flows: BAFF over h/2 with B held, B over h with BAFF held (a linear
equation, solved exactly, killing included), BAFF over h/2 with the new B. The half-flows of
neighbouring steps are merged when BAFF is not recorded (the exact flows compose, so the result
is the same to rounding); a window of the population resumes from (B, BAFF) at its first point.
The splitting is stable while ``kF h <= 1`` or ``kB h <= 1`` (spectral radius of the linearised
step below 1; with both above ~2 it amplifies); ``kF h`` is checked (``MAX_BAFF_RATE_X_STEP``):
on the one-day grid it is 0.016.

>>> import numpy as np
>>> b, f = baff_b_cells(np.array([100.0]), np.array([100.0]), np.zeros((3, 1)), h_day=np.ones(3),
...                     k_b_per_day=np.array([0.0124]), k_baff_per_day=0.02, record_baff=True)
>>> b.round(9).tolist(), f.round(9).tolist()   # no drug: the baseline balances
([[100.0, 100.0, 100.0, 100.0]], [[100.0, 100.0, 100.0, 100.0]])
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

# Below this fraction of baseline the BAFF uptake by B cells is treated as this value (it keeps
# 1/u finite and the rounding of 1/u + (F - 1/u) e near 1e-7; the uptake is then ~kF * 1e-9).
_U_FLOOR = 1e-9
MAX_BAFF_RATE_X_STEP = 1.0


def baff_b_cells(
    start_b_pct: Array,
    start_baff_pct: Array,
    kill: Array,
    *,
    h_day: Array,
    k_b_per_day: Array,
    k_baff_per_day: float,
    record_baff: bool = False,
) -> tuple[Array, Array]:
    """B cells and BAFF (% of baseline) on the grid, shape (N, T), from (N,) start values.

    ``kill`` (T-1, N), time-major, is the integrated drug loss per step (``kkill * AUC``),
    ``h_day`` (T-1,) the step lengths; a loss above 700 per step counts as 700 (e^-700 is
    zero here). Without ``record_baff`` the BAFF array has one column, its value at the last
    point (the state to resume from). The results are transposed views of time-major arrays.
    """
    steps, n = kill.shape
    if steps and k_baff_per_day * float(h_day.max()) > MAX_BAFF_RATE_X_STEP:
        raise ValueError(
            f"k_baff_per_day: {k_baff_per_day} x the longest step {float(h_day.max())} day "
            f"exceeds {MAX_BAFF_RATE_X_STEP}, where the split step can be unstable; "
            "use a finer grid"
        )
    b_out = np.empty((steps + 1, n))
    f_out = np.empty((steps + 1 if record_baff else 1, n))
    b_out[0] = start_b_pct
    f = start_baff_pct.astype(np.float64) / 100.0
    f_out[0] = f
    k_b_100 = 100.0 * k_b_per_day
    half = 0.5 * k_baff_per_day * h_day
    # BAFF flow lengths (x kF) before each B step: half a step first, then the merged second
    # half of the last step and first half of this one (or half again when BAFF is recorded)
    before = half.copy()
    if not record_baff and steps > 1:
        before[1:] += half[:-1]
    flow = _BaffFlow(n)
    loss, grow, gain = np.empty(n), np.empty(n), np.empty(n)
    rows = list(b_out)
    for m in range(steps):
        b, row, step = rows[m], rows[m + 1], float(h_day[m])
        flow(f, b, before[m])
        # B over the step with F held: with L = kB h/F + kill the exact step is
        # b' = b e^-L + 100 kB h F (1 - e^-L)/L = (b + 100 kB h F expm1(L)/L) / e^L
        np.divide(k_b_per_day, f, out=loss)
        loss *= step
        loss += kill[m]
        # e^-700 is already zero next to b; L = 0 (a zero-length step) is read as 1e-300,
        # where expm1(L)/L = 1 exactly
        np.clip(loss, 1e-300, 700.0, out=loss)
        np.exp(loss, out=grow)
        np.expm1(loss, out=gain)
        gain /= loss
        gain *= f
        gain *= k_b_100
        gain *= step
        np.add(b, gain, out=row)
        row /= grow
        if record_baff:
            flow(f, row, half[m])
            f_out[m + 1] = f
    if not record_baff:
        if steps:
            flow(f, b_out[-1], half[-1])
        f_out[0] = f
    f_out *= 100.0
    return b_out.T, f_out.T


class _BaffFlow:
    """Exact ``dF/dt = kF (1 - F u)`` over a length tau with u held, in place on F:
    ``F' = 1/u + (F - 1/u) exp(-kF tau u)`` (u floored at ``_U_FLOOR``)."""

    def __init__(self, n: int) -> None:
        self.u, self.e = np.empty(n), np.empty(n)

    def __call__(self, f: Array, b_pct: Array, kf_tau: float) -> None:
        u, e = self.u, self.e
        np.multiply(b_pct, 0.01, out=u)
        np.maximum(u, _U_FLOOR, out=u)
        np.multiply(u, -kf_tau, out=e)
        np.exp(e, out=e)
        np.reciprocal(u, out=u)  # 1/u
        f -= u
        f *= e
        f += u
