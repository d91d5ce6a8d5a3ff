"""IHE PIV PCD-03 (Communicate Infusion Order): RGV^O15 out, the gateway's ACK^O15 back.

Field by field after IHE PCD TF-2 Rev 8.0 §3.3 (PCD-03) and its RGV^O15 examples
(https://github.com/IHEPCD/ihe-ocd-tf-2019/blob/master/markdown/IHE_PCD_TF_Rev8-0_Vol2_FT_2018-10-23.md),
as the device-interop dossier §D restates them:

- MSH-15/16 ``AL``/``AL``; MSH-21 the RGV profile OID 1.3.6.1.4.1.19376.1.6.1.3.1;
  MSH-10 ``RGV-<order id>`` (a resend is the same message, the gateway can tell).
- ORC-1 ``RE`` for the start of a bag, ``XO`` for a rate change on the running infusion; ORC-2
  the order id; ORC-9 when the nurse confirmed it (the gateway rejects stale ones, 9022);
  ORC-19 the nurse.
- RXG-4 the library drug id (our protocol id, the drug library's ``library_drug_id``) and the
  drug's name; RXG-5/7 the volume to be infused in mL (``RE`` only: PIV leaves them empty for
  ``XO``); RXG-15/16 the rate in mL/h; RXG-17/18 the drug amount in mg and RXG-23/24 the bag
  volume in mL (concentration = RXG-17 / RXG-23).
- TQ1 with its set id only: PIV makes it optional, base HL7 v2.6 requires the timing group
  (dossier §D), so an empty one keeps strict base-standard validators satisfied.
- RXR ``IV`` route, ``IVP`` device (LVP), ``IV`` primary.
- OBX ``69986^MDC_DEV_PUMP_INFUS_VMD^MDC`` with the pump's serial number in OBX-18.

Times are arguments, so golden files are byte-exact.
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction

from msinfusion.adapters.hl7.ack import composite, escape
from msinfusion.adapters.hl7.er7 import parse_segments, split_messages
from msinfusion.adapters.hl7.hl7_time import hl7_time
from msinfusion.application.pump_ports import GatewayAnswer, OrderContent
from msinfusion.errors import MalformedMessage
from msinfusion.session.rules import format_number

SENDING_APPLICATION = "MSINFUSION"
RGV_PROFILE = "IHE_PCD_RGV_O15^IHE PCD^1.3.6.1.4.1.19376.1.6.1.3.1^ISO"
ML = "263762^MDC_DIM_MILLI_L^MDC"
ML_PER_H = "265266^MDC_DIM_MILLI_L_PER_HR^MDC"
MG = "263890^MDC_DIM_MILLI_G^MDC"
PUMP_VMD = "69986^MDC_DEV_PUMP_INFUS_VMD^MDC"
SEGMENT_END = "\r"


def number(value: Fraction) -> str:
    """A quantity as HL7 NM text: exact decimals, at most two places (``format_number``)."""
    return format_number(value)


def control_id(order_id: str) -> str:
    return f"RGV-{order_id}"


class Pcd03Writer:
    """The ``OrderWriter`` of ``application.pump_ports``: one RGV^O15 per order."""

    def __init__(self, *, facility: str = "", gateway_application: str = "PUMP_GATEWAY") -> None:
        self._facility = facility
        self._gateway = gateway_application

    def write(self, order: OrderContent, *, now: datetime) -> str:
        msh = "|".join(
            [
                "MSH",
                "^~\\&",
                SENDING_APPLICATION,
                escape(self._facility),
                escape(self._gateway),
                "",
                hl7_time(now),
                "",
                "RGV^O15^RGV_O15",
                escape(control_id(order.order_id)),
                "P",
                "2.6",
                "",
                "",
                "AL",
                "AL",
                "",
                "UNICODE UTF-8",
                "",
                "",
                RGV_PROFILE,
            ]
        )
        birth = (
            "" if order.patient_birth_date is None else order.patient_birth_date.strftime("%Y%m%d")
        )
        pid = f"PID|||{composite([order.patient_id, '', '', SENDING_APPLICATION, 'PI'])}||" + (
            f"{escape(order.patient_name)}^^^^^^L||{birth}"
        )
        pv1 = f"PV1||O|^^{escape(order.chair_name)}"
        orc = "|".join(
            [
                "ORC",
                order.order_control,
                f"{escape(order.order_id)}^{SENDING_APPLICATION}",
                *[""] * 6,
                hl7_time(order.requested_at),
                *[""] * 9,
                escape(order.requested_by),
            ]
        )
        is_new_bag = order.order_control == "RE"
        rxg = "|".join(
            [
                "RXG",
                "1",
                "",
                "",
                composite([order.library_drug_id, order.drug_name, SENDING_APPLICATION]),
                number(order.volume_to_be_infused_ml) if is_new_bag else "",
                "",
                ML if is_new_bag else "",
                *[""] * 7,
                number(order.rate_ml_per_h),
                ML_PER_H,
                number(order.drug_amount_mg),
                MG,
                *[""] * 4,
                number(order.diluent_volume_ml),
                ML,
            ]
        )
        tq1 = "TQ1|1"  # no timing constraint; present because base v2.6 requires the group
        rxr = "RXR|IV^Intravenous^HL70162||IVP|IV"
        obx = f"OBX|1||{PUMP_VMD}|1.1.0.0|||||||F|||||||{escape(order.pump_id)}"
        return SEGMENT_END.join([msh, pid, pv1, orc, rxg, tq1, rxr, obx]) + SEGMENT_END


def read_order_answer(text: str) -> GatewayAnswer:
    """The gateway's ACK^O15: CA (or AA) accepted; CE/CR/AE/AR with ERR-5 code and text."""
    lines = split_messages(text)[0]
    segments = parse_segments(lines)
    msa = next((s for s in segments if s.name == "MSA"), None)
    if msa is None:
        raise MalformedMessage("the answer has no MSA segment", field="MSA")
    code = msa.text(1)
    if code in ("CA", "AA"):
        return GatewayAnswer(accepted=True)
    err = next((s for s in segments if s.name == "ERR"), None)
    if err is None:
        return GatewayAnswer(accepted=False, code=code, reason=msa.text(3) or None)
    reason = err.component(5, 2) or err.text(8) or err.component(3, 2)
    extra = err.component(5, 9)
    return GatewayAnswer(
        accepted=False,
        code=err.component(5, 1) or err.component(3, 1) or code,
        reason=f"{reason} ({extra})" if extra else reason or None,
    )
