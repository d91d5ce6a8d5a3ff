"""The pump links over MLLP: orders out to the pump gateway, events in from it.

``MllpPumpGateway`` is the ``PumpGateway`` port: it sends one RGV^O15 over a fresh MLLP
connection and reads the gateway's ACK^O15 (``adapters/hl7/mllp.send_frames_sync``). A refused
or lost connection raises ``OSError``/``TimeoutError``, which leaves the order queued.

``MllpEndpoint`` with ``feed_answerer`` is the PCD-10 listener (``msinfusion pumps listen``):
each frame's text goes to ``PumpFeed.ingest`` in a worker thread and its answer (ACK^R42)
is written back before the next frame is read; an RRG^O16 (the gateway's later application
answer to an order, IHE PCD TF-2 §3.3.5) updates its order instead and is answered ACK^O16.
Framing, frame size and idle limits are the monitor listener's (``adapters/hl7/mllp``):
nothing a pump sends is dropped, a malformed report is quarantined.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Self

import hl7.mllp

from msinfusion.adapters.hl7.mllp import (
    END_BLOCK,
    IDLE_TIMEOUT_S,
    MAX_FRAME_BYTES,
    bound_port,
    frame,
    send_frames_sync,
    stop_background_loop,
    unframe,
)
from msinfusion.adapters.pumps.pcd03 import (
    acknowledge_application_answer,
    is_application_answer,
    read_application_answer,
    read_order_answer,
)
from msinfusion.application.monitoring_ports import Receipt
from msinfusion.application.pump_orders import PumpOrders
from msinfusion.application.pump_ports import GatewayAnswer
from msinfusion.errors import MsinfusionError

log = logging.getLogger(__name__)


class MllpPumpGateway:
    """Orders to one IHE PIV Infusion Order Consumer (the pump vendor's gateway)."""

    def __init__(self, host: str, port: int, *, timeout_s: float = 10.0) -> None:
        self._host, self._port, self._timeout_s = host, port, timeout_s

    def send(self, pump_id: str, message: str) -> GatewayAnswer:
        try:
            answers = send_frames_sync(self._host, self._port, [message], timeout_s=self._timeout_s)
        except EOFError as error:  # the gateway closed the connection before answering
            raise ConnectionError("the pump gateway closed the connection") from error
        return read_order_answer(answers[0])


def feed_answerer(
    ingest: Callable[..., Receipt],
    clock: Callable[[], datetime],
    *,
    orders: PumpOrders | None = None,
) -> Callable[[str], str]:
    """The listener's answer function: an RRG^O16 (the gateway's application answer to an
    order, on a connection of its own) to ``orders`` and ACK^O16 back; everything else to
    ``PumpFeed.ingest`` and its ACK^R42."""

    def answer(text: str) -> str:
        if orders is not None and is_application_answer(text):
            return answer_application(orders, text, now=clock())
        return ingest(text, now=clock()).answer

    return answer


def answer_application(orders: PumpOrders, text: str, *, now: datetime) -> str:
    """Record one RRG^O16 on its order; the ACK^O16 (AE naming the problem: malformed, or an
    order that was never sent from here — nothing is changed then)."""
    try:
        found = read_application_answer(text)
        order = orders.answer(found.order_id, found.answer, now=now)
    except MsinfusionError as error:
        log.warning("RRG^O16 not recorded: %s", error)
        return acknowledge_application_answer(text, now=now, error=error)
    log.info("pump order %s answered by the gateway: %s", order.id, order.status.value)
    return acknowledge_application_answer(text, now=now, error=None)


class MllpEndpoint:
    """``with MllpEndpoint(answer) as endpoint: endpoint.port`` — one answer per frame, on its
    own event-loop thread: the PCD-10 listener (``feed_answerer``) and the simulator's order
    port."""

    def __init__(
        self,
        answer: Callable[[str], str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
    ) -> None:
        self._answer = answer
        self._host, self._port, self._idle_timeout_s = host, port, idle_timeout_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0
        self.frames = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    block = await asyncio.wait_for(
                        reader.readuntil(END_BLOCK), self._idle_timeout_s
                    )
                except (asyncio.IncompleteReadError, TimeoutError, asyncio.LimitOverrunError):
                    return
                self.frames += 1
                answer = await asyncio.to_thread(self._answer, unframe(block))
                if not answer:  # the peer gets no answer (a simulated lost connection)
                    return
                writer.write(frame(answer))
                await writer.drain()
        except ConnectionError:
            return
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def __enter__(self) -> Self:
        self._thread.start()

        async def start() -> asyncio.Server:
            server: asyncio.Server = await hl7.mllp.start_hl7_server(
                self._handle, host=self._host, port=self._port, limit=MAX_FRAME_BYTES
            )
            return server

        self._server = asyncio.run_coroutine_threadsafe(start(), self._loop).result(timeout=10)
        self.port = bound_port(self._server)
        return self

    def serve_forever(self) -> None:
        """Block until interrupted (the CLI)."""
        self._thread.join()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stop_background_loop(self._loop, self._thread, self._server)
