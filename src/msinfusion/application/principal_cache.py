"""A short-lived cache of bearer token → principal, so a command does not read the token and
its user in a transaction of their own on every request (issue 22: authentication was 13 % of
an HTTP command).

Staleness bound: an entry is served for at most ``TOKEN_CACHE_SECONDS`` after it was read from
the store. A token revoked, or a user deactivated or given another role, *in this process*
(``Accounts``) clears the cache at once; by another process (a second server, the CLI), it
stops working here within ``TOKEN_CACHE_SECONDS``. Only successful authentications are cached;
keys are token digests, never the tokens. docs/security.md states the bound.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

TOKEN_CACHE_SECONDS = 5.0
"""How long a token's principal is served from memory before the store is read again."""

MAX_CACHED_TOKENS = 4_096

P = TypeVar("P")


class PrincipalCache(Generic[P]):
    """Values by key for ``ttl_seconds`` of ``monotonic`` time, least recently stored out
    first beyond ``max_entries``."""

    def __init__(
        self,
        *,
        ttl_seconds: float = TOKEN_CACHE_SECONDS,
        max_entries: int = MAX_CACHED_TOKENS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._monotonic = monotonic
        self._entries: OrderedDict[str, tuple[float, P]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> P | None:
        """The value stored under ``key`` less than ``ttl_seconds`` ago, or None."""
        now = self._monotonic()
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if now - found[0] >= self._ttl:
                del self._entries[key]
                return None
            return found[1]

    def put(self, key: str, value: P) -> None:
        now = self._monotonic()
        with self._lock:
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
