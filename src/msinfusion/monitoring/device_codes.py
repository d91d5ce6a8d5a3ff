"""Device observation codes (MDC, ISO/IEEE 11073-10101, and LOINC) and units, as vital signs.

Codes and units are the device-interop dossier's tables B.1 (observations), B.2 (units, with
the Fahrenheit code settled as 266560 = 4::4416) and B.3 (LOINC). Shared by the HL7 PCD-01
adapter and the JSON observation format (``application/observations.py``), so both map a code
the same way. A code not listed here is not guessed: the row is skipped and reported.
"""

from __future__ import annotations

from decimal import Decimal

HEART_RATE = "heart_rate_bpm"
SPO2 = "spo2_pct"
SYSTOLIC = "systolic_mmhg"
DIASTOLIC = "diastolic_mmhg"
MEAN_ARTERIAL = "mean_arterial_mmhg"
RESPIRATORY_RATE = "respiratory_rate_per_min"
TEMPERATURE = "temperature_c"

MDC_TO_FIELD: dict[int, tuple[str, str]] = {
    147842: (HEART_RATE, "MDC_ECG_HEART_RATE"),  # also MDC_ECG_CARD_BEAT_RATE
    149514: (HEART_RATE, "MDC_PULS_RATE"),
    149530: (HEART_RATE, "MDC_PULS_OXIM_PULS_RATE"),  # pulse from SpO2
    149546: (HEART_RATE, "MDC_PULS_RATE_NON_INV"),  # pulse from NIBP
    149522: (HEART_RATE, "MDC_BLD_PULS_RATE_INV"),  # pulse from an arterial line
    150456: (SPO2, "MDC_PULS_OXIM_SAT_O2"),
    150021: (SYSTOLIC, "MDC_PRESS_BLD_NONINV_SYS"),
    150022: (DIASTOLIC, "MDC_PRESS_BLD_NONINV_DIA"),
    150023: (MEAN_ARTERIAL, "MDC_PRESS_BLD_NONINV_MEAN"),
    150301: (SYSTOLIC, "MDC_PRESS_CUFF_SYS"),
    150302: (DIASTOLIC, "MDC_PRESS_CUFF_DIA"),
    150303: (MEAN_ARTERIAL, "MDC_PRESS_CUFF_MEAN"),
    150017: (SYSTOLIC, "MDC_PRESS_BLD_SYS"),  # invasive, site unspecified
    150018: (DIASTOLIC, "MDC_PRESS_BLD_DIA"),
    150019: (MEAN_ARTERIAL, "MDC_PRESS_BLD_MEAN"),
    150033: (SYSTOLIC, "MDC_PRESS_BLD_ART_SYS"),
    150034: (DIASTOLIC, "MDC_PRESS_BLD_ART_DIA"),
    150035: (MEAN_ARTERIAL, "MDC_PRESS_BLD_ART_MEAN"),
    150037: (SYSTOLIC, "MDC_PRESS_BLD_ART_ABP_SYS"),
    150038: (DIASTOLIC, "MDC_PRESS_BLD_ART_ABP_DIA"),
    150039: (MEAN_ARTERIAL, "MDC_PRESS_BLD_ART_ABP_MEAN"),
    151562: (RESPIRATORY_RATE, "MDC_RESP_RATE"),
    151570: (RESPIRATORY_RATE, "MDC_AWAY_RESP_RATE"),
    151578: (RESPIRATORY_RATE, "MDC_TTHOR_RESP_RATE"),
    151594: (RESPIRATORY_RATE, "MDC_CO2_RESP_RATE"),
    150344: (TEMPERATURE, "MDC_TEMP"),  # generic: charted as the patient's (dossier B.1 note)
    150364: (TEMPERATURE, "MDC_TEMP_BODY"),
    150368: (TEMPERATURE, "MDC_TEMP_CORE"),
    150392: (TEMPERATURE, "MDC_TEMP_TYMP"),
    188420: (TEMPERATURE, "MDC_TEMP_RECT"),
    188424: (TEMPERATURE, "MDC_TEMP_ORAL"),
    188428: (TEMPERATURE, "MDC_TEMP_EAR"),
    188452: (TEMPERATURE, "MDC_TEMP_AXILLA"),
}
"""MDC observation code -> (vital-sign field, REFID). Not mapped on purpose: 150300
``MDC_PRESS_CUFF`` (the cuff's own pressure, not a blood pressure), 150020 (the NIBP compound
parent), 150388 ``MDC_TEMP_SKIN`` (not a body temperature)."""

LOINC_TO_FIELD: dict[str, str] = {
    "8867-4": HEART_RATE,
    "2708-6": SPO2,
    "59408-5": SPO2,
    "8480-6": SYSTOLIC,
    "8462-4": DIASTOLIC,
    "8478-0": MEAN_ARTERIAL,
    "9279-1": RESPIRATORY_RATE,
    "8310-5": TEMPERATURE,
}
"""LOINC observation code -> vital-sign field (dossier B.3)."""

PER_MIN, PERCENT, MMHG, KPA, CEL, DEGF, KELVIN = "/min", "%", "mm[Hg]", "kPa", "Cel", "[degF]", "K"

