"""The co-signature of a retraction: who must co-sign, the pending retraction, the signature.

A retraction of an entry whose author had another role than the retracting user (a nurse
retracting a physician's positive anti-HBc) is stored with ``cosign_roles`` and retracts nothing
(``clinical_record_view.retracted_ids``) until a user of one of those roles, other than the one
who retracted, co-signs it in a separate request. The co-signature is a retraction of the same
entry by the co-signer naming the pending one (``cosigns``): append-only, like every entry.
Both steps write an audit entry in the transaction that stores them
(docs/clinical/safety-across-visits.md, "Co-signed retraction").

These run inside the caller's unit of work (``ClinicalRecords.record`` and
``ClinicalRecords.cosign_retraction``), which checks the permission and commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from msinfusion.application.audit import Actor, Subject, entry
from msinfusion.application.clinical_record_view import (
    COSIGN_ROLES,
    COSIGNS,
    cosignatures,
    cosigner_roles,
    needs_cosignature,
    pending_retractions,
)
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.records import ClinicalEntry, ClinicalEntryKind, Role
from msinfusion.errors import InvalidCommand, PermissionDenied, RecordNotFound

COSIGN_FIELDS = frozenset({COSIGNS, "entry_id"})


def role_of(uow: UnitOfWork, user_id: str) -> Role | None:
    """The role of an entry's author (their account's role now); None for an author with no
    account here (the console, a data import): then a physician co-signs."""
    try:
        return uow.users.get(user_id).role
    except RecordNotFound:
        return None


def held_for_cosignature(
    uow: UnitOfWork, actor: Actor, patient_id: str, data: dict[str, Any], entry_id: str
) -> dict[str, Any]:
    """A checked retraction's stored form: as it is when the retracting user is of the
    author's role or a physician, else held for a co-signature (``cosign_roles``: who may
    sign) and audited as ``clinical.retraction.pending``. One retraction of an entry waits at
    a time: another is refused until it is co-signed."""
    entries = uow.clinical_entries.list_for_patient(patient_id)
    target_id = str(data["entry_id"])
    waiting = pending_retractions(entries).get(target_id)
    if waiting is not None:
        raise InvalidCommand(
            f"a retraction of that entry ({waiting.id}) awaits co-signature: co-sign it "
            f'(item {{"{COSIGNS}": "{waiting.id}"}}) instead of retracting again',
            field="entry_id",
        )
    target = next(e for e in entries if e.id == target_id)
    author_role = role_of(uow, target.recorded_by)
    if not needs_cosignature(actor.role, author_role):
        return data
    roles = sorted(r.value for r in cosigner_roles(author_role))
    pending = Subject(
        verb="clinical.retraction.pending", resource_type="clinical_entry", resource_id=entry_id
    )
    uow.audit.record(entry(actor, pending, "ok", at=actor.at))
    return {**data, COSIGN_ROLES: roles}


def cosigned_id(item: Mapping[str, Any]) -> str:
    """The pending retraction a co-signature item names, or what is wrong with the item."""
    unknown = sorted(set(item) - COSIGN_FIELDS)
    if unknown:
        raise InvalidCommand(
            f"unknown field(s) for a co-signature: {', '.join(unknown)}", field=unknown[0]
        )
    retraction_id = item.get(COSIGNS)
    if not isinstance(retraction_id, str) or not retraction_id:
        raise InvalidCommand("cosigns must name a pending retraction's id", field=COSIGNS)
    return retraction_id


def cosigned(
    uow: UnitOfWork,
    actor: Actor,
    patient_id: str,
    retraction_id: str,
    *,
    entry_id: str,
    on: date,
    retracts: object = None,
) -> ClinicalEntry:
    """Store ``actor``'s co-signature of the pending retraction ``retraction_id``: a retraction
    of the same entry (its reason kept), which takes effect at once, audited as
    ``clinical.retraction.cosigned`` on the pending retraction.

    Refused, nothing stored: no pending retraction of this patient has that id, or it is signed
    already (``cosigns``); ``retracts`` is given and is not the entry it retracts
    (``entry_id``); the co-signer's role is not one it names (``PermissionDenied``); the
    co-signer is the one who retracted (``cosigns``), whatever their role is now."""
    state = cosignatures(uow.clinical_entries.list_for_patient(patient_id)).get(retraction_id)
    if state is None:
        raise InvalidCommand(
            "cosigns names no retraction of this patient's that needs a co-signature",
            field=COSIGNS,
        )
    if state.signature is not None:
        raise InvalidCommand(
            f"that retraction is already co-signed ({state.signature.id})", field=COSIGNS
        )
    retraction = state.retraction
    target_id = str(retraction.data["entry_id"])
    if retracts is not None and retracts != target_id:
        raise InvalidCommand(
            f"entry_id is not the entry that retraction names ({target_id})", field="entry_id"
        )
    if actor.role.value not in state.roles:
        raise PermissionDenied(
            role=actor.role.value,
            action=f"co-sign this retraction: a {' or a '.join(state.roles)} co-signs it",
        )
    if retraction.recorded_by == actor.user_id:
        raise InvalidCommand(
            "a retraction is co-signed by another user than the one who retracted", field=COSIGNS
        )
    signature = ClinicalEntry(
        id=entry_id,
        patient_id=patient_id,
        kind=ClinicalEntryKind.RETRACTION,
        on=on,
        data={"entry_id": target_id, "reason": retraction.data["reason"], COSIGNS: retraction.id},
        recorded_at=actor.at,
        recorded_by=actor.user_id,
    )
    uow.clinical_entries.add(signature)
    signed = Subject(
        verb="clinical.retraction.cosigned",
        resource_type="clinical_entry",
        resource_id=retraction.id,
    )
    uow.audit.record(entry(actor, signed, "ok", at=actor.at))
    return signature
