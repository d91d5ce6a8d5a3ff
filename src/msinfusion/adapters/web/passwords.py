"""Argon2id password hashing (argon2-cffi), the production ``PasswordHasher``."""

from __future__ import annotations

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Argon2Hasher:
    """argon2id with argon2-cffi's RFC 9106 low-memory defaults; ``fast()`` for tests only."""

    def __init__(self, hasher: _Argon2 | None = None) -> None:
        self._hasher = hasher or _Argon2()

    @classmethod
    def fast(cls) -> Argon2Hasher:
        """Cheap parameters so test suites stay fast; never for stored production passwords."""
        return cls(_Argon2(time_cost=1, memory_cost=1024, parallelism=1))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
