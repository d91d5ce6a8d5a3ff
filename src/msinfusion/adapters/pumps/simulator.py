"""A simulated smart pump and its gateway: PCD-03 orders in, PCD-10 events out, one machine.

For demos and tests only. The simulator plays the IHE PIV Infusion Order Consumer and the
pump behind it (``msinfusion pumps simulate``):

- an order (RGV^O15) is checked against the pump's own library (the exported drug library's
  ``rate_hard_max_ml_per_h`` for RXG-4, the second check after the engine's) and answered
  ACK^O15: CA, or CE with ERR-5 ``9024`` (library hard limit exceeded), ``9010`` (drug not in
  the library) or ``9001`` (unknown pump). An accepted order waits, like a real pump, for the
  nurse to confirm it at the pump (``confirm``; ``auto_confirm`` does it for the nurse) or
  reject it there (``reject``). Either way the gateway then sends its application answer,
  RRG^O16 (IHE PCD TF-2 §3.3.5), on a connection of its own to the listener: AA when the
  nurse confirmed, AE with ERR-5 ``9023`` (program rejected by the user) when not.
  A resent order (same ORC-2) is answered as before and never programmed twice.
- the pump runs at the confirmed rate on the simulator's clock (which can be sped up), and
  reports PCD-10 events: the start at each confirmed rate, a manual rate change at the pump
  (``set_rate_at_pump``), an occlusion (``occlude``), the completion with its volume when the
  volume to be infused is reached.
- an event (or RRG) the listener cannot take (connection lost) stays in the pump's own buffer
  and is sent, in order, with the next one (``flush``): nothing is lost.

Volumes are exact (``Fraction``): volume += rate x elapsed hours, capped at the VTBI.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction

from msinfusion.adapters.hl7.ack import escape
from msinfusion.adapters.hl7.er7 import Segment, parse_segments, split_messages
from msinfusion.adapters.hl7.hl7_time import hl7_time
from msinfusion.adapters.hl7.mllp import send_frames_sync
from msinfusion.adapters.pumps.pcd03 import is_application_answer, write_application_answer
from msinfusion.adapters.pumps.pcd10 import write_report
from msinfusion.errors import MsinfusionError

log = logging.getLogger(__name__)

SECONDS_PER_HOUR = 3600


@dataclass(frozen=True, slots=True, kw_only=True)
class Program:
    order_id: str
    order_control: str
    drug_id: str
    drug_name: str
    rate_ml_per_h: Fraction
    vtbi_ml: Fraction | None
    patient_id: str


@dataclass(slots=True)
class SimulatedPump:
    """One pump channel: what it runs, what it has delivered, what waits for confirmation."""

    pump_id: str
    chair_name: str = ""
    program: Program | None = None
    pending: Program | None = None
    rate_ml_per_h: Fraction = Fraction(0)
    vtbi_ml: Fraction = Fraction(0)
    volume_ml: Fraction = Fraction(0)
    running: bool = False
    last_at: datetime | None = None
    answered: dict[str, str] = field(default_factory=dict)
    """Order id (ORC-2) -> the answer sent: a resend gets it again, nothing is reprogrammed."""


class PumpSimulator:
    """Pumps behind one gateway (see the module docstring)."""

    def __init__(
        self,
        *,
        pump_ids: tuple[str, ...],
        library_max_rate: Mapping[str, Fraction],
        clock: Callable[[], datetime],
        send: Callable[[str], str] | None = None,
        auto_confirm: bool = False,
    ) -> None:
        self._pumps = {p: SimulatedPump(pump_id=p) for p in pump_ids}
        self._library = dict(library_max_rate)
        self._clock = clock
        self._send = send
        self._auto_confirm = auto_confirm
        self._unsent: list[str] = []
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self.orders_received: list[str] = []
        self.events_sent: list[str] = []
        """The PCD-10 reports the listener took, in order."""
        self.answers_sent: list[str] = []
        """The RRG^O16 application answers the listener took, in order."""
        self.library_version = ""
        """The drug-library version the pumps report (``MDC_PUMP_DRUG_LIBRARY_VERSION``)."""
        self.drop_next_answer = False
        """Test hook: close the next order's connection without answering (a lost ACK)."""

    def use_sender(self, send: Callable[[str], str] | None) -> None:
        """Where events go from now on (None: nowhere, they wait in the pump's buffer)."""
        with self._lock:
            self._send = send

    def pump(self, pump_id: str) -> SimulatedPump:
        return self._pumps[pump_id]

    @staticmethod
    def library_from_json(document: Mapping[str, object]) -> dict[str, Fraction]:
        """``library_drug_id`` -> hard maximum rate, from ``catalog drug-library`` JSON."""
        entries = document.get("entries", [])
        assert isinstance(entries, list)
        return {
            str(e["library_drug_id"]): Fraction(str(e["rate_hard_max_ml_per_h"]))
            for e in entries
            if isinstance(e, dict)
        }

    # -- orders in ------------------------------------------------------------------------
    def answer_order(self, text: str) -> str:
        """The gateway's ACK^O15 to one RGV^O15 ('' when ``drop_next_answer``)."""
        with self._lock:
            self.orders_received.append(text)
            segments = parse_segments(split_messages(text)[0])
            by_name = {s.name: s for s in reversed(segments)}
            msh, orc, rxg = by_name["MSH"], by_name["ORC"], by_name["RXG"]
            obx = next(s for s in segments if s.name == "OBX" and "69986" in s.field(3))
            pump_id, order_id = obx.component(18, 1), orc.component(2, 1)
            pump = self._pumps.get(pump_id)
            if pump is not None and order_id in pump.answered:
                answer = pump.answered[order_id]
            else:
                error = self._program(pump, orc, rxg, by_name.get("PID"))
                answer = self._ack(msh.text(10), error)
                if pump is not None:
                    pump.answered[order_id] = answer
            if self.drop_next_answer:
                self.drop_next_answer = False
                return ""
            if self._auto_confirm and pump is not None and pump.pending is not None:
                threading.Timer(0.05, self.confirm, args=(pump_id,)).start()
            return answer

    def _program(
        self, pump: SimulatedPump | None, orc: Segment, rxg: Segment, pid: Segment | None
    ) -> tuple[str, str] | None:
        """Program ``pump`` (pending confirmation), or the PIV error code and text."""
        if pump is None:
            return ("9001", "Unknown pump or channel")
        drug_id = rxg.component(4, 1)
        if drug_id not in self._library:
            return ("9010", "Drug not in the library")
        rate = Fraction(rxg.text(15))
        if rate > self._library[drug_id]:
            return ("9024", "Library hard limit exceeded")
        vtbi = rxg.text(5)
        patient = "" if pid is None else pid.component(3, 1)
        pump.pending = Program(
            order_id=orc.component(2, 1),
            order_control=orc.text(1),
            drug_id=drug_id,
            drug_name=rxg.component(4, 2),
            rate_ml_per_h=rate,
            vtbi_ml=Fraction(vtbi) if vtbi else None,
            patient_id=patient,
        )
        return None

    def _ack(self, control_id: str, error: tuple[str, str] | None) -> str:
        now = hl7_time(self._clock())
        head = f"MSH|^~\\&|PUMPSIM||MSINFUSION||{now}||ACK^O15^ACK|SIM-{next(self._ids)}|P|2.6"
        if error is None:
            return f"{head}\rMSA|CA|{escape(control_id)}\r"
        code, text = error
        return (
            f"{head}\rMSA|CE|{escape(control_id)}\r"
            f"ERR||ORC^1|207^Application internal error^HL70357|E|{code}^{text}\r"
        )

    # -- the pump -------------------------------------------------------------------------
    def _advance(self, pump: SimulatedPump, to: datetime) -> datetime | None:
        """Deliver up to ``to``; the time the VTBI was reached on the way, if it was."""
        last = pump.last_at or to
        pump.last_at = to
        if not pump.running or to <= last:
            return None
        hours = Fraction((to - last) // timedelta(microseconds=1), SECONDS_PER_HOUR * 10**6)
        delivered = pump.volume_ml + pump.rate_ml_per_h * hours
        if delivered < pump.vtbi_ml:
            pump.volume_ml = delivered
            return None
        needed_h = (pump.vtbi_ml - pump.volume_ml) / pump.rate_ml_per_h
        pump.volume_ml = pump.vtbi_ml
        pump.running = False
        return last + timedelta(microseconds=round(needed_h * SECONDS_PER_HOUR * 10**6))

    def advance(self) -> None:
        """Run every pump to the clock's now; report each completion reached."""
        with self._lock:
            now = self._clock()
            for pump in self._pumps.values():
                done = self._advance(pump, now)
                if done is not None:
                    self._report(pump, "delivery-complete", done)

    def confirm(self, pump_id: str) -> None:
        """The nurse confirms the pending program at the pump: it runs, the start is reported."""
        with self._lock:
            pump = self._pumps[pump_id]
            program = pump.pending
            if program is None:
                raise MsinfusionError(f"pump {pump_id} has no program to confirm")
            now = self._clock()
            self._advance(pump, now)
            if program.order_control == "RE" and program.vtbi_ml is not None:
                pump.volume_ml, pump.vtbi_ml = Fraction(0), program.vtbi_ml
            pump.program, pump.pending = program, None
            pump.rate_ml_per_h, pump.running = program.rate_ml_per_h, True
            self._application_answer(program, None)
            self._report(pump, "delivery-started", now)

    def reject(
        self, pump_id: str, code: str = "9023", text: str = "Program rejected by the user"
    ) -> None:
        """The nurse rejects the pending program at the pump: nothing runs; the gateway's
        RRG^O16 says so (AE, ERR-5 ``code^text``)."""
        with self._lock:
            pump = self._pumps[pump_id]
            program = pump.pending
            if program is None:
                raise MsinfusionError(f"pump {pump_id} has no program to reject")
            pump.pending = None
            self._application_answer(program, (code, text))
            self.flush()

    def _application_answer(self, program: Program, error: tuple[str, str] | None) -> None:
        self._unsent.append(
            write_application_answer(
                message_id=f"RRG-{next(self._ids)}",
                order_id=program.order_id,
                patient_id=program.patient_id,
                now=self._clock(),
                error=error,
            )
        )

    def set_rate_at_pump(self, pump_id: str, rate_ml_per_h: Fraction) -> None:
        """A nurse changes the rate by hand at the pump (no order)."""
        with self._lock:
            pump = self._pumps[pump_id]
            now = self._clock()
            self._advance(pump, now)
            pump.rate_ml_per_h, pump.running = rate_ml_per_h, True
            self._report(pump, "delivery-started", now)

    def occlude(self, pump_id: str) -> None:
        """A downstream occlusion: the pump stops and alarms."""
        with self._lock:
            pump = self._pumps[pump_id]
            now = self._clock()
            self._advance(pump, now)
            pump.running = False
            self._report(pump, "alarm", now, alarm="occlusion")

    def _report(
        self, pump: SimulatedPump, kind: str, at: datetime, *, alarm: str | None = None
    ) -> None:
        program = pump.program
        text = write_report(
            control_id=f"{pump.pump_id}-{next(self._ids)}",
            pump_id=pump.pump_id,
            kind=kind,
            at=at,
            now=self._clock(),
            rate_ml_per_h=pump.rate_ml_per_h if kind == "delivery-started" else None,
            pump_volume_ml=pump.volume_ml,
            order_id=None if program is None else program.order_id,
            drug_id="" if program is None else program.drug_id,
            drug_name="" if program is None else program.drug_name,
            library_version=self.library_version,
            alarm=alarm,
            patient_id="" if program is None else program.patient_id,
            chair_name=pump.chair_name,
        )
        self._unsent.append(text)
        self.flush()

    def flush(self) -> int:
        """Send the buffered events in order; stop at the first that cannot be sent."""
        sent = 0
        with self._lock:
            while self._unsent and self._send is not None:
                try:
                    self._send(self._unsent[0])
                except (OSError, TimeoutError, EOFError):
                    log.warning("pump event not delivered: kept in the pump's buffer")
                    break
                text = self._unsent.pop(0)
                (self.answers_sent if is_application_answer(text) else self.events_sent).append(
                    text
                )
                sent += 1
        return sent

    @property
    def unsent(self) -> tuple[str, ...]:
        return tuple(self._unsent)


def mllp_sender(host: str, port: int, *, timeout_s: float = 10.0) -> Callable[[str], str]:
    """Send one PCD-10 over MLLP; the listener's ACK^R42."""
    return lambda text: send_frames_sync(host, port, [text], timeout_s=timeout_s)[0]
