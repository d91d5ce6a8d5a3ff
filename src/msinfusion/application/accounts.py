"""Users, passwords, API tokens and login: the account use cases.

Passwords are hashed by an injected ``PasswordHasher`` (argon2id in ``adapters/web/passwords.py``)
so this layer stays framework-free. API tokens are random (``msi_`` + 256 bits); only their
SHA-256 is stored — a token has full entropy, so a fast hash is enough and lookup is by hash.
Login attempts are reserved atomically per user name + address, per address and per account
(``LoginThrottle``) before the password is checked, so concurrent guesses cannot outrun the
limit. Messages never reveal whether a user name exists.

Account rules (docs/security.md): a token is issued only to its own user, or by an administrator
to a device account — nobody can mint a working token for someone else; an administrator's
password reset forces a new password at the next sign-in, ends the user's sessions and tokens,
is audited (``user.password_reset``) and is shown to the user; a password change ends the
user's other browser sessions and revokes their tokens; no change may leave the centre without
an active administrator; device accounts never sign in with a password.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from msinfusion.application.audit import Actor, AuditedAccess, Subject, entry
from msinfusion.application.browser_sessions import session_digest
from msinfusion.application.password_policy import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
)
from msinfusion.application.password_policy import check_password as _check_password
from msinfusion.application.permissions import Action
from msinfusion.application.ports import UnitOfWork, read_only_unit
from msinfusion.application.principal_cache import PrincipalCache
from msinfusion.application.rate_limit import LoginThrottle
from msinfusion.application.records import ApiToken, Role, User
from msinfusion.errors import (
    AuthenticationFailed,
    InvalidCommand,
    PermissionDenied,
    RecordNotFound,
)

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
TOKEN_PREFIX = "msi_"
__all__ = ["MAX_PASSWORD_LENGTH", "MIN_PASSWORD_LENGTH", "Accounts", "Principal"]


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
    must_change_password: bool = False
    password_reset_at: datetime | None = None

    def acting(self, at: datetime, remote_addr: str | None) -> Actor:
        return Actor(
            user_id=self.user_id,
            username=self.username,
            role=self.role,
            at=at,
            remote_addr=remote_addr,
        )


def principal_of(user: User) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        must_change_password=user.must_change_password,
        password_reset_at=user.password_reset_at,
    )


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


def check_password(password: str, *, username: str | None = None) -> None:
    """NIST SP 800-63B rules (``password_policy``)."""
    _check_password(password, username=username)


def generate_password() -> str:
    """A random password for demo users and first admins (about 96 bits)."""
    return secrets.token_urlsafe(16)


class Accounts:
    """User and token administration (``manage_users``) and authentication."""

    def __init__(
        self,
        access: AuditedAccess,
        hasher: PasswordHasher,
        throttle: LoginThrottle,
        *,
        new_id: Callable[[str], str],
        token_cache: PrincipalCache[Principal] | None = None,
    ) -> None:
        self._access = access
        self._tokens: PrincipalCache[Principal] = token_cache or PrincipalCache()
        self._hasher = hasher
        self._throttle = throttle
        self._new_id = new_id
        self._dummy_hash = hasher.hash(secrets.token_urlsafe(16))

    # -- authentication -------------------------------------------------------------------------

    def login(
        self, username: str, password: str, *, at: datetime, remote_addr: str | None
    ) -> Principal:
        """Check a password; raises ``TooManyAttempts`` or ``AuthenticationFailed``.

        The attempt is reserved before the password is checked (``LoginThrottle.admit``).
        Device accounts are refused: they authenticate with API tokens only.
        """
        attempt = self._throttle.admit(username, remote_addr, at)
        user = self._find_user(username)
        stored = self._dummy_hash if user is None else user.password_hash
        valid = self._hasher.verify(stored, password[:MAX_PASSWORD_LENGTH])
        if user is None or not valid or not user.active or user.role is Role.DEVICE:
            self._throttle.failed(attempt)
            self._record_login(user, at, remote_addr, "denied")
            raise AuthenticationFailed()
        self._throttle.succeeded(attempt)
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
        """The principal of an active, unrevoked token; ``AuthenticationFailed`` otherwise.

        Served from memory for up to ``TOKEN_CACHE_SECONDS`` after the store was read
        (``principal_cache``: a revocation elsewhere takes effect here within that bound)."""
        if not raw_token.startswith(TOKEN_PREFIX) or len(raw_token) > 200:
            raise AuthenticationFailed()
        digest = token_digest(raw_token)
        cached = self._tokens.get(digest)
        if cached is not None:
            return cached
        with read_only_unit(self._access.uow_factory) as uow:
            try:
                token = uow.tokens.get_by_hash(digest)
                user = uow.users.get(token.user_id)
            except RecordNotFound:
                raise AuthenticationFailed() from None
        if token.revoked or not user.active:
            raise AuthenticationFailed()
        principal = principal_of(user)
        self._tokens.put(digest, principal)
        return principal

    def clear_token_cache(self) -> None:
        """Read every token from the store again at its next use (``principal_cache``)."""
        self._tokens.clear()

    def get_principal(self, user_id: str) -> Principal:
        """The current principal of a logged-in user (role changes apply at once)."""
        with read_only_unit(self._access.uow_factory) as uow:
            try:
                user = uow.users.get(user_id)
            except RecordNotFound:
                raise AuthenticationFailed() from None
        if not user.active:
            raise AuthenticationFailed()
        return principal_of(user)

    def confirm_password(self, actor: Actor, password: str, *, subject: Subject) -> None:
        """The signed-in user types their password again to sign (an order, for one).

        Counted by the same throttle as sign-ins; a wrong password is audited as ``denied``
        against ``subject`` (what was to be signed) and raises ``AuthenticationFailed`` naming
        the field ``password``.
        """
        attempt = self._throttle.admit(actor.username, actor.remote_addr, actor.at)
        with self._access.uow_factory() as uow:
            try:
                user = uow.users.get(actor.user_id)
            except RecordNotFound:
                user = None
        stored = self._dummy_hash if user is None else user.password_hash
        valid = self._hasher.verify(stored, password[:MAX_PASSWORD_LENGTH])
        if user is None or not valid or not user.active:
            self._throttle.failed(attempt)
            self._access.note(actor, subject, "denied")
            error = AuthenticationFailed("the password is not right: type your own password")
            error.field = "password"
            raise error
        self._throttle.succeeded(attempt)

    def names_of(self, actor: Actor, user_ids: Iterable[str | None]) -> dict[str, str]:
        """Display names (else user names) of staff, for signatures on pages; unknown ids are
        left out. Staff names are no patient data: any signed-in person may read them, without
        an audit entry; a device may not."""
        if actor.role is Role.DEVICE:
            raise PermissionDenied(role=actor.role.value, action="read staff names")
        wanted = {u for u in user_ids if u}
        if not wanted:
            return {}
        with self._access.uow_factory() as uow:
            users = uow.users.list()
        return {u.id: u.display_name or u.username for u in users if u.id in wanted}

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
        check_password(password, username=username)
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
        """Change a user's role, activity, display name or password (only what is given).

        A password set here is a reset: the user must choose a new one at the next sign-in,
        their sessions and tokens end, and the reset is audited as ``user.password_reset``.
        """
        new_hash = None if password is None else self._hasher.hash(password)

        def work(uow: UnitOfWork) -> User:
            user = uow.users.get(user_id)
            if password is not None:
                check_password(password, username=user.username)
            changed = replace(
                user,
                role=user.role if role is None else role,
                active=user.active if active is None else active,
                display_name=user.display_name if display_name is None else display_name,
            )
            _keep_an_admin(uow, user, changed)
            if new_hash is not None:
                changed = replace(
                    changed,
                    password_hash=new_hash,
                    must_change_password=True,
                    password_reset_at=actor.at,
                )
            if new_hash is not None or not changed.active:
                _end_sessions_and_tokens(uow, user_id)
            uow.users.update(changed)
            return changed

        subject = Subject(verb="user.update", resource_type="user", resource_id=user_id)
        updated = self._access.run(actor, Action.MANAGE_USERS, subject, work)
        self._tokens.clear()  # a role, activity or reset applies to tokens at once here
        if password is not None:
            reset = Subject(verb="user.password_reset", resource_type="user", resource_id=user_id)
            self._access.note(actor, reset, "ok")
        return updated

    def change_password(
        self,
        actor: Actor,
        *,
        current_password: str,
        new_password: str,
        keep_session: str | None = None,
    ) -> User:
        """The signed-in user's own new password; ``keep_session`` (the raw cookie value of
        the browser that asked) stays signed in, every other session and every token ends."""
        subject = Subject(verb="user.password_change", resource_type="user", resource_id=None)
        self._access.authorize(actor, Action.CHANGE_OWN_PASSWORD, subject)
        with self._access.uow_factory() as uow:
            user = uow.users.get(actor.user_id)
        if not self._hasher.verify(user.password_hash, current_password[:MAX_PASSWORD_LENGTH]):
            self._access.note(actor, subject, "denied")
            raise AuthenticationFailed("the current password is not right")
        check_password(new_password, username=user.username)
        if self._hasher.verify(user.password_hash, new_password):
            raise InvalidCommand("choose a password you have not used here", field="password")
        new_hash = self._hasher.hash(new_password)
        keep = None if keep_session is None else session_digest(keep_session)

        def work(uow: UnitOfWork) -> User:
            changed = replace(
                uow.users.get(actor.user_id),
                password_hash=new_hash,
                must_change_password=False,
            )
            uow.users.update(changed)
            _end_sessions_and_tokens(uow, actor.user_id, keep=keep)
            return changed

        subject = replace(subject, resource_id=actor.user_id)
        changed = self._access.run(actor, Action.CHANGE_OWN_PASSWORD, subject, work)
        self._tokens.clear()  # the user's tokens ended: refused here at once
        return changed

    def issue_token(self, actor: Actor, user_id: str, *, label: str = "") -> tuple[ApiToken, str]:
        """A new API token for ``user_id``: the record and the raw token (shown once).

        Anyone but a device may issue a token to themselves; an administrator may issue one to a
        device account. A token for anyone else is refused (and the refusal audited): it would
        let its holder act as that person.
        """
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(
            id=self._new_id("token"),
            user_id=user_id,
            token_hash=token_digest(raw),
            created_at=actor.at,
            label=label,
        )
        subject = Subject(verb="token.create", resource_type="token", resource_id=token.id)
        own = user_id == actor.user_id
        if not own:
            with self._access.uow_factory() as uow:
                try:
                    target = uow.users.get(user_id)
                except RecordNotFound:
                    target = None
            if target is not None and target.role is not Role.DEVICE:
                self._access.note(actor, subject, "denied")
                raise PermissionDenied(role=actor.role.value, action="issue tokens for other users")

        def work(uow: UnitOfWork) -> ApiToken:
            uow.users.get(user_id)
            uow.tokens.add(token)
            return token

        action = Action.ISSUE_OWN_TOKEN if own else Action.MANAGE_USERS
        return self._access.run(actor, action, subject, work), raw

    def list_tokens(self, actor: Actor) -> list[ApiToken]:
        subject = Subject(verb="token.list", resource_type="token")
        return self._access.run(actor, Action.MANAGE_USERS, subject, lambda uow: uow.tokens.list())

    def revoke_token(self, actor: Actor, token_id: str) -> ApiToken:
        def work(uow: UnitOfWork) -> ApiToken:
            revoked = replace(uow.tokens.get(token_id), revoked=True)
            uow.tokens.update(revoked)
            return revoked

        subject = Subject(verb="token.revoke", resource_type="token", resource_id=token_id)
        revoked = self._access.run(actor, Action.MANAGE_USERS, subject, work)
        self._tokens.clear()  # revoked in this process: refused here at once
        return revoked


def _keep_an_admin(uow: UnitOfWork, before: User, after: User) -> None:
    """Refuse a change that would leave no active administrator."""
    was_admin = before.role is Role.ADMIN and before.active
    still_admin = after.role is Role.ADMIN and after.active
    if not was_admin or still_admin:
        return
    others = [u for u in uow.users.list() if u.id != before.id]
    if not any(u.role is Role.ADMIN and u.active for u in others):
        raise InvalidCommand(
            "the last active administrator cannot be demoted or deactivated; make another "
            "administrator first",
            field="role" if after.role is not Role.ADMIN else "active",
        )


def _end_sessions_and_tokens(uow: UnitOfWork, user_id: str, *, keep: str | None = None) -> None:
    uow.browser_sessions.remove_for_user(user_id, keep=keep)
    for token in uow.tokens.list():
        if token.user_id == user_id and not token.revoked:
            uow.tokens.update(replace(token, revoked=True))
