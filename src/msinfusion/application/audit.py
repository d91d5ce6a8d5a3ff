"""Who is acting, and the audit trail of what they did and read.

Every use case runs through ``AuditedAccess.run`` (named so as not to be confused with the
clinical gates of ``planning.gates``): it checks the permission (``permissions.require``), does
the work in one unit of work, and records an ``AuditEntry`` in the same transaction, so an
acknowledged write always has its audit entry. A refusal (permission denied, record not found,
a refused clinical command...) is recorded too, in its own transaction, with its outcome.

Entries hold ids and action names only — never names, dates of birth or free text — so the trail
itself is no second copy of patient data. Application logs follow the same rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from msinfusion.application.permissions import Action, require
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.records import AuditEntry, Role
from msinfusion.errors import (
    AccessError,
    CommandRefused,
    ConcurrencyError,
    DuplicateRecord,
    MsinfusionError,
    RecordNotFound,
    SessionNotFound,
)

T = TypeVar("T")
UnitOfWorkFactory = Callable[[], UnitOfWork]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Actor:
    """An authenticated caller at the moment of a request (adapters read the clock, not us)."""

    user_id: str
    username: str
    role: Role
    at: datetime
    remote_addr: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Subject:
    """What an audit entry is about: ``verb`` (e.g. ``patient.read``), a type and an id."""

    verb: str
    resource_type: str
    resource_id: str | None = None


def outcome_of(error: BaseException) -> str:
    """A short, stable outcome for the audit trail (no message text: it may name a field value)."""
    if isinstance(error, CommandRefused):
        return f"refused:{error.rule}"
    if isinstance(error, AccessError):
        return "denied"
    if isinstance(error, RecordNotFound | SessionNotFound):
        return "not-found"
    if isinstance(error, ConcurrencyError):
        return "conflict"
    if isinstance(error, DuplicateRecord):
        return "refused:duplicate"  # a double booking, a second patient with one identifier
    return "invalid"


def entry(actor: Actor | None, subject: Subject, outcome: str, *, at: datetime) -> AuditEntry:
    return AuditEntry(
        at=at,
        user_id=None if actor is None else actor.user_id,
        action=subject.verb,
        resource_type=subject.resource_type,
        resource_id=subject.resource_id,
        remote_addr=None if actor is None else actor.remote_addr,
        outcome=outcome,
    )


class AuditedAccess:
    """Permission check, unit of work and audit entry around every use case."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self.uow_factory = uow_factory

    def note(self, actor: Actor, subject: Subject, outcome: str) -> None:
        """Record one audit entry in its own transaction."""
        with self.uow_factory() as uow:
            uow.audit.record(entry(actor, subject, outcome, at=actor.at))
            uow.commit()
        log.info("audit %s %s %s", subject.verb, actor.user_id, outcome)

    def authorize(self, actor: Actor, action: Action, subject: Subject) -> None:
        """``require`` the action; a denial is audited before it is raised."""
        try:
            require(actor.role, action)
        except AccessError:
            self.note(actor, subject, "denied")
            raise

    def run(
        self,
        actor: Actor,
        action: Action,
        subject: Subject,
        work: Callable[[UnitOfWork], T],
        *,
        result_id: Callable[[T], str] | None = None,
    ) -> T:
        """Authorize, do ``work`` in one transaction with its audit entry, commit, return.

        ``result_id`` names the resource from the result (the new id of a created record).
        """
        self.authorize(actor, action, subject)
        try:
            with self.uow_factory() as uow:
                result = work(uow)
                if result_id is not None:
                    subject = replace(subject, resource_id=result_id(result))
                uow.audit.record(entry(actor, subject, "ok", at=actor.at))
                uow.commit()
        except MsinfusionError as error:
            self.note(actor, subject, outcome_of(error))
            raise
        return result


def system_actor(at: datetime, *, source: str = "cli") -> Actor:
    """The operator at the server's console (``msinfusion users create``, the demo loader).

    Acts as ``admin`` for user management and as the named clinical role nowhere else; its
    audit entries carry the user id ``system`` and the address ``source``.
    """
    return Actor(user_id="system", username="system", role=Role.ADMIN, at=at, remote_addr=source)
