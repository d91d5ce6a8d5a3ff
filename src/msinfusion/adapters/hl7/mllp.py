"""The MLLP listener for bedside monitors: one PCD-01 message in, one ACK out, per frame.

Built on python-hl7's asyncio server (``hl7.mllp.start_hl7_server``) for the connection
handling, but frames are read with ``readuntil(0x1C 0x0D)`` rather than its ``readmessage``:
``readmessage`` parses with ``hl7.parse`` (a malformed message would be lost in an exception)
and ``readblock`` drops a block that lacks the 0x0B start byte. Here every frame's bytes reach
``DeviceFeed.ingest`` — malformed ones are quarantined and answered AR — so nothing a monitor
sends is dropped. The only exception is a frame over ``MAX_FRAME_BYTES`` (1 MiB; PCD-01 vitals
are a few hundred bytes): it is answered AR and the connection is closed, since the stream can
no longer be trusted. A connection idle for ``IDLE_TIMEOUT_S`` (60 s) is closed, and connections
beyond ``MAX_CONNECTIONS`` (256) are closed at once. Log lines name event kinds and opaque ids
only, never message text (it holds PID).

Ingestion is synchronous storage work, so it runs in a worker thread (``asyncio.to_thread``):
one slow commit never stalls the other monitors' connections. Frames that arrive together on
different connections are committed together (``group_commit.GroupCommit``: one transaction,
a savepoint per message, each answered only after that commit). Frames of one connection are
answered in order. ``BackgroundMllpServer`` runs the listener on its own event loop thread (tests,
benchmarks, ``mllp-listen --api-port``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

import hl7.mllp

from msinfusion.adapters.hl7.ack import build_ack
from msinfusion.adapters.hl7.codec import TRANSPORT, Pcd01Codec
from msinfusion.adapters.hl7.group_commit import BATCH_WAIT_S, MAX_BATCH, GroupCommit
from msinfusion.application.monitoring import DeviceFeed
from msinfusion.application.ports import Clock
from msinfusion.errors import MalformedMessage, MsinfusionError

log = logging.getLogger(__name__)

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
MAX_FRAME_BYTES = 1024 * 1024
IDLE_TIMEOUT_S = 60.0
"""A connection that sends no complete frame for this long is closed (monitors send at least
once a minute, PCD TF; a half-sent frame is not a message)."""
MAX_CONNECTIONS = 256
"""Connections beyond this are closed at once (a centre has tens of monitors)."""


def frame(text: str) -> bytes:
    """``text`` as one MLLP frame (UTF-8, as PCD-01's MSH-18 says)."""
    return START_BLOCK + text.encode("utf-8") + END_BLOCK


def unframe(block: bytes) -> str:
    """The text of a frame read up to and including 0x1C 0x0D (start byte optional)."""
    body = block[: -len(END_BLOCK)] if block.endswith(END_BLOCK) else block
    start = body.find(START_BLOCK)
    if start >= 0 and not body[:start].strip():
        body = body[start + 1 :]
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:  # MSH-18 8859/1 and other single-byte senders
        return body.decode("latin-1")


class MllpHandler:
    """The per-connection loop: read a frame, ingest it, write the answer."""

    def __init__(
        self,
        feed: DeviceFeed,
        clock: Clock,
        *,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        max_connections: int = MAX_CONNECTIONS,
        batch_wait_s: float = BATCH_WAIT_S,
        max_batch: int = MAX_BATCH,
    ) -> None:
        if not feed.has_codec(TRANSPORT):  # the centre's codec carries its device settings
            feed.add_codec(Pcd01Codec())
        self._feed = feed
        self._clock = clock
        self._fallback = Pcd01Codec()
        self._idle_timeout_s = idle_timeout_s
        self._max_connections = max_connections
        self.open_connections = 0
        self.frames = 0
        self.batches = GroupCommit(
            feed,
            clock,
            transport=TRANSPORT,
            senders=lambda: self.open_connections,
            wait_s=batch_wait_s,
            max_batch=max_batch,
        )

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_connections += 1
        try:
            if self.open_connections > self._max_connections:
                log.warning("MLLP connection refused: %s open", self._max_connections)
                return
            while True:
                try:
                    block = await asyncio.wait_for(
                        reader.readuntil(END_BLOCK), self._idle_timeout_s
                    )
                except asyncio.IncompleteReadError:
                    return  # the peer closed the connection (a partial frame is not a message)
                except TimeoutError:
                    log.info("MLLP connection idle for %ss: closed", self._idle_timeout_s)
                    return
                except asyncio.LimitOverrunError:
                    writer.write(frame(self._too_large()))
                    await writer.drain()
                    return
                self.frames += 1
                writer.write(frame(await self._answer(unframe(block))))
                await writer.drain()
        except ConnectionError:
            return
        finally:
            self.open_connections -= 1
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, text: str) -> str:
        """The feed's answer; if storage itself fails, AE (send again) and a log line that
        names the failure's type only (its text may quote the message: PHI)."""
        try:
            receipt = await self.batches.ingest(text)
        except Exception as error:
            log.error("device message not stored: %s", type(error).__name__)
            failure = MsinfusionError("the message could not be stored: send it again")
            return self._fallback.answer(text, now=self._clock(), error=failure, session_id=None)
        return receipt.answer

    def _too_large(self) -> str:
        error = MalformedMessage(f"the MLLP frame exceeds {MAX_FRAME_BYTES} bytes", field="MSH")
        log.warning("MLLP frame over %s bytes: connection closed", MAX_FRAME_BYTES)
        return build_ack(
            control_id="ACK-TOO-LARGE",
            acked_control_id=None,
            sending_application=None,
            now=self._clock(),
            error=error,
        )


