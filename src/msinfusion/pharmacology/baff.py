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

>>> import numpy as np
>>> b, f = baff_b_cells(np.array([100.0]), np.array([100.0]), np.zeros((3, 1)),
...                     np.ones(3), np.array([0.0124]), 0.02, record_baff=True)
>>> b.tolist(), f.tolist()
([[100.0, 100.0, 100.0, 100.0]], [[100.0, 100.0, 100.0, 100.0]])
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

# Below this fraction of baseline the BAFF uptake by B cells is treated as this value (it only
# keeps 1/u finite; the uptake is then ~kF * 1e-12, i.e. none).
_U_FLOOR = 1e-12


def baff_b_cells(
    start_b_pct: Array,
    start_baff_pct: Array,
    kill: Array,
    h_day: Array,
    k_b_per_day: Array,
    k_baff_per_day: float,
    *,
    record_baff: bool = False,
) -> tuple[Array, Array]:
    """B cells and BAFF (% of baseline) on the grid, shape (N, T), from (N,) start values.

    ``kill`` (T-1, N), time-major, is the integrated drug loss per step (``kkill * AUC``),
    ``h_day`` (T-1,) the step lengths. Without ``record_baff`` the BAFF array holds only its
    last column (the state to resume from) and the rest is left unfilled. The results are
    transposed views of time-major arrays.
    """
    steps, n = kill.shape
    b = start_b_pct.astype(np.float64).copy()
    f = start_baff_pct.astype(np.float64) / 100.0
    kill_t = kill
    kb_h = np.multiply.outer(h_day, k_b_per_day)  # (T-1, N): kB*h per step
    b_out = np.empty((steps + 1, n))
    f_out = np.empty((steps + 1, n))
    b_out[0], f_out[0] = b, f
    half = 0.5 * h_day
    # negative half-step BAFF rates, merged between neighbouring steps unless recorded
    tau = np.append(half, 0.0) + np.append(0.0, half)
    for m in range(steps):
        first = -k_baff_per_day * (half[m] if record_baff or m == 0 else tau[m])
        f = _baff_flow(f, b, first)
        b = _b_flow(b, f, kb_h[m], kill_t[m])
        if record_baff:
            f_out[m + 1] = _baff_flow(f, b, -k_baff_per_day * half[m])
            f = f_out[m + 1]
        b_out[m + 1] = b
    if not record_baff:
        f_out[-1] = _baff_flow(f, b, -k_baff_per_day * half[-1]) if steps else f
    f_out *= 100.0
    return b_out.T, f_out.T


def _baff_flow(f: Array, b_pct: Array, minus_kf_tau: float) -> Array:
    """Exact ``dF/dt = kF (1 - F u)`` over tau with u held: ``F + expm1(-kF u tau) (F - 1/u)``."""
    u = np.maximum(b_pct * 0.01, _U_FLOOR)
    return np.asarray(f + np.expm1(minus_kf_tau * u) * (f - 1.0 / u), dtype=np.float64)


def _b_flow(b: Array, f: Array, kb_h: Array, kill: Array) -> Array:
    """Exact ``dB/dt = kB (100 F - B/F) - kill B`` over the step with F held (B in %)."""
    loss = kb_h / f + kill
    target = 100.0 * kb_h * f / np.maximum(loss, 1e-300)  # loss = 0 only for kB h = 0
    return np.asarray(b + np.expm1(-loss) * (b - target), dtype=np.float64)
