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

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from msinfusion.adapters.hl7.ack import build_ack, composite, escape
from msinfusion.adapters.hl7.er7 import Segment, header_field, parse_segments, split_messages
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
    return _answer_of(parse_segments(split_messages(text)[0]), accepted=("CA", "AA"))


def _answer_of(segments: list[Segment], *, accepted: tuple[str, ...]) -> GatewayAnswer:
    msa = next((s for s in segments if s.name == "MSA"), None)
    if msa is None:
        raise MalformedMessage("the answer has no MSA segment", field="MSA")
    code = msa.text(1)
    if code in accepted:
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


# -- RRG^O16: the gateway's application answer, later, on a connection of its own ----------
# IHE PCD TF-2 Rev 8.0 §3.3.5 (Table 3.3.5-1): MSH R, MSA R (MSA-1 AA / AE / AR, MSA-2 the
# RGV's MSH-10), ERR C (when not AA: ERR-5 the PIV code and text, Appendix B.3), PID O, ORC O
# (ORC-2 the order id); TQ1, RXG, RXR, NTE and SFT are not used (X). MSH-15 AL, MSH-16 NE; the
# IOP (us) answers ACK^O16^ACK (device-interop dossier §D, "Responses"). MSH-21's OID is the
# RRG profile's, 1.3.6.1.4.1.19376.1.6.1.3.2; its EI-1 text follows the RGV's naming.

RRG_PROFILE = "IHE_PCD_RRG_O16^IHE PCD^1.3.6.1.4.1.19376.1.6.1.3.2^ISO"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationAnswer:
    """One RRG^O16: the order it answers (ORC-2, else MSA-2 without ``RGV-``) and how."""

    order_id: str
    answer: GatewayAnswer


def read_application_answer(text: str) -> ApplicationAnswer:
    """The RRG^O16 in ``text``; ``MalformedMessage`` naming the field otherwise."""
    segments = parse_segments(split_messages(text)[0])
    msh = next((s for s in segments if s.name == "MSH"), None)
    if msh is None or msh.component(9, 1) != "RRG" or msh.component(9, 2) != "O16":
        raise MalformedMessage("not an RRG^O16 application answer", field="MSH-9")
    answer = _answer_of(segments, accepted=("AA",))
    orc = next((s for s in segments if s.name == "ORC"), None)
    order_id = "" if orc is None else orc.component(2, 1)
    if not order_id:
        msa = next(s for s in segments if s.name == "MSA")
        acked = msa.text(2)
        order_id = acked.removeprefix("RGV-") if acked.startswith("RGV-") else ""
    if not order_id:
        raise MalformedMessage("the answer names no order (ORC-2 or MSA-2)", field="ORC-2")
    return ApplicationAnswer(order_id=order_id, answer=answer)


def is_application_answer(text: str) -> bool:
    """Whether ``text`` is an RRG (the listener routes it here, a PCD-10 to the feed)."""
    lines = split_messages(text)
    msh = lines[0][0] if lines and lines[0] else ""
    return msh.startswith("MSH") and header_field(msh, 9).startswith("RRG")


def acknowledge_application_answer(text: str, *, now: datetime, error: Exception | None) -> str:
    """ACK^O16^ACK to an RRG: AA, or AE/AR naming the problem (an order unknown here)."""
    lines = split_messages(text)
    msh = lines[0][0] if lines and lines[0] else ""
    control = header_field(msh, 10) if msh.startswith("MSH") else ""
    return build_ack(
        control_id=f"ACK-{control}" if control else "ACK-UNREADABLE",
        acked_control_id=control or None,
        sending_application=header_field(msh, 3).split("^") if control else None,
        sending_facility=header_field(msh, 4).split("^") if control else None,
        now=now,
        error=error,
        trigger="O16",
    )


def write_application_answer(
    *,
    message_id: str,
    order_id: str,
    patient_id: str,
    now: datetime,
    error: tuple[str, str] | None = None,
    gateway_application: str = "PUMP_GATEWAY",
) -> str:
    """An RRG^O16 for order ``order_id`` (the simulated gateway's): AA, or AE with ERR-5
    ``error`` = (PIV code, text), e.g. ``("9023", "Program rejected by the user")``."""
    msh = "|".join(
        [
            "MSH",
            "^~\\&",
            escape(gateway_application),
            "",
            SENDING_APPLICATION,
            "",
            hl7_time(now),
            "",
            "RRG^O16^RRG_O16",
            escape(message_id),
            "P",
            "2.6",
            "",
            "",
            "AL",
            "NE",
            "",
            "UNICODE UTF-8",
            "",
            "",
            RRG_PROFILE,
        ]
    )
    segments = [msh, f"MSA|{'AA' if error is None else 'AE'}|{escape(control_id(order_id))}"]
    if error is not None:
        code, text = error
        segments.append(
            f"ERR||ORC^1|207^Application internal error^HL70357|E|{escape(code)}^{escape(text)}"
        )
    if patient_id:
        # PID-5 is required in base v2.6: the name is not the gateway's to send (type U)
        pid = composite([patient_id, "", "", SENDING_APPLICATION, "PI"])
        segments.append(f"PID|||{pid}||^^^^^^U")
    # HL7 table 0119: OK order accepted, UA unable to accept
    control = "OK" if error is None else "UA"
    segments.append(f"ORC|{control}|{escape(order_id)}^{SENDING_APPLICATION}")
    return SEGMENT_END.join(segments) + SEGMENT_END
