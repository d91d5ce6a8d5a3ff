"""Users, passwords, API tokens and login: the account use cases.

Passwords are hashed by an injected ``PasswordHasher`` (argon2id in ``adapters/web/passwords.py``)
so this layer stays framework-free. API tokens are random (``msi_`` + 256 bits); only their
SHA-256 is stored — a token has full entropy, so a fast hash is enough and lookup is by hash.
Login failures are counted per user name + address and per address (``SlidingWindowLimiter``);
a paused login is refused before the password is checked. Messages never reveal whether a user
name exists.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from msinfusion.application.audit import Actor, AuditedAccess, Subject, entry
from msinfusion.application.permissions import Action
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.rate_limit import SlidingWindowLimiter
from msinfusion.application.records import ApiToken, Role, User
from msinfusion.errors import AuthenticationFailed, InvalidCommand, RecordNotFound

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
TOKEN_PREFIX = "msi_"


class PasswordHasher(Protocol):
    """A slow, salted password hash (argon2id in production)."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """Who is authenticated (by password session or API token)."""

    user_id: str
    username: str
    role: Role

    def acting(self, at: datetime, remote_addr: str | None) -> Actor:
        return Actor(
            user_id=self.user_id,
            username=self.username,
            role=self.role,
            at=at,
            remote_addr=remote_addr,
        )


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.id, username=user.username, role=user.role)


def token_digest(raw_token: str) -> str:
    """The stored form of an API token (hex SHA-256)."""
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


def check_username(username: str) -> None:
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidCommand(
            "username must be 3 to 64 of a-z, 0-9, '.', '_' or '-', starting with a letter or "
            "digit",
            field="username",
        )


def check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidCommand(
            f"password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
            field="password",
        )


def generate_password() -> str:
    """A random password for demo users and first admins (about 96 bits)."""
    return secrets.token_urlsafe(16)


class Accounts:
    """User and token administration (``manage_users``) and authentication."""

    def __init__(
        self,
        access: AuditedAccess,
        hasher: PasswordHasher,
        limiter: SlidingWindowLimiter,
        *,
        address_limiter: SlidingWindowLimiter | None = None,
        new_id: Callable[[str], str],
    ) -> None:
        self._access = access
        self._hasher = hasher
        self._limiter = limiter
        self._address_limiter = address_limiter
        self._new_id = new_id
        self._dummy_hash = hasher.hash(secrets.token_urlsafe(16))

    # -- authentication -------------------------------------------------------------------------

    def login(
        self, username: str, password: str, *, at: datetime, remote_addr: str | None
    ) -> Principal:
        """Check a password; raises ``TooManyAttempts`` or ``AuthenticationFailed``."""
        key = f"user:{username.casefold()}|ip:{remote_addr}"
        address_key = f"ip:{remote_addr}"
        self._limiter.check(key, at)
        if self._address_limiter is not None:
            self._address_limiter.check(address_key, at)
        user = self._find_user(username)
        stored = self._dummy_hash if user is None else user.password_hash
        valid = self._hasher.verify(stored, password[:MAX_PASSWORD_LENGTH])
        if user is None or not valid or not user.active:
            self._limiter.fail(key, at)
            if self._address_limiter is not None:
                self._address_limiter.fail(address_key, at)
            self._record_login(user, at, remote_addr, "denied")
            raise AuthenticationFailed()
        self._limiter.reset(key)
        self._record_login(user, at, remote_addr, "ok")
        return principal_of(user)

    def _find_user(self, username: str) -> User | None:
        with self._access.uow_factory() as uow:
            try:
                return uow.users.get_by_username(username)
            except RecordNotFound:
                return None

    def _record_login(
        self, user: User | None, at: datetime, remote_addr: str | None, outcome: str
    ) -> None:
        actor = None if user is None else principal_of(user).acting(at, remote_addr)
        subject = Subject(verb="auth.login", resource_type="user", resource_id=None)
        with self._access.uow_factory() as uow:
            record = entry(actor, subject, outcome, at=at)
            uow.audit.record(replace(record, remote_addr=remote_addr))
            uow.commit()

    def authenticate_token(self, raw_token: str) -> Principal:
        """The principal of an active, unrevoked token; ``AuthenticationFailed`` otherwise."""
        if not raw_token.startswith(TOKEN_PREFIX) or len(raw_token) > 200:
            raise AuthenticationFailed()
        with self._access.uow_factory() as uow:
            try:
                token = uow.tokens.get_by_hash(token_digest(raw_token))
                user = uow.users.get(token.user_id)
            except RecordNotFound:
                raise AuthenticationFailed() from None
        if token.revoked or not user.active:
            raise AuthenticationFailed()
        return principal_of(user)

    def get_principal(self, user_id: str) -> Principal:
        """The current principal of a logged-in user (role changes apply at once)."""
        with self._access.uow_factory() as uow:
            try:
                user = uow.users.get(user_id)
            except RecordNotFound:
                raise AuthenticationFailed() from None
        if not user.active:
            raise AuthenticationFailed()
        return principal_of(user)

    # -- administration -------------------------------------------------------------------------

    def create_user(
        self,
        actor: Actor,
        *,
        username: str,
        role: Role,
        password: str,
        display_name: str | None = None,
    ) -> User:
        check_username(username)
        check_password(password)
        user = User(
            id=self._new_id("user"),
            username=username,
            role=role,
            password_hash=self._hasher.hash(password),
            display_name=display_name,
        )

        def work(uow: UnitOfWork) -> User:
            uow.users.add(user)
            return user

        subject = Subject(verb="user.create", resource_type="user", resource_id=user.id)
        return self._access.run(actor, Action.MANAGE_USERS, subject, work)

    def list_users(self, actor: Actor) -> list[User]:
        subject = Subject(verb="user.list", resource_type="user")
        return self._access.run(actor, Action.MANAGE_USERS, subject, lambda uow: uow.users.list())

    def update_user(
        self,
        actor: Actor,
        user_id: str,
        *,
        role: Role | None = None,
        active: bool | None = None,
        display_name: str | None = None,
        password: str | None = None,
    ) -> User:
        """Change a user's role, activity, display name or password (only what is given)."""
        if password is not None:
            check_password(password)
        new_hash = None if password is None else self._hasher.hash(password)

        def work(uow: UnitOfWork) -> User:
            user = uow.users.get(user_id)
            changed = replace(
                user,
                role=user.role if role is None else role,
                active=user.active if active is None else active,
                display_name=user.display_name if display_name is None else display_name,
                password_hash=user.password_hash if new_hash is None else new_hash,
            )
            uow.users.update(changed)
            return changed

        subject = Subject(verb="user.update", resource_type="user", resource_id=user_id)
        return self._access.run(actor, Action.MANAGE_USERS, subject, work)

    def issue_token(self, actor: Actor, user_id: str, *, label: str = "") -> tuple[ApiToken, str]:
        """A new API token for ``user_id``: the record and the raw token (shown once)."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(
            id=self._new_id("token"),
            user_id=user_id,
            token_hash=token_digest(raw),
            created_at=actor.at,
            label=label,
        )

        def work(uow: UnitOfWork) -> ApiToken:
            uow.users.get(user_id)
            uow.tokens.add(token)
            return token

        subject = Subject(verb="token.create", resource_type="token", resource_id=token.id)
        return self._access.run(actor, Action.MANAGE_USERS, subject, work), raw

    def list_tokens(self, actor: Actor) -> list[ApiToken]:
        subject = Subject(verb="token.list", resource_type="token")
        return self._access.run(actor, Action.MANAGE_USERS, subject, lambda uow: uow.tokens.list())

    def revoke_token(self, actor: Actor, token_id: str) -> ApiToken:
        def work(uow: UnitOfWork) -> ApiToken:
            revoked = replace(uow.tokens.get(token_id), revoked=True)
            uow.tokens.update(revoked)
            return revoked

        subject = Subject(verb="token.revoke", resource_type="token", resource_id=token_id)
        return self._access.run(actor, Action.MANAGE_USERS, subject, work)
