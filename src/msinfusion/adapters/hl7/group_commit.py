"""Group commit for the MLLP listener: frames that arrive together are stored together.

Each connection hands its frame to ``GroupCommit.ingest`` and waits for the answer. The
batcher (one task on the listener's event loop) takes what has arrived; while fewer frames
are waiting than there are connections that could still send one, it waits for them, but at
most ``BATCH_WAIT_S`` (2 ms) after the first — a lone monitor never waits. The batch goes to
``DeviceFeed.ingest_many`` in a worker thread: one transaction, one savepoint per message, one
durable commit (``application/monitoring.py``); the answers are handed back only after that
commit returned, so an AA always names a stored message. While one batch commits the next
one gathers, so under load a commit (the disk's fsync) is shared by many messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from msinfusion.application.monitoring import DeviceFeed
from msinfusion.application.monitoring_ports import Receipt
from msinfusion.application.ports import Clock

log = logging.getLogger(__name__)

BATCH_WAIT_S = 0.002
"""At most this long does a batch's first frame wait for others (a few ms, issue 22)."""
MAX_BATCH = 64
"""Frames committed together at most (a centre has tens of monitors)."""

_Pending = tuple[str, datetime, "asyncio.Future[Receipt]"]


class GroupCommit:
    """``await batches.ingest(transport, text)`` — the receipt, once its batch is committed."""

    def __init__(
        self,
        feed: DeviceFeed,
        clock: Clock,
        *,
        transport: str,
        senders: Callable[[], int],
        wait_s: float = BATCH_WAIT_S,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._feed, self._clock, self._transport = feed, clock, transport
        self._senders = senders
        """How many frames could still arrive (the open connections)."""
        self._wait_s, self._max_batch = wait_s, max_batch
        self._pending: list[_Pending] = []
        self._arrived: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.largest = 0

    async def ingest(self, text: str) -> Receipt:
        """Queue ``text`` (received now) for the next batch and wait for its receipt."""
        loop = asyncio.get_running_loop()
        arrived = self._arrived
        if arrived is None or self._task is None or self._task.done():
            self._arrived = arrived = asyncio.Event()
            self._task = loop.create_task(self._run(arrived))
        future: asyncio.Future[Receipt] = loop.create_future()
        self._pending.append((text, self._clock(), future))
        arrived.set()
        return await future

    async def _run(self, arrived: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await arrived.wait()
            deadline = loop.time() + self._wait_s
            while len(self._pending) < min(self._max_batch, self._senders()):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), remaining)
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            if not self._pending:
                arrived.clear()
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[_Pending]) -> None:
        self.batches += 1
        self.largest = max(self.largest, len(batch))
        messages = [(text, received_at) for text, received_at, _ in batch]
        try:
            receipts = await asyncio.to_thread(self._feed.ingest_many, self._transport, messages)
        except Exception as error:  # each connection answers AE for its own frame
            log.error("device batch failed: %s", type(error).__name__)
            for *_, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (*_, future), receipt in zip(batch, receipts, strict=True):
            if not future.done():  # a connection closed meanwhile cancels its wait
                future.set_result(receipt)