async def start_mllp_server(
    feed: DeviceFeed,
    *,
    host: str,
    port: int,
    clock: Clock,
    idle_timeout_s: float = IDLE_TIMEOUT_S,
    max_connections: int = MAX_CONNECTIONS,
    max_batch: int = MAX_BATCH,
) -> asyncio.Server:
    """Listen on ``host:port`` (port 0: any free port; read it from ``server.sockets``).
    ``max_batch=1`` turns group commit off (one transaction per message)."""
    handler = MllpHandler(
        feed,
        clock,
        idle_timeout_s=idle_timeout_s,
        max_connections=max_connections,
        max_batch=max_batch,
    )
    server: asyncio.Server = await hl7.mllp.start_hl7_server(
        handler, host=host, port=port, limit=MAX_FRAME_BYTES
    )
    return server


def bound_port(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


class BackgroundMllpServer:
    """``with BackgroundMllpServer(feed, clock=...) as server: server.port`` — a listener on
    127.0.0.1 (by default) on its own event-loop thread, stopped on exit."""

    def __init__(
        self,
        feed: DeviceFeed,
        *,
        clock: Clock,
        host: str = "127.0.0.1",
        port: int = 0,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        max_connections: int = MAX_CONNECTIONS,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._feed, self._clock, self._host, self._port = feed, clock, host, port
        self._limits = {"idle_timeout_s": idle_timeout_s, "max_connections": max_connections}
        self._max_batch = max_batch
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    def __enter__(self) -> Self:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(
            start_mllp_server(
                self._feed,
                host=self._host,
                port=self._port,
                clock=self._clock,
                idle_timeout_s=float(self._limits["idle_timeout_s"]),
                max_connections=int(self._limits["max_connections"]),
                max_batch=self._max_batch,
            ),
            self._loop,
        )
        self._server = started.result(timeout=10)
        self.port = bound_port(self._server)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stop_background_loop(self._loop, self._thread, self._server)


def stop_background_loop(
    loop: asyncio.AbstractEventLoop, thread: threading.Thread, server: asyncio.Server | None
) -> None:
    """Stop a server running on its own event-loop thread: close ``server``, end the
    connections still waiting for a frame (the loop is the server's alone), stop and close
    ``loop`` and join ``thread``. The one shutdown of every background MLLP listener."""

    async def stop() -> None:
        if server is not None:
            server.close()
            await server.wait_closed()
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    with contextlib.suppress(Exception):
        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


async def send_frames(
    host: str, port: int, texts: list[str], *, timeout_s: float = 10.0
) -> list[str]:
    """Send ``texts`` over one MLLP connection, one at a time; return the answers in order."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    answers: list[str] = []
    try:
        for text in texts:
            writer.write(frame(text))
            await writer.drain()
            block = await asyncio.wait_for(reader.readuntil(END_BLOCK), timeout_s)
            answers.append(unframe(block))
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return answers


T = TypeVar("T")


def run_coroutine(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(make())`` on a thread of its own, so that it also works when the calling
    thread already runs an event loop (a test runner, a notebook)."""
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(make()))
        except BaseException as error:  # handed to the caller's thread below
            failure.append(error)

    worker = threading.Thread(target=run, name="msinfusion-asyncio")
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return result[0]


def send_frames_sync(host: str, port: int, texts: list[str], **options: Any) -> list[str]:
    """``send_frames`` for synchronous callers (tests, the CLI)."""
    return run_coroutine(lambda: send_frames(host, port, texts, **options))
