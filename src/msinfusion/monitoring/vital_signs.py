"""Vital-sign values with their LOINC, UCUM and MDC codes (standards dossier section 3).

A ``VitalSigns`` set is one observation time; any parameter may be missing (NEWS2 then reports
the score as incomplete rather than imputing).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from msinfusion.errors import InvalidVitalSigns

CODES_SOURCE = "https://hl7.org/fhir/R4/valueset-observation-vitalsignresult.html"
MDC_SOURCE = (
    "https://hl7.org/fhir/us/core/STU7/StructureDefinition-us-core-pulse-oximetry-definitions.html"
)


class Consciousness(enum.Enum):
    """ACVPU: Alert, new Confusion, responds to Voice, to Pain, Unresponsive."""

    ALERT = "A"
    CONFUSION = "C"
    VOICE = "V"
    PAIN = "P"
    UNRESPONSIVE = "U"


@dataclass(frozen=True, slots=True, kw_only=True)
class VitalSignCode:
    field: str
    display: str
    loinc: str
    ucum: str
    mdc: int | None
    mdc_ref: str | None


VITAL_SIGN_CODES: tuple[VitalSignCode, ...] = (
    VitalSignCode(
        field="respiratory_rate_per_min",
        display="Respiratory rate",
        loinc="9279-1",
        ucum="/min",
        mdc=151562,
        mdc_ref="MDC_RESP_RATE",
    ),
    VitalSignCode(
        field="heart_rate_bpm",
        display="Heart rate",
        loinc="8867-4",
        ucum="/min",
        mdc=147842,
        mdc_ref="MDC_ECG_HEART_RATE",
    ),
    VitalSignCode(
        field="spo2_pct",
        display="Oxygen saturation (pulse oximetry)",
        loinc="59408-5",
        ucum="%",
        mdc=150456,
        mdc_ref="MDC_PULS_OXIM_SAT_O2",
    ),
    VitalSignCode(
        field="temperature_c",
        display="Body temperature",
        loinc="8310-5",
        ucum="Cel",
        mdc=150364,
        mdc_ref="MDC_TEMP_BODY",
    ),
    VitalSignCode(
        field="systolic_mmhg",
        display="Systolic blood pressure",
        loinc="8480-6",
        ucum="mm[Hg]",
        mdc=150021,
        mdc_ref="MDC_PRESS_BLD_NONINV_SYS",
    ),
    VitalSignCode(
        field="diastolic_mmhg",
        display="Diastolic blood pressure",
        loinc="8462-4",
        ucum="mm[Hg]",
        mdc=150022,
        mdc_ref="MDC_PRESS_BLD_NONINV_DIA",
    ),
    VitalSignCode(
        field="mean_arterial_mmhg",
        display="Mean arterial pressure",
        loinc="8478-0",
        ucum="mm[Hg]",
        mdc=150023,
        mdc_ref="MDC_PRESS_BLD_NONINV_MEAN",
    ),
    VitalSignCode(
        field="o2_flow_l_per_min",
        display="Inhaled oxygen flow rate",
        loinc="3151-8",
        ucum="L/min",
        mdc=None,
        mdc_ref=None,
    ),
)
"""LOINC/UCUM from the FHIR R4 vital-signs value set and US Core; MDC from the standards
dossier section 3 (``CODES_SOURCE``, ``MDC_SOURCE``)."""

MEAN_ARTERIAL_SOURCES = (
    "https://pubmed.ncbi.nlm.nih.gov/30855814/",  # StatPearls, Physiology, Mean Arterial Pressure
    "http://web.archive.org/web/20080320093109/http:/www.lib.mcg.edu/edu/eshuphysio/program/"
    "section3/3ch7/s3ch7_4.htm",
)
"""Mean arterial pressure is the average arterial pressure over one cardiac cycle: the systolic
pressure is above it and the diastolic pressure below it. So it lies within the systolic and
diastolic ranges below, and a set with all three must have diastolic <= mean <=
systolic; nothing else is assumed about it (it is not a NEWS2 parameter and raises no alert)."""

PLAUSIBLE_SOURCE = "https://github.com/eth-mds/ricu/blob/main/inst/extdata/config/concept-dict.json"
"""The ricu concept dictionary (ETH Zurich; the value bounds it applies to MIMIC, eICU and
HiRID vital signs, 'routine vital signs' concepts hr, sbp, dbp, map, resp, temp)."""

# Physiological plausibility: outside these a value is a typing or device error, not a patient
# (refused with the field named). Not clinical thresholds: nothing is scored or alerted on them.
# Bounds are ricu's (PLAUSIBLE_SOURCE) except three choices recorded here, each wider than ricu's
# research data cut so that a true extreme is recorded and alerts rather than being refused:
# SpO2 keeps 0-100 % (a saturation is a percentage; ricu's floor is 70 %), temperature keeps
# 25-45 C (ricu 32-42 would refuse the severe hypothermia NEWS2 scores; UNVERIFIED local bound),
# and the oxygen flow cap (60 L/min, high-flow nasal cannula) is a local device limit without a
# cited source (UNVERIFIED).
PLAUSIBLE: dict[str, tuple[Decimal, Decimal]] = {
    "respiratory_rate_per_min": (Decimal(0), Decimal(120)),  # ricu resp
    "heart_rate_bpm": (Decimal(0), Decimal(300)),  # ricu hr
    "spo2_pct": (Decimal(0), Decimal(100)),  # definition (see above)
    "temperature_c": (Decimal(25), Decimal(45)),  # UNVERIFIED local (see above)
    "systolic_mmhg": (Decimal(0), Decimal(300)),  # ricu sbp
    "diastolic_mmhg": (Decimal(0), Decimal(200)),  # ricu dbp
    "mean_arterial_mmhg": (Decimal(0), Decimal(250)),  # ricu map; ordering: MEAN_ARTERIAL_SOURCES
    "o2_flow_l_per_min": (Decimal(0), Decimal(60)),  # UNVERIFIED local device limit
}


@dataclass(frozen=True, slots=True, kw_only=True)
class VitalSigns:
    """One set of vital signs at ``measured_at``; ``None`` means not measured."""

    measured_at: datetime
    respiratory_rate_per_min: Decimal | None = None
    spo2_pct: Decimal | None = None
    supplemental_oxygen: bool | None = None
    o2_flow_l_per_min: Decimal | None = None
    systolic_mmhg: Decimal | None = None
    diastolic_mmhg: Decimal | None = None
    mean_arterial_mmhg: Decimal | None = None
    heart_rate_bpm: Decimal | None = None
    consciousness: Consciousness | None = None
    temperature_c: Decimal | None = None
    source: str = "nurse"

    def __post_init__(self) -> None:
        if self.measured_at.tzinfo is None or self.measured_at.utcoffset() is None:
            raise InvalidVitalSigns(
                "measured_at must be timezone-aware (ISO 8601 with offset)", field="measured_at"
            )
        for field, (low, high) in PLAUSIBLE.items():
            value = getattr(self, field)
            if value is not None and not low <= value <= high:
                raise InvalidVitalSigns(
                    f"{field} {value} is outside the plausible range {low}-{high}", field=field
                )
        if (
            self.systolic_mmhg is not None
            and self.diastolic_mmhg is not None
            and self.diastolic_mmhg >= self.systolic_mmhg
        ):
            raise InvalidVitalSigns(
                "diastolic_mmhg must be below systolic_mmhg", field="diastolic_mmhg"
            )
        self._check_mean_arterial()

    def _check_mean_arterial(self) -> None:
        mean = self.mean_arterial_mmhg
        if mean is None:
            return
        if self.systolic_mmhg is not None and mean > self.systolic_mmhg:
            raise InvalidVitalSigns(
                f"mean_arterial_mmhg {mean} is above systolic_mmhg {self.systolic_mmhg}",
                field="mean_arterial_mmhg",
            )
        if self.diastolic_mmhg is not None and mean < self.diastolic_mmhg:
            raise InvalidVitalSigns(
                f"mean_arterial_mmhg {mean} is below diastolic_mmhg {self.diastolic_mmhg}",
                field="mean_arterial_mmhg",
            )
