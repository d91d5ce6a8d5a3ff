"""Exact two-compartment propagation over piecewise-constant infusions, vectorised over patients.

State ``x = (A1, A2)`` in mg; ``dx/dt = A(t) x + (R, 0)`` with
``A = [[-(CL + Q)/V1, Q/V2], [Q/V1, -Q/V2]]`` (dossier §1.2; a one-compartment model is Q = 0).
Between two grid points the input rate R is constant, and the step is the exponential of the
augmented matrix ``[[Omega, c], [0, 0]]``: ``x' = exp(Omega) x + phi1(Omega) c``. Both matrix
functions of a 2x2 matrix are evaluated in closed form from its eigenvalues (Sylvester), so for
a time-invariant model (``Omega = A h``, ``c = h (R, 0)``) each step is the exact solution, and a
whole schedule is exact superposition up to rounding.

Ocrelizumab's clearance decays in time (``CL + CLT0 exp(-kdes t)``, dossier §1.2): there is no
elementary closed form, and ``Omega`` is the fourth-order Magnus exponent with two Gauss points
(error O(h^5 kdes^4) per step, about 1e-12 relative on a one-day grid; checked against a
tight-tolerance solve_ivp in the tests). With ``CLT0 = 0`` it reduces to the exact solution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
_SQRT3_12 = math.sqrt(3.0) / 12.0
_SQRT3_6 = math.sqrt(3.0) / 6.0
_HOURS_PER_DAY = 24.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TwoCompartment:
    """Per-patient parameters, each an array of shape (N,); CL in L/day, V in L."""

    CL: Array
    V1: Array
    Q: Array
    V2: Array
    CLT0: Array
    kdes: Array

    @property
    def size(self) -> int:
        return int(self.CL.shape[0])

    def is_time_invariant(self) -> bool:
        return bool(np.all(self.CLT0 == 0.0))

    def clearance_at(self, day: Array) -> Array:
        """CL(t) of every patient (rows) at every time (columns)."""
        return self.CL[:, None] + self.CLT0[:, None] * np.exp(-self.kdes[:, None] * day[None, :])


def _phi_pair(
    m11: Array, m12: Array, m21: Array, m22: Array
) -> tuple[tuple[Array, Array, Array, Array], tuple[Array, Array, Array, Array]]:
    """exp(M) and phi1(M) = sum M^k/(k+1)! for stacks of 2x2 matrices with real eigenvalues."""
    half_trace = 0.5 * (m11 + m22)
    half_gap = 0.5 * (m11 - m22)
    s = np.sqrt(np.maximum(half_gap * half_gap + m12 * m21, 0.0))
    mu1, mu2 = half_trace + s, half_trace - s
    e2 = np.exp(mu2)
    two_s = 2.0 * s
    # (e^mu1 - e^mu2) / (mu1 - mu2), accurate for nearby eigenvalues
    safe = np.where(two_s > 1e-300, two_s, 1.0)
    d_exp = np.where(two_s > 1e-300, e2 * np.expm1(two_s) / safe, e2)
    f1, f2 = _phi1(mu1), _phi1(mu2)
    d_phi = np.where(two_s > 1e-8, (f1 - f2) / safe, _dphi1(half_trace))
    exp_m = (
        e2 + d_exp * (m11 - mu2),
        d_exp * m12,
        d_exp * m21,
        e2 + d_exp * (m22 - mu2),
    )
    phi_m = (
        f2 + d_phi * (m11 - mu2),
        d_phi * m12,
        d_phi * m21,
        f2 + d_phi * (m22 - mu2),
    )
    return exp_m, phi_m


def _phi1(x: Array) -> Array:
    small = np.abs(x) < 1e-8
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 + 0.5 * x, np.expm1(safe) / safe)


def _dphi1(x: Array) -> Array:
    """Derivative of phi1, used when both eigenvalues coincide."""
    small = np.abs(x) < 1e-4
    safe = np.where(small, 1.0, x)
    exact = (safe * np.exp(safe) - np.expm1(safe)) / (safe * safe)
    return np.where(small, 0.5 + x / 3.0, exact)


def _system(p: TwoCompartment, clearance: Array) -> tuple[Array, Array, Array, Array]:
    """Entries of A for clearance of shape (N, M)."""
    v1, v2, q = p.V1[:, None], p.V2[:, None], p.Q[:, None]
    a11 = -(clearance + q) / v1
    a12 = np.broadcast_to(q / v2, clearance.shape)
    a21 = np.broadcast_to(q / v1, clearance.shape)
    a22 = np.broadcast_to(-q / v2, clearance.shape)
    return a11, a12, a21, a22


def step_operators(
    p: TwoCompartment, grid_day: Array, rate_mg_per_h: Array
) -> tuple[tuple[Array, Array, Array, Array], Array, Array]:
    """For each interval of ``grid_day``: exp(Omega) entries and the input response (g1, g2)."""
    h = np.diff(grid_day)[None, :]
    rate = (rate_mg_per_h * _HOURS_PER_DAY)[None, :]
    if p.is_time_invariant():
        return _invariant_operators(p, h[0], rate * h)
    else:
        mid = 0.5 * (grid_day[1:] + grid_day[:-1])
        lo = p.clearance_at(mid - _SQRT3_6 * h[0])
        hi = p.clearance_at(mid + _SQRT3_6 * h[0])
        b11, b12, b21, b22 = _system(p, lo)
        d11 = (lo - hi) / p.V1[:, None]  # A(t2) - A(t1) only differs in the (1, 1) entry
        hh = h * h * _SQRT3_12
        # commutator [A2, A1] with A2 = A1 + d11 E11: d11 * [E11, A1]
        m = (
            h * (b11 + 0.5 * d11),
            h * b12 + hh * d11 * b12,
            h * b21 - hh * d11 * b21,
            h * b22,
        )
        c1, c2 = rate * h + hh * d11 * rate, np.zeros_like(b11)
    exp_m, phi_m = _phi_pair(*m)
    g1 = phi_m[0] * c1 + phi_m[1] * c2
    g2 = phi_m[2] * c1 + phi_m[3] * c2
    return exp_m, g1, g2


def _invariant_operators(
    p: TwoCompartment, h: Array, dose: Array
) -> tuple[tuple[Array, Array, Array, Array], Array, Array]:
    """Constant parameters: the matrix functions depend on the step length only, so they are
    evaluated once per distinct step length (a regular grid has a handful) and gathered."""
    steps, where = np.unique(h, return_inverse=True)
    a11, a12, a21, a22 = _system(p, np.broadcast_to(p.CL[:, None], (p.size, steps.shape[0])))
    exp_u, phi_u = _phi_pair(a11 * steps, a12 * steps, a21 * steps, a22 * steps)
    # gathered time-major (rows = steps) and returned as (N, T) views, so that ``propagate``'s
    # time-major copy is free
    exp_m = tuple(np.ascontiguousarray(e.T)[where].T for e in exp_u)
    dose_t = dose.T
    g1 = (np.ascontiguousarray(phi_u[0].T)[where] * dose_t).T
    g2 = (np.ascontiguousarray(phi_u[2].T)[where] * dose_t).T
    return (exp_m[0], exp_m[1], exp_m[2], exp_m[3]), g1, g2


def propagate(
    p: TwoCompartment, grid_day: Array, rate_mg_per_h: Array, x0: Array | None = None
) -> Array:
    """Amounts (A1, A2) in mg at every grid point, shape (N, len(grid), 2).

    ``rate_mg_per_h[m]`` is the constant rate on [grid[m], grid[m+1]); the grid must contain
    every rate change (``InfusionSchedule.breakpoints_day``).
    """
    (e11, e12, e21, e22), g1, g2 = step_operators(p, grid_day, rate_mg_per_h)
    # time-major copies: each step then reads contiguous rows
    e11, e12, e21, e22, g1, g2 = (np.ascontiguousarray(a.T) for a in (e11, e12, e21, e22, g1, g2))
    out = np.empty((grid_day.shape[0], p.size, 2))
    x1 = np.zeros(p.size) if x0 is None else x0[:, 0].copy()
    x2 = np.zeros(p.size) if x0 is None else x0[:, 1].copy()
    out[0, :, 0], out[0, :, 1] = x1, x2
    for k in range(grid_day.shape[0] - 1):
        x1, x2 = e11[k] * x1 + e12[k] * x2 + g1[k], e21[k] * x1 + e22[k] * x2 + g2[k]
        out[k + 1, :, 0], out[k + 1, :, 1] = x1, x2
    return np.ascontiguousarray(out.transpose(1, 0, 2))


def terminal_half_life_day(cl: float, v1: float, q: float, v2: float) -> float:
    """ln 2 / beta, beta the smaller eigenvalue rate of the linear system."""
    k10, k12, k21 = cl / v1, q / v1, (q / v2 if v2 > 0 else 0.0)
    total = k10 + k12 + k21
    root = math.sqrt(max(total * total - 4.0 * k10 * k21, 0.0))
    alpha = 0.5 * (total + root)
    beta = k10 * k21 / alpha if k21 > 0 else k10
    return math.log(2.0) / beta
