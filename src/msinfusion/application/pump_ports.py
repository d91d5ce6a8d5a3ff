"""What the pump use cases need from the wire: an order writer, a gateway, an event reader.

The HL7 versions live in ``adapters/pumps/`` (IHE PIV PCD-03 RGV^O15 out, IHE IPEC PCD-10
ORU^R42 in) and are registered by ``bootstrap``. The use cases see only these values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderContent:
    """Everything one PCD-03 order carries: patient, drug, concentration, rate, volume to be
    infused, the order id, the pump, who asked and when (ORC-9)."""

    order_id: str
    order_control: str
    pump_id: str
    patient_id: str
    patient_name: str
    patient_birth_date: date | None
    chair_name: str
    library_drug_id: str
    drug_name: str
    drug_amount_mg: Fraction
    diluent_volume_ml: Fraction
    concentration_mg_per_ml: Fraction
    rate_ml_per_h: Fraction
    volume_to_be_infused_ml: Fraction
    requested_at: datetime
    requested_by: str
    weight_kg: Fraction | None = None


class OrderWriter(Protocol):
    def write(self, order: OrderContent, *, now: datetime) -> str:
        """The order as the message to send (HL7: RGV^O15, MSH-10 derived from the order id)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayAnswer:
    """The gateway's answer to one order: ``accepted`` (the pump is programmed and waits for
    the nurse's confirmation at the pump), else ``code`` and ``reason`` (IHE PIV ERR-5, e.g.
    ``9024`` library hard limit exceeded)."""

    accepted: bool
    code: str | None = None
    reason: str | None = None


class PumpGateway(Protocol):
    def send(self, pump_id: str, message: str) -> GatewayAnswer:
        """Send one order and wait for its answer; ``ConnectionError`` (or ``OSError``,
        ``TimeoutError``) when the gateway cannot be reached: the order stays queued."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class PumpReport:
    """One pump event (IHE IPEC: one event per message), in clinical words.

    ``message_key`` is the idempotency key (``pcd10:<pump>:<MSH-10>``); ``at`` the pump's own
    time (OBR-7 / OBX-14); ``kind`` one of ``session.commands.PUMP_EVENT_KINDS``;
    ``pump_volume_ml`` the cumulative volume delivered; ``order_id`` the PCD-03 order it
    answers (OBR-2), when the pump runs one."""

    message_key: str
    pump_id: str
    kind: str
    at: datetime
    rate_ml_per_h: Fraction | None = None
    pump_volume_ml: Fraction | None = None
    order_id: str | None = None
    alarm: str | None = None
    patient_id: str | None = None
    """PID-3 when the pump (its gateway) names the patient: it must be the session's."""


class PumpEventCodec(Protocol):
    def decode(self, text: str) -> PumpReport:
        """The report of ``text``; ``DeviceMessageError`` naming the field otherwise."""
        ...

    def answer(self, text: str, *, now: datetime, error: Exception | None) -> str:
        """The answer (HL7: ACK^R42) to ``text``: accepted when ``error`` is None."""
        ...
