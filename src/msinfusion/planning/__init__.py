"""Planning: exact infusion timelines (and, later, treatment-course calendars)."""

from __future__ import annotations

from msinfusion.planning.body_surface_area import mosteller_bsa_m2
from msinfusion.planning.infusion_plan import (
    InfusionPlan,
    PlannedPremedication,
    PlannedStep,
    after,
    minutes,
    plan_infusion,
)

__all__ = [
    "InfusionPlan",
    "PlannedPremedication",
    "PlannedStep",
    "after",
    "minutes",
    "mosteller_bsa_m2",
    "plan_infusion",
]
