"""The therapy catalog: every infused MS therapy as validated, source-cited data."""

from __future__ import annotations

from msinfusion.catalog.ladder import LadderSegment, ladder_duration_min, run_ladder
from msinfusion.catalog.loader import load_therapy_file, load_therapy_text
from msinfusion.catalog.model import (
    Cited,
    Mechanism,
    Premedication,
    Protocol,
    ProtocolId,
    ReactionAction,
    ReactionRule,
    ReEscalation,
    Severity,
    Source,
    Therapy,
    TherapyId,
)
from msinfusion.catalog.registry import Catalog, shipped_catalog

__all__ = [
    "Catalog",
    "Cited",
    "LadderSegment",
    "Mechanism",
    "Premedication",
    "Protocol",
    "ProtocolId",
    "ReEscalation",
    "ReactionAction",
    "ReactionRule",
    "Severity",
    "Source",
    "Therapy",
    "TherapyId",
    "ladder_duration_min",
    "load_therapy_file",
    "load_therapy_text",
    "run_ladder",
    "shipped_catalog",
]
