"""Replaying a quarantined device message: the one step the monitor and pump feeds share.

An admin replays a held message (``POST /api/quarantine/{id}/replay``) after fixing its cause
(an association, a patient identifier). The feed runs it again, now; accepted, the held row
is marked replayed (by whom, when, into which session), otherwise it stays held with the new
reason and its attempts count up. A replayed message is never replayed twice. Reading and
updating the held row are each audited (``REVIEW_QUARANTINE``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from msinfusion.application.audit import Actor, AuditedAccess, Subject
from msinfusion.application.device_records import QuarantinedMessage, QuarantineStatus
from msinfusion.application.monitoring_ports import Receipt
from msinfusion.application.permissions import Action
from msinfusion.errors import InvalidCommand

Attempt = Callable[[QuarantinedMessage], Receipt | Exception]
"""The feed's run of the held message: its receipt when accepted, else the error."""


def replay_held(
    access: AuditedAccess,
    actor: Actor,
    quarantine_id: str,
    *,
    attempt: Attempt,
    answer: Callable[[QuarantinedMessage, Exception], str],
    reason_code: Callable[[Exception], str],
    accepts: Callable[[QuarantinedMessage], bool] = lambda _held: True,
) -> Receipt | None:
    """Replay held message ``quarantine_id`` (module docstring); None when ``accepts`` says
    it is another feed's (nothing is changed then)."""
    subject = Subject(
        verb="quarantine.replay", resource_type="quarantine", resource_id=quarantine_id
    )
    held = access.run(
        actor, Action.REVIEW_QUARANTINE, subject, lambda uow: uow.quarantine.get(quarantine_id)
    )
    if not accepts(held):
        return None
    if held.status is QuarantineStatus.REPLAYED:
        raise InvalidCommand(
            f"{quarantine_id} was replayed already (session {held.session_id})",
            field="quarantine_id",
        )
    outcome = attempt(held)
    if isinstance(outcome, Receipt):
        receipt = replace(outcome, quarantine_id=held.id)
        updated = replace(
            held,
            status=QuarantineStatus.REPLAYED,
            attempts=held.attempts + 1,
            replayed_at=actor.at,
            replayed_by=actor.user_id,
            session_id=outcome.session_id,
        )
    else:
        code, reason = reason_code(outcome), getattr(outcome, "message", "rejected")
        receipt = Receipt(
            outcome="quarantined",
            answer=answer(held, outcome),
            quarantine_id=held.id,
            reason_code=code,
            reason=reason,
        )
        updated = replace(held, attempts=held.attempts + 1, reason_code=code, reason=reason)
    access.run(actor, Action.REVIEW_QUARANTINE, subject, lambda uow: uow.quarantine.update(updated))
    return receipt
