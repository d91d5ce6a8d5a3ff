"""Monitoring: vital signs with their codes, NEWS2, and alert rules (framework-free core)."""

from __future__ import annotations

from msinfusion.monitoring.alerts import Alert, AlertPriority, escalate, evaluate, overdue
from msinfusion.monitoring.news2 import News2Band, News2Score, score_news2
from msinfusion.monitoring.vital_signs import VITAL_SIGN_CODES, Consciousness, VitalSigns

__all__ = [
    "VITAL_SIGN_CODES",
    "Alert",
    "AlertPriority",
    "Consciousness",
    "News2Band",
    "News2Score",
    "VitalSigns",
    "escalate",
    "evaluate",
    "overdue",
    "score_news2",
]
