"""NEWS2 (Royal College of Physicians, 2017): sub-scores, aggregate and clinical response band.

Every band below is the RCP chart as restated in the standards dossier section 2.1 (sources in
``NEWS2_SOURCES``). Implementation rules from the dossier (2.2): integer vitals are scored as
recorded (non-integers are rounded half-up to the integer first); temperature is rounded to 0.1 C;
any of C, V, P, U scores 3; supplemental oxygen adds 2 on either scale; a missing parameter is not
imputed — the result is marked incomplete; band precedence is >=7, 5-6, a single 3, 1-4, 0.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from msinfusion.monitoring.vital_signs import Consciousness, VitalSigns

NEWS2_SOURCES = (
    "https://scribd.com/document/584338409/NEWS2-Chart-1-The-NEWS-scoring-system-0-0",
    "https://scribd.com/document/538260233/NEWS2-Chart-4-Clinical-Response-to-NEWS-Trigger-Thresholds-0",
)

# (upper bound inclusive, points), scanned in order; None = no upper bound.
Bands = tuple[tuple[Decimal | None, int], ...]

RESPIRATION_RATE: Bands = (
    (Decimal(8), 3),
    (Decimal(11), 1),
    (Decimal(20), 0),
    (Decimal(24), 2),
    (None, 3),
)
SPO2_SCALE_1: Bands = ((Decimal(91), 3), (Decimal(93), 2), (Decimal(95), 1), (None, 0))
SPO2_SCALE_2_LOW: Bands = ((Decimal(83), 3), (Decimal(85), 2), (Decimal(87), 1), (Decimal(92), 0))
SPO2_SCALE_2_HIGH_ON_OXYGEN: Bands = ((Decimal(94), 1), (Decimal(96), 2), (None, 3))
SYSTOLIC_BP: Bands = (
    (Decimal(90), 3),
    (Decimal(100), 2),
    (Decimal(110), 1),
    (Decimal(219), 0),
    (None, 3),
)
PULSE: Bands = (
    (Decimal(40), 3),
    (Decimal(50), 1),
    (Decimal(90), 0),
    (Decimal(110), 1),
    (Decimal(130), 2),
    (None, 3),
)
TEMPERATURE: Bands = (
    (Decimal("35.0"), 3),
    (Decimal("36.0"), 1),
    (Decimal("38.0"), 0),
    (Decimal("39.0"), 1),
    (None, 2),
)
OXYGEN_POINTS = 2
CONSCIOUSNESS_POINTS = 3

PARAMETERS = (
    "respiration_rate",
    "spo2",
    "air_or_oxygen",
    "systolic_bp",
    "pulse",
    "consciousness",
    "temperature",
)


class News2Band(enum.Enum):
    """RCP clinical-risk bands, highest first (dossier 2.2)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW_MEDIUM = "low-medium"
    LOW = "low"
    ZERO = "zero"


RESPONSE: dict[News2Band, tuple[str, str]] = {
    News2Band.HIGH: (
        "continuous",
        "Emergency response: inform the medical team immediately; "
        "emergency assessment by a critical-care-competent team.",
    ),
    News2Band.MEDIUM: (
        "at least hourly",
        "Urgent response: inform the medical team "
        "immediately; urgent assessment by a clinician with acute-care competencies.",
    ),
    News2Band.LOW_MEDIUM: (
        "at least hourly",
        "A single parameter scores 3: inform the medical "
        "team, who review and decide on escalation.",
    ),
    News2Band.LOW: (
        "every 4-6 h",
        "A registered nurse assesses and decides whether to monitor more often or escalate.",
    ),
    News2Band.ZERO: ("every 12 h", "Continue routine NEWS monitoring."),
}
"""(minimum monitoring, response) per band, paraphrasing RCP Chart 4 (dossier 2.2). An infusion
centre watches more closely than this during an infusion; the band says how urgent escalation is."""


@dataclass(frozen=True, slots=True, kw_only=True)
class News2Score:
    subscores: dict[str, int]
    missing: tuple[str, ...]
    spo2_scale: int
    total: int
    band: News2Band | None

    @property
    def is_complete(self) -> bool:
        return not self.missing

    @property
    def monitoring(self) -> str | None:
        return None if self.band is None else RESPONSE[self.band][0]

    @property
    def response(self) -> str | None:
        return None if self.band is None else RESPONSE[self.band][1]


def points(value: Decimal, bands: Bands) -> int:
    for upper, score in bands:
        if upper is None or value <= upper:
            return score
    raise ValueError(f"{value} is above every band")  # the last band of every chart is open


def _integer(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1), rounding=ROUND_HALF_UP)


def score_spo2(spo2_pct: Decimal, *, scale: int, on_oxygen: bool) -> int:
    """SpO2 points; scale 2 only when a clinician prescribed a 88-92 % target (dossier 2.1)."""
    value = _integer(spo2_pct)
    if scale == 1:
        return points(value, SPO2_SCALE_1)
    if value <= 92:
        return points(value, SPO2_SCALE_2_LOW)
    return points(value, SPO2_SCALE_2_HIGH_ON_OXYGEN) if on_oxygen else 0


def score_news2(vitals: VitalSigns, *, spo2_scale: int = 1) -> News2Score:
    """Score one set of vital signs. Incomplete sets get a partial total and no band."""
    if spo2_scale not in (1, 2):
        raise ValueError("spo2_scale must be 1 or 2")
    sub: dict[str, int] = {}
    v = vitals
    if v.respiratory_rate_per_min is not None:
        sub["respiration_rate"] = points(_integer(v.respiratory_rate_per_min), RESPIRATION_RATE)
    scale_1 = spo2_scale == 1  # scale 1 does not depend on oxygen; scale 2 does above 92 %
    if v.spo2_pct is not None and (scale_1 or v.supplemental_oxygen is not None):
        on_oxygen = bool(v.supplemental_oxygen)
        sub["spo2"] = score_spo2(v.spo2_pct, scale=spo2_scale, on_oxygen=on_oxygen)
    if v.supplemental_oxygen is not None:
        sub["air_or_oxygen"] = OXYGEN_POINTS if v.supplemental_oxygen else 0
    if v.systolic_mmhg is not None:
        sub["systolic_bp"] = points(_integer(v.systolic_mmhg), SYSTOLIC_BP)
    if v.heart_rate_bpm is not None:
        sub["pulse"] = points(_integer(v.heart_rate_bpm), PULSE)
    if v.consciousness is not None:
        sub["consciousness"] = 0 if v.consciousness is Consciousness.ALERT else CONSCIOUSNESS_POINTS
    if v.temperature_c is not None:
        rounded = v.temperature_c.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        sub["temperature"] = points(rounded, TEMPERATURE)
    missing = tuple(p for p in PARAMETERS if p not in sub)
    total = sum(sub.values())
    return News2Score(
        subscores=sub,
        missing=missing,
        spo2_scale=spo2_scale,
        total=total,
        band=None if missing else band_for(total, sub),
    )


def band_for(total: int, subscores: dict[str, int]) -> News2Band:
    """Band precedence (dossier 2.2 rule 1): >=7, 5-6, a single 3 (aggregate <=4), 1-4, 0."""
    if total >= 7:
        return News2Band.HIGH
    if total >= 5:
        return News2Band.MEDIUM
    if any(score == 3 for score in subscores.values()):
        return News2Band.LOW_MEDIUM
    return News2Band.LOW if total >= 1 else News2Band.ZERO