MDC_UNITS: dict[int, tuple[str, str]] = {
    264864: (PER_MIN, "MDC_DIM_BEAT_PER_MIN"),
    264896: (PER_MIN, "MDC_DIM_PULS_PER_MIN"),
    264928: (PER_MIN, "MDC_DIM_RESP_PER_MIN"),
    264672: (PER_MIN, "MDC_DIM_PER_MIN"),
    262688: (PERCENT, "MDC_DIM_PERCENT"),
    266016: (MMHG, "MDC_DIM_MMHG"),
    265987: (KPA, "MDC_DIM_KILO_PASCAL"),
    268192: (CEL, "MDC_DIM_DEGC"),
    266560: (DEGF, "MDC_DIM_FAHR"),
    266528: (KELVIN, "MDC_DIM_KELVIN"),
}
"""MDC unit code -> (canonical UCUM unit, REFID) (dossier B.2)."""

MDC_DIM_FAHR = 266560
FAHRENHEIT_DEFECT_CODES = (268160, 268224)
"""Codes some senders put next to ``MDC_DIM_FAHR`` (a resistance-index unit and ampere-hour):
the REFID is trusted and the row reported (dossier B.2)."""

UNIT_BY_REFID: dict[str, str] = {ref: unit for unit, ref in MDC_UNITS.values()}

UCUM_SPELLINGS: dict[str, str] = {
    "/min": PER_MIN,
    "{beat}/min": PER_MIN,
    "{beats}/min": PER_MIN,
    "{breath}/min": PER_MIN,
    "{breaths}/min": PER_MIN,
    "{pulse}/min": PER_MIN,
    "%": PERCENT,
    "mm[Hg]": MMHG,
    "kPa": KPA,
    "Cel": CEL,
    "[degF]": DEGF,
    "degF": DEGF,
    "DEGF": DEGF,
    "F": DEGF,
    "°F": DEGF,
    "K": KELVIN,
}
"""UCUM (and table 0931) spellings -> canonical unit; a curly-brace annotation has no meaning."""

FIELD_UNITS: dict[str, tuple[str, ...]] = {
    HEART_RATE: (PER_MIN,),
    RESPIRATORY_RATE: (PER_MIN,),
    SPO2: (PERCENT,),
    SYSTOLIC: (MMHG, KPA),
    DIASTOLIC: (MMHG, KPA),
    MEAN_ARTERIAL: (MMHG, KPA),
    TEMPERATURE: (CEL, DEGF, KELVIN),
}
"""The canonical units each field accepts; the first is the one stored."""

_PASCAL_PER_MMHG = Decimal("133.322387415")  # UCUM: m[Hg] = 133.3220 kPa/m, exact by definition


def to_stored_unit(field: str, value: Decimal, unit: str) -> Decimal:
    """``value`` in ``unit`` converted to the field's stored unit (°F and K by formula)."""
    if unit == DEGF:
        return ((value - 32) * 5 / 9).quantize(Decimal("0.01"))
    if unit == KELVIN:
        return value - Decimal("273.15")
    if unit == KPA:
        return (value * 1000 / _PASCAL_PER_MMHG).quantize(Decimal(1))
    return value


MDIL_SYSTEM = "MDIL"
MDIL_SOURCE = "https://www.easymanua.ls/philips/efficia-cm-series/manual/925687?p=65"
"""Philips Efficia CM Series Data Export Guide, 'MDIL Coding' (page 3-27): an MDIL identifier
is ``<partition>-<term code>``, both hexadecimal; partition 2 is SCADA (observations), 4 the
dimensions (units). The context-free MDC code is partition x 65536 + term code (IHE PCD TF-2
Appendix A.1; device-interop dossier B, 'Arithmetic')."""


def mdc_code_of_mdil(text: str) -> int | None:
    """The MDC code of an MDIL identifier, or None when ``text`` is not one.

    >>> mdc_code_of_mdil("0002-4bb8")  # SpO2
    150456
    >>> mdc_code_of_mdil("0004-0f20")  # mmHg
    266016
    >>> mdc_code_of_mdil("150456") is None
    True
    """
    partition, dash, term = text.partition("-")
    if not dash or len(partition) != 4 or len(term) != 4:
        return None
    try:
        return int(partition, 16) * 65536 + int(term, 16)
    except ValueError:
        return None


def canonical_unit(text: str) -> str | None:
    """A unit written as an MDC code (decimal, or MDIL hexadecimal), an MDC REFID or a UCUM
    spelling, as its canonical UCUM.

    >>> canonical_unit("266016"), canonical_unit("MDC_DIM_MMHG"), canonical_unit("0004-0f20")
    ('mm[Hg]', 'mm[Hg]', 'mm[Hg]')
    >>> canonical_unit("{beat}/min")
    '/min'
    """
    code = int(text) if text.isdigit() else mdc_code_of_mdil(text)
    if code is not None:
        known = MDC_UNITS.get(code)
        return None if known is None else known[0]
    return UNIT_BY_REFID.get(text) or UCUM_SPELLINGS.get(text)
