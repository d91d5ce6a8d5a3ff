"""Builders shared by the pharmacology tests: sessions with pauses, closed-form oracles."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from msinfusion.pharmacology.dosing import InfusionSchedule
from msinfusion.session import events as ev

ORIGIN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
Array = NDArray[np.float64]


def at_min(minutes: float, day: float = 0.0) -> datetime:
    return ORIGIN + timedelta(days=day, minutes=minutes)


def checked_in(
    day: float = 0.0, *, dose_mg: int = 600, bag_ml: int = 500, conc: Fraction = Fraction(6, 5)
) -> ev.SessionCheckedIn:
    return ev.SessionCheckedIn(
        at=at_min(-60, day),
        user="nurse",
        patient_id="p-1",
        protocol_id="ocrelizumab-600-standard",
        protocol_version="1.0.0",
        dose_number=3,
        course_day=None,
        dose_mg=Fraction(dose_mg),
        bag_volume_ml=Fraction(bag_ml),
        concentration_mg_per_ml=conc,
        max_rate_ml_per_h=Fraction(200),
        observation_min=Fraction(60),
    )


def ocrelizumab_600_with_pause(day: float = 0.0) -> list[ev.Event]:
    """The 600 mg ladder (40, 80, 120, 160, 200 mL/h every 30 min) with a 30-min pause at
    minute 75, resumed at 80 mL/h, then the ladder continued until the bag is empty."""
    out: list[ev.Event] = [checked_in(day)]
    out.append(
        ev.InfusionStarted(
            at=at_min(0, day),
            user="n",
            rate_ml_per_h=Fraction(40),
            override_reason=None,
            deviations=(),
        )
    )
    out.append(_rate(30, day, 80, 40))
    out.append(_rate(60, day, 120, 80))
    out.append(ev.InfusionPaused(at=at_min(75, day), user="n", reason="line occluded"))
    out.append(ev.InfusionResumed(at=at_min(105, day), user="n", rate_ml_per_h=Fraction(80)))
    out.append(_rate(135, day, 160, 80))
    out.append(_rate(165, day, 200, 160))
    # delivered by minute 165: 20 + 40 + 30 + 40 + 80 = 210 mL; 290 mL at 200 mL/h = 87 min
    out.append(
        ev.InfusionCompleted(
            at=at_min(252, day),
            user="n",
            volume_infused_ml=Fraction(500),
            dose_delivered_mg=Fraction(600),
        )
    )
    return out


def _rate(minute: float, day: float, rate: int, previous: int) -> ev.RateChanged:
    return ev.RateChanged(
        at=at_min(minute, day),
        user="n",
        rate_ml_per_h=Fraction(rate),
        previous_rate_ml_per_h=Fraction(previous),
        cause="nurse",
        override_reason=None,
    )


def closed_form_conc(
    schedule: InfusionSchedule, t: Array, *, cl: float, v1: float, q: float, v2: float
) -> Array:
    """Textbook macro-constant superposition of zero-order infusions (independent oracle).

    Unit-impulse response C(t) = (a1 e^(-alpha t) + a2 e^(-beta t)) / V1 with
    a1 = (alpha - k21)/(alpha - beta), a2 = (k21 - beta)/(alpha - beta); for Q = 0 a single
    exponential with rate CL/V1.
    """
    k10, k12 = cl / v1, q / v1
    k21 = q / v2 if q > 0 else 0.0
    if q > 0:
        s = k10 + k12 + k21
        root = math.sqrt(s * s - 4 * k10 * k21)
        alpha, beta = (s + root) / 2, (s - root) / 2
        terms = [((alpha - k21) / (alpha - beta), alpha), ((k21 - beta) / (alpha - beta), beta)]
    else:
        terms = [(1.0, k10)]
    c = np.zeros_like(t)
    for seg in schedule.segments:
        r = seg.rate_mg_per_h * 24.0
        active = t > seg.start_day
        upper = np.minimum(t, seg.end_day)
        for a, lam in terms:
            part = np.exp(-lam * (t - upper)) - np.exp(-lam * (t - seg.start_day))
            c += np.where(active, r / v1 * a / lam * part, 0.0)
    return c
