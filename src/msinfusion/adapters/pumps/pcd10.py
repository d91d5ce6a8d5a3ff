"""IHE IPEC PCD-10 (Communicate Infusion Event Data): ORU^R42 in, ACK^R42 out.

After the IPEC supplement Rev 1.5 (2015-11-25) and its example messages
(https://github.com/IHEPCD/ihe-ocd-tf-2019/blob/master/markdown/IHE_PCD_Suppl_IPEC_Rev1.5_TI_2015-11-25.md),
as the device-interop dossier §E restates it. One message is one event of one pump:

- MSH-9 ``ORU^R42^ORU_R01``, MSH-21 the IPEC OID 1.3.6.1.4.1.19376.1.6.4.10;
- OBR-2 echoes the PCD-03 order id, OBR-7 is the event's time (the pump's clock), OBR-4 the
  library drug id;
- the MDS row (OBX-3 ``70049^MDC_DEV_PUMP_INFUS_LVP_MDS``) carries the pump's serial number in
  OBX-18 (EI-1): the key of the pump's association with a chair;
- rows follow the supplement's delivery-start sample message (X.1.2.2), with its pending
  codes (0) where IPEC gives no code;
- the event facet ``MDC_ATTR_EVT_COND`` holds the event in OBX-5: ``MDC_EVT_PUMP_DELIV_START``
  (197288), ``MDC_EVT_PUMP_DELIV_STOP`` (no published code: sent and read by REFID only,
  **unverified**), ``MDC_EVT_PUMP_DELIV_COMP`` (197292);
- a STOP with reason ``pump-stopped-alarming`` and an ``MDC_EVT_ALARM`` row naming the alarm
  (``MDC_EVT_OCCL`` 3::80 = 196688) is an alarm stop; a START whose active source is
  ``pump-source-info-loading`` is a bolus;
- rate ``MDC_FLOW_FLUID_PUMP`` 157784 in mL/h, cumulative volume ``MDC_VOL_FLUID_DELIV_TOTAL``
  157993 in mL.

The facet attribute codes 68487/68488 and the status terms are grade B/C in the dossier (IPEC
shows them as pending); event rows are therefore matched by REFID as well as by code.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from msinfusion.adapters.hl7.ack import build_ack, escape
from msinfusion.adapters.hl7.er7 import Segment, header_field, parse_segments, split_messages
from msinfusion.adapters.hl7.hl7_time import hl7_time, offset_of, parse_hl7_time
from msinfusion.application.pump_ports import PumpReport
from msinfusion.errors import MalformedMessage, UnsupportedMessage

IPEC_PROFILE = "IHE_PCD_IPEC^IHE PCD^1.3.6.1.4.1.19376.1.6.4.10^ISO"
LVP_MDS = "70049^MDC_DEV_PUMP_INFUS_LVP_MDS^MDC"
LVP_VMD = "70050^MDC_DEV_PUMP_INFUS_LVP_VMD^MDC"
DELIVERY_CHANNEL = "126978^MDC_DEV_PUMP_INFUS_CHAN_DELIVERY^MDC"
EVENT_CONDITION = "0^MDC_ATTR_EVT_COND^MDC"
EVENT_SOURCE = "0^MDC_ATTR_EVT_SOURCE^MDC"
"""Code 0: pending in IPEC Rev 1.5, as its sample message writes them (two implementations use
68487/68488, dossier grade B); rows are read by REFID."""
LIBRARY_VERSION = "184517^MDC_PUMP_DRUG_LIBRARY_VERSION^MDC"
DELIVERY_INFO = "0^MDC_DEV_PUMP_DELIVERY_INFO^MDC"
INFUSING_STATUS = "184519^MDC_PUMP_INFUSING_STATUS^MDC"
FLOW_CURRENT = "0^MDC_FLOW_FLUID_PUMP_CURRENT^MDC"
SOURCE_PRIMARY = "0^MDC_DEV_PUMP_INFUSATE_SOURCE_PRIMARY^MDC"
DELIVERY_STATUS = "0^MDC_DEV_PUMP_CURRENT_DELIVERY_STATUS^MDC"
DELIVERY_MODE = "0^MDC_DEV_PUMP_PROGRAM_DELIVERY_MODE^MDC"
DRUG_NAME = "184514^MDC_DRUG_NAME_LABEL^MDC"
ALARM = "196616^MDC_EVT_ALARM^MDC"
RATE = "157784^MDC_FLOW_FLUID_PUMP^MDC"
VOLUME_TOTAL = "157993^MDC_VOL_FLUID_DELIV_TOTAL^MDC"
NOT_DELIVERING_REASON = "0^MDC_DEV_PUMP_NOT_DELIVERING_REASON^MDC"
ACTIVE_SOURCES = "0^MDC_DEV_PUMP_ACTIVE_SOURCES^MDC"
ML = "263762^MDC_DIM_MILLI_L^MDC^mL^mL^UCUM"
ML_PER_H = "265266^MDC_DIM_MILLI_L_PER_HR^MDC^mL/h^mL/h^UCUM"
MEDICATION_UNKNOWN = "999999^Medication Unknown"
"""OBR-4 when the pump runs no library drug (TF-2 OBR-4)."""

EVENTS = {
    "MDC_EVT_PUMP_DELIV_START": "197288^MDC_EVT_PUMP_DELIV_START^MDC",
    "MDC_EVT_PUMP_DELIV_STOP": "^MDC_EVT_PUMP_DELIV_STOP^MDC",
    "MDC_EVT_PUMP_DELIV_COMP": "197292^MDC_EVT_PUMP_DELIV_COMP^MDC",
}
ALARMS = {"occlusion": "196688^MDC_EVT_OCCL^MDC"}
_ALARM_NAMES = {"MDC_EVT_OCCL": "occlusion", "MDC_EVT_EMPTY": "container empty"}
_CODES = {
    "197288": "MDC_EVT_PUMP_DELIV_START",
    "197292": "MDC_EVT_PUMP_DELIV_COMP",
    "70049": "MDC_DEV_PUMP_INFUS_LVP_MDS",
    "69985": "MDC_DEV_PUMP_INFUS_MDS",
    "157784": "MDC_FLOW_FLUID_PUMP",
    "157993": "MDC_VOL_FLUID_DELIV_TOTAL",
    "196616": "MDC_EVT_ALARM",
    "196688": "MDC_EVT_OCCL",
}


def _refid(segment: Segment, number: int) -> str:
    """The REFID of a CWE (component 2), or the REFID a known code stands for."""
    refid = segment.component(number, 2)
    return refid or _CODES.get(segment.component(number, 1), "")


def _quantity(segment: Segment, field: str) -> Fraction:
    text = segment.text(5)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise MalformedMessage(f"{field} '{text[:16]}' is not a number", field=field) from None
    if not value.is_finite() or value < 0:
        raise MalformedMessage(f"{field} must be a finite number of zero or more", field=field)
    return Fraction(value)


class Pcd10Codec:
    """The ``PumpEventCodec`` of ``application.pump_ports`` for ORU^R42."""

    def decode(self, text: str) -> PumpReport:  # noqa: PLR0912 - one pass over the rows
        lines = split_messages(text)[0]
        segments = parse_segments(lines)
        msh = segments[0]
        if msh.component(9, 1) != "ORU" or msh.component(9, 2) != "R42":
            raise UnsupportedMessage("MSH-9 must be ORU^R42 (IHE IPEC PCD-10)", field="MSH-9")
        control = msh.text(10)
        if not control:
            raise MalformedMessage("MSH-10 (message control id) is empty", field="MSH-10")
        zone = offset_of(msh.text(7))
        obr = next((s for s in segments if s.name == "OBR"), None)
        if obr is None:
            raise MalformedMessage("the message has no OBR segment", field="OBR")
        at = parse_hl7_time(obr.text(7), "OBR-7", zone)
        pump_id = event = alarm = reason = source = ""
        rate: Fraction | None = None
        volume: Fraction | None = None
        for row in (s for s in segments if s.name == "OBX"):
            refid = _refid(row, 3)
            if refid in ("MDC_DEV_PUMP_INFUS_LVP_MDS", "MDC_DEV_PUMP_INFUS_MDS"):
                pump_id = row.component(18, 1)
            elif refid == "MDC_ATTR_EVT_COND":
                event = _refid(row, 5)
                if row.text(14):
                    at = parse_hl7_time(row.text(14), "OBX-14", zone)
            elif refid == "MDC_EVT_ALARM":
                alarm = _ALARM_NAMES.get(_refid(row, 5), _refid(row, 5) or "unspecified")
            elif refid == "MDC_DEV_PUMP_NOT_DELIVERING_REASON":
                reason = row.component(5, 2)
            elif refid == "MDC_DEV_PUMP_ACTIVE_SOURCES":
                source = row.component(5, 2)
            elif refid == "MDC_FLOW_FLUID_PUMP":
                if row.component(6, 2) not in ("MDC_DIM_MILLI_L_PER_HR", "") and row.component(
                    6, 1
                ) not in ("265266", "mL/h"):
                    raise MalformedMessage("the rate (OBX-6) must be in mL/h", field="OBX-6")
                rate = _quantity(row, "OBX-5")
            elif refid == "MDC_VOL_FLUID_DELIV_TOTAL":
                volume = _quantity(row, "OBX-5")
        if not pump_id:
            raise MalformedMessage(
                "the pump's serial number (OBX-18 of the MDS row) is missing", field="OBX-18"
            )
        kind = self._kind(event, reason, source, alarm)
        if kind == "delivery-started" and rate is None:
            raise MalformedMessage("a delivery start needs the rate (157784)", field="OBX-5")
        return PumpReport(
            message_key=f"pcd10:{pump_id}:{control}",
            pump_id=pump_id,
            kind=kind,
            at=at,
            rate_ml_per_h=rate if kind in ("delivery-started", "bolus") else None,
            pump_volume_ml=volume,
            order_id=obr.component(2, 1) or None,
            alarm=(alarm or "unspecified") if kind == "alarm" else None,
            patient_id=next((s.component(3, 1) for s in segments if s.name == "PID"), None) or None,
        )

    @staticmethod
    def _kind(event: str, reason: str, source: str, alarm: str) -> str:
        if event == "MDC_EVT_PUMP_DELIV_START":
            return "bolus" if source in ("pump-source-info-loading",) else "delivery-started"
        if event == "MDC_EVT_PUMP_DELIV_STOP":
            return "alarm" if alarm or reason == "pump-stopped-alarming" else "delivery-stopped"
        if event == "MDC_EVT_PUMP_DELIV_COMP":
            return "delivery-complete"
        raise UnsupportedMessage(
            f"the event '{event[:40]}' (MDC_ATTR_EVT_COND) is not one msinfusion records",
            field="OBX-5",
        )

    def answer(self, text: str, *, now: datetime, error: Exception | None) -> str:
        lines = text.replace("\n", "\r").split("\r")
        msh = next(
            (line.strip("\x0b") for line in lines if line.strip("\x0b").startswith("MSH")), ""
        )
        control = header_field(msh, 10) if msh else ""
        return build_ack(
            control_id=f"ACK-{control}" if control else "ACK-UNREADABLE",
            acked_control_id=control or None,
            sending_application=header_field(msh, 3).split("^") if msh else None,
            sending_facility=header_field(msh, 4).split("^") if msh else None,
            now=now,
            error=error,
            trigger="R42",
        )


def write_report(
    *,
    control_id: str,
    pump_id: str,
    kind: str,
    at: datetime,
    now: datetime,
    rate_ml_per_h: Fraction | None = None,
    pump_volume_ml: Fraction | None = None,
    order_id: str | None = None,
    drug_id: str = "",
    drug_name: str = "",
    alarm: str | None = None,
    application: str = "PUMPSIM",
    patient_id: str = "",
    chair_name: str = "",
    library_version: str = "",
) -> str:
    """One ORU^R42 for one event, row for row after the IPEC delivery-start sample message
    (supplement X.1.2.2): the MDS with the event facets, the delivery-information channel,
    then the primary source with its parameters. Terms IPEC lists as pending go with code 0,
    as the sample does. The simulator's and the golden files' writer."""
    from msinfusion.adapters.pumps.pcd03 import number  # noqa: PLC0415 - one formatter

    event = {
        "delivery-started": "MDC_EVT_PUMP_DELIV_START",
        "bolus": "MDC_EVT_PUMP_DELIV_START",
        "delivery-stopped": "MDC_EVT_PUMP_DELIV_STOP",
        "alarm": "MDC_EVT_PUMP_DELIV_STOP",
        "delivery-complete": "MDC_EVT_PUMP_DELIV_COMP",
    }[kind]
    delivering = kind in ("delivery-started", "bolus")
    when = hl7_time(at)
    mds: list[tuple[str, str]] = [
        ("", f"{LVP_MDS}|1.0.0.0|||||||X|||||||{escape(pump_id)}"),
    ]
    if library_version:
        mds.append(("ST", f"{LIBRARY_VERSION}|1.0.0.1|{escape(library_version)}||||||R"))
    mds += [
        ("CWE", f"{EVENT_CONDITION}|1.0.0.2|{EVENTS[event]}||||||R|||{when}"),
        ("ST", f"{EVENT_SOURCE}|1.0.0.3|1.1.2.0||||||R"),
    ]
    if kind == "alarm":
        code = ALARMS.get(alarm or "", "^" + escape(alarm or "unspecified"))
        mds.append(("CWE", f"{ALARM}|1.0.0.4|{code}||||||R"))
    status = "pump-status-infusing" if delivering else "pump-status-not-infusing"
    source = "pump-source-info-loading" if kind == "bolus" else "pump-source-info-primary"
    current = rate_ml_per_h if delivering and rate_ml_per_h is not None else Fraction(0)
    channel: list[tuple[str, str]] = [
        ("", f"{LVP_VMD}|1.1.0.0|||||||X"),
        ("", f"{DELIVERY_INFO}|1.1.1.0|||||||X"),
        ("CWE", f"{INFUSING_STATUS}|1.1.1.1|^{status}||||||R"),
        ("NM", f"{FLOW_CURRENT}|1.1.1.2|{number(current)}|{ML_PER_H}|||||R"),
        ("CWE", f"{ACTIVE_SOURCES}|1.1.1.3|^{source}||||||R"),
        ("", f"{SOURCE_PRIMARY}|1.1.2.0|||||||X"),
        (
            "CWE",
            f"{DELIVERY_STATUS}|1.1.2.1|^pump-delivery-status-"
            f"{'delivering' if delivering else 'not-delivering'}||||||R",
        ),
    ]
    if kind in ("delivery-stopped", "alarm"):
        why = "pump-stopped-alarming" if kind == "alarm" else "pump-stopped-by-clinician"
        channel.append(("CWE", f"{NOT_DELIVERING_REASON}|1.1.2.2|^{why}||||||R"))
    channel.append(
        ("CWE", f"{DELIVERY_MODE}|1.1.2.3|^pump-program-delivery-mode-continuous||||||R")
    )
    if rate_ml_per_h is not None:
        channel.append(("NM", f"{RATE}|1.1.2.4|{number(rate_ml_per_h)}|{ML_PER_H}|||||R"))
    if pump_volume_ml is not None:
        channel.append(("NM", f"{VOLUME_TOTAL}|1.1.2.7|{number(pump_volume_ml)}|{ML}|||||R"))
    if drug_name:
        channel.append(("ST", f"{DRUG_NAME}|1.1.2.10|{escape(drug_name)}||||||R"))
    patient = [f"PID|||{escape(patient_id)}^^^MSINFUSION^PI||^^^^^^U"] if patient_id else []
    if patient and chair_name:
        patient.append(f"PV1||O|^^{escape(chair_name)}")
    placer = f"{escape(order_id)}^MSINFUSION" if order_id else ""
    drug = "^".join(escape(p) for p in (drug_id, drug_name) if p) if drug_id else MEDICATION_UNKNOWN
    segments = [
        f"MSH|^~\\&|{application}||MSINFUSION||{hl7_time(now)}||ORU^R42^ORU_R01"
        f"|{escape(control_id)}|P|2.6|||AL|NE||UNICODE UTF-8|||{IPEC_PROFILE}",
        *patient,
        f"OBR|1|{placer}|{escape(control_id)}^{application}|{drug}|||{when}",
        *(
            f"OBX|{i}|{value_type}|{row}"
            for i, (value_type, row) in enumerate((*mds, *channel), start=1)
        ),
    ]
    return "\r".join(segments) + "\r"
