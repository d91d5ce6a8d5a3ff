"""IHE PCD-01 (ORU^R01, HL7 v2.6) from bedside monitors: parse, and map MDC codes to vital signs.

Structure and codes: standards dossier 5.1 (message) and 5.2 (MDC table), sources
``PCD01_SOURCES``. Device-hierarchy rows (OBX-11 = X, no value) are skipped; each numeric OBX is
mapped by its MDC code (OBX-3.1) and unit (OBX-6.1); an unknown code is kept as unmapped, not
guessed. Observation times are OBX-14, falling back to OBR-7 and MSH-7.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

import hl7

from msinfusion.adapters.hl7.hl7_time import parse_hl7_time
from msinfusion.errors import (
    MalformedMessage,
    UnmappableMessage,
    UnsupportedMessage,
)
from msinfusion.monitoring.device_codes import MDC_DIM_FAHR, MDC_TO_FIELD, UCUM_UNITS
from msinfusion.monitoring.vital_signs import VitalSigns

PCD01_SOURCES = (
    "https://www.easymanua.ls/ge/b40/manual?p=19",
    "http://technodocbox.com/Email/77241045-Ihe-patient-care-device-pcd-technical-framework-volume-2-ihe-pcd-tf-2-transactions.html",
)

# MDC code -> field, the Fahrenheit unit and UCUM spellings (dossier 5.2) are in the monitoring
# core (``monitoring.device_codes``), shared with the JSON observation format.


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceObservation:
    mdc_code: int
    mdc_ref: str
    containment: str
    value: Decimal
    unit: str
    observed_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Pcd01Message:
    control_id: str
    sending_application: str
    sending_facility: str
    sent_at: datetime
    patient_id: str | None
    bed: str | None
    observations: tuple[DeviceObservation, ...]
    raw: str


def parse_pcd01(text: str) -> Pcd01Message:
    """Parse one ORU^R01 message; raises MalformedMessage / UnsupportedMessage naming the field."""
    lines = text.replace("\r\n", "\r").replace("\n", "\r").strip("\x0b\x1c").split("\r")
    normalised = "\r".join(line for line in lines if line.strip())  # blank segments happen
    if not normalised.startswith("MSH|"):
        raise MalformedMessage("the message does not start with an MSH segment", field="MSH")
    try:
        message = hl7.parse(normalised)
        msh = message.segment("MSH")
    except (KeyError, IndexError, ValueError) as error:
        raise MalformedMessage(f"not parseable HL7 v2: {error}", field="MSH") from None
    message_type = _field(msh, 9)
    if not message_type.startswith("ORU^R01"):
        raise UnsupportedMessage(
            f"MSH-9 '{message_type}' is not ORU^R01 (IHE PCD-01)", field="MSH-9"
        )
    control_id = _field(msh, 10)
    if not control_id:
        raise MalformedMessage("MSH-10 (message control id) is empty", field="MSH-10")
    sent_at = parse_hl7_time(_field(msh, 7), "MSH-7")
    return Pcd01Message(
        control_id=control_id,
        sending_application=_field(msh, 3),
        sending_facility=_field(msh, 4),
        sent_at=sent_at,
        patient_id=_component(message, "PID", 3, 0) or None,
        bed=_component(message, "PV1", 3, 1) or None,
        observations=tuple(_observations(message, sent_at)),
        raw=normalised,
    )


def _field(segment: hl7.Segment, index: int) -> str:
    return str(segment[index]) if len(segment) > index else ""


def _component(message: hl7.Message, name: str, field: int, component: int) -> str:
    try:
        segment = message.segment(name)
    except KeyError:
        return ""
    if len(segment) <= field:
        return ""
    value = segment[field][0]
    if isinstance(value, str):
        return value if component == 0 else ""
    return str(value[component]) if len(value) > component else ""


def _observations(message: hl7.Message, sent_at: datetime) -> list[DeviceObservation]:
    try:
        obr_time = _field(message.segment("OBR"), 7)
    except KeyError:
        obr_time = ""
    default_time = parse_hl7_time(obr_time, "OBR-7") if obr_time else sent_at
    found = []
    try:
        rows = message.segments("OBX")
    except KeyError:
        return []
    for index, obx in enumerate(rows, 1):
        if _field(obx, 11) == "X" or not _field(obx, 5):
            continue  # device-hierarchy row (MDS/VMD/channel), no value
        code_text, ref = (_code_part(obx, 0), _code_part(obx, 1))
        try:
            code = int(code_text)
            value = Decimal(_field(obx, 5))
        except (ValueError, InvalidOperation):
            raise MalformedMessage(
                f"OBX {index}: code '{code_text}' or value '{_field(obx, 5)}' is not numeric",
                field=f"OBX[{index}]",
            ) from None
        observed = _field(obx, 14)
        found.append(
            DeviceObservation(
                mdc_code=code,
                mdc_ref=ref,
                containment=_field(obx, 4),
                value=value,
                unit=_unit(obx),
                observed_at=parse_hl7_time(observed, f"OBX[{index}]-14")
                if observed
                else default_time,
            )
        )
    return found


def _code_part(obx: hl7.Segment, component: int) -> str:
    value = obx[3][0]
    if isinstance(value, str):
        return value if component == 0 else ""
    return str(value[component]) if len(value) > component else ""


def _unit(obx: hl7.Segment) -> str:
    if len(obx) <= 6:
        return ""
    value = obx[6][0]
    return value if isinstance(value, str) else str(value[0])


def to_vital_signs(message: Pcd01Message) -> VitalSigns:
    """The mapped vital signs of a message (latest observation time); raises UnmappableMessage
    when nothing maps, InvalidVitalSigns when a value is implausible."""
    values: dict[str, Decimal] = {}
    times = []
    for obs in message.observations:
        mapping = MDC_TO_FIELD.get(obs.mdc_code)
        if mapping is None:
            continue
        field, unit = mapping
        value = obs.value
        if field == "temperature_c" and obs.unit in (str(MDC_DIM_FAHR), "[degF]"):
            value = ((value - 32) * 5 / 9).quantize(Decimal("0.01"))
        elif obs.unit not in (str(unit), UCUM_UNITS[unit]):
            raise UnmappableMessage(
                f"{obs.mdc_ref or obs.mdc_code} has unit '{obs.unit}', expected {unit}",
                field="OBX-6",
            )
        values[field] = value
        times.append(obs.observed_at)
    if not values:
        raise UnmappableMessage("no observation maps to a vital sign", field="OBX-3")
    # Every mapped field is a Decimal field of VitalSigns (MDC_TO_FIELD); implausible values
    # raise InvalidVitalSigns naming the field.
    return VitalSigns(measured_at=max(times), source="device", **values)  # type: ignore[arg-type]
