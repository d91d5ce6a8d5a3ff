"""The natalizumab panel of the patient page: troughs, the MAP fit with its band, the proposal.

Pure formatting of ``application.tdm.TdmPanel``: the chart geometry (an inline SVG: the 5th-95th
band as a polygon, the MAP curve as a polyline, measured troughs as dots, the target as a line)
and the rows of the tables next to it (a chart is never the only way to read a value).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from msinfusion.application.tdm import TdmPanel

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 900, 260, 56, 16, 12, 36


@dataclass(frozen=True, slots=True, kw_only=True)
class FitChart:
    band: str
    curve: str
    dots: tuple[tuple[float, float, str], ...]
    target_y: float
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    width: int = WIDTH
    height: int = HEIGHT


def _scale(values: Sequence[float], lo: float, hi: float, a: float, b: float) -> list[float]:
    span = (hi - lo) or 1.0
    return [a + (v - lo) / span * (b - a) for v in values]


def fit_chart(advice: Any, troughs: Sequence[tuple[datetime, float]]) -> FitChart | None:
    """Geometry of the stored fit: concentration (linear) against days from the first dose."""
    curve = advice.get("curve") or []
    if not curve or "origin" not in advice:
        return None
    origin = datetime.fromisoformat(str(advice["origin"]))
    days = [float(p[0]) for p in curve]
    measured = [((at - origin).total_seconds() / 86400.0, value) for at, value in troughs]
    top = max(
        [float(p[3]) for p in curve] + [v for _, v in measured] + [advice["target_ug_per_ml"]]
    )
    top = 10.0 * math.ceil(top / 10.0)
    x_hi = max(days + [d for d, _ in measured])
    xs = _scale(days, 0.0, x_hi, LEFT, WIDTH - RIGHT)

    def ys(values: Sequence[float]) -> list[float]:
        return _scale(values, 0.0, top, HEIGHT - BOTTOM, TOP)

    upper = ys([float(p[3]) for p in curve])
    lower = ys([float(p[2]) for p in curve])
    band = " ".join(
        f"{x:.1f},{y:.1f}"
        for x, y in [*zip(xs, upper, strict=True), *reversed(list(zip(xs, lower, strict=True)))]
    )
    line = " ".join(
        f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys([float(p[1]) for p in curve]), strict=True)
    )
    dots = tuple(
        (x, y, f"{v:g} ug/mL on day {d:.0f}")
        for (d, v), x, y in zip(
            measured,
            _scale([d for d, _ in measured], 0.0, x_hi, LEFT, WIDTH - RIGHT),
            ys([v for _, v in measured]),
            strict=True,
        )
    )
    step = top / 4
    y_ticks = tuple((ys([k * step])[0], f"{k * step:g}") for k in range(5))
    x_ticks = tuple(
        (_scale([d], 0.0, x_hi, LEFT, WIDTH - RIGHT)[0], f"day {d:.0f}")
        for d in range(0, int(x_hi) + 1, 28)
    )
    return FitChart(
        band=band,
        curve=line,
        dots=dots,
        target_y=ys([advice["target_ug_per_ml"]])[0],
        y_ticks=y_ticks,
        x_ticks=x_ticks,
    )


def tdm_page_context(panel: TdmPanel | None) -> dict[str, Any]:
    """What ``_tdm_panel.html`` reads (``tdm`` is None for a patient without natalizumab)."""
    if panel is None or panel.order is None:
        return {"tdm": None}
    rec = panel.recommendation
    chart = None
    if rec is not None:
        chart = fit_chart(rec.advice, [(t.at, t.trough_ug_per_ml) for t in panel.troughs])
    return {
        "tdm": {
            "panel": panel,
            "order_interval": dict(panel.order.options).get("interval", "4w"),
            "recommendation": rec,
            "advice": None if rec is None else rec.advice,
            "chart": chart,
        }
    }
