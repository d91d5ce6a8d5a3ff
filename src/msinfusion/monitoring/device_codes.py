"""MDC (ISO/IEEE 11073-10101) codes of device observations and the vital sign each one is.

Standards dossier 5.2 (verified rows only). Shared by the HL7 PCD-01 adapter and the JSON
observation format (``application/observations.py``), so both map a code the same way.
"""

from __future__ import annotations

MDC_TO_FIELD: dict[int, tuple[str, int]] = {
    147842: ("heart_rate_bpm", 264864),  # MDC_ECG_HEART_RATE, MDC_DIM_BEAT_PER_MIN
    149530: ("heart_rate_bpm", 264864),  # MDC_PULS_OXIM_PULS_RATE
    149546: ("heart_rate_bpm", 264864),  # MDC_PULS_RATE_NON_INV
    150456: ("spo2_pct", 262688),  # MDC_PULS_OXIM_SAT_O2, MDC_DIM_PERCENT
    150021: ("systolic_mmhg", 266016),  # MDC_PRESS_BLD_NONINV_SYS, MDC_DIM_MMHG
    150022: ("diastolic_mmhg", 266016),  # MDC_PRESS_BLD_NONINV_DIA
    150023: ("mean_arterial_mmhg", 266016),  # MDC_PRESS_BLD_NONINV_MEAN
    150033: ("systolic_mmhg", 266016),  # MDC_PRESS_BLD_ART_SYS (invasive)
    150034: ("diastolic_mmhg", 266016),  # MDC_PRESS_BLD_ART_DIA
    150035: ("mean_arterial_mmhg", 266016),  # MDC_PRESS_BLD_ART_MEAN
    151562: ("respiratory_rate_per_min", 264928),  # MDC_RESP_RATE, MDC_DIM_RESP_PER_MIN
    150364: ("temperature_c", 268192),  # MDC_TEMP_BODY, MDC_DIM_DEGC
    150344: ("temperature_c", 268192),  # MDC_TEMP (generic)
}
"""MDC observation code -> (VitalSigns field, expected MDC unit code)."""

MDC_DIM_FAHR = 268160
UCUM_UNITS = {264864: "/min", 264928: "/min", 262688: "%", 266016: "mm[Hg]", 268192: "Cel"}
"""The same quantity's UCUM spelling: devices may send UCUM units instead of MDC ones."""
