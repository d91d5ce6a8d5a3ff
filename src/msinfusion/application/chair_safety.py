"""Checks at the chair that need the stored record, run in the command's transaction.

* ``patient-identification`` — a check-in confirms the patient with two identifiers (name and
  date of birth as the patient states them, or an MRN) or a wristband scan, matched against
  the record: a mismatch is never overridden.
* ``allergy-warning`` — a premedication or rescue medication that matches a recorded allergy
  (the drug itself, or its class such as "corticosteroid") is refused until the nurse
  acknowledges the warning on the entry (``allergy_acknowledged``); the event keeps that.
* ``verbal-order`` — a nurse may record a physician's authorisation given by voice
  (``verbal_order_by``: the physician's user name) with the reason given; it must name an
  active physician, and that physician co-signs it later (``CosignVerbalOrder``,
  ``verbal-order-cosign``). A physician at the chair signs their own ``override_reason``.

>>> from msinfusion.application.records import Allergy
>>> allergy_matches((Allergy(substance="Paracetamol", severity="severe"),), "acetaminophen")
('Paracetamol',)
>>> allergy_matches((Allergy(substance="corticosteroids"),), "methylprednisolone")
('corticosteroids',)
>>> allergy_matches((Allergy(substance="penicillin"),), "diphenhydramine")
()
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from msinfusion.application.audit import Actor
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.records import Allergy, Patient, Role
from msinfusion.catalog.formulary import Formulary, shipped_formulary
from msinfusion.errors import CommandRefused, InvalidCommand, RecordNotFound
from msinfusion.session import commands as cmd
from msinfusion.session.chart import Chart
from msinfusion.session.verbal_orders import pending_verbal_orders, verbal_order_of


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(folded.lower().replace(",", " ").split())


def require_identification(patient: Patient, command: cmd.CheckIn) -> None:
    """Refuse a check-in whose confirmed identifiers are missing or not the record's."""
    check = command.identity_check
    if check is None:
        raise CommandRefused(
            "patient-identification",
            "confirm the patient's identity: name and date of birth, an MRN, or a wristband "
            "scan (identity_check)",
        )
    if check == "name-and-birth-date":
        if patient.date_of_birth is None:
            raise CommandRefused(
                "patient-identification",
                "the record has no date of birth: confirm with an MRN or the wristband",
            )
        name_ok = _plain(command.confirmed_name or "") == _plain(patient.display_name)
        birth_ok = (command.confirmed_birth_date or "").strip() == patient.date_of_birth.isoformat()
        if not (name_ok and birth_ok):
            wrong = [n for n, ok in (("name", name_ok), ("date of birth", birth_ok)) if not ok]
            raise CommandRefused(
                "patient-identification",
                f"the stated {' and '.join(wrong)} do not match this appointment's patient: "
                "stop and check who is in the chair",
            )
        return
    given = (command.confirmed_identifier or "").strip()
    system, _, value = given.rpartition("|")
    matches = [
        i
        for i in patient.identifiers
        if i.value.strip().lower() == value.strip().lower() and (not system or i.system == system)
    ]
    if not given or not matches:
        raise CommandRefused(
            "patient-identification",
            f"{'the scanned wristband' if check == 'wristband' else 'the identifier'} "
            f"{given!r} is not this appointment's patient's: stop and check who is in the chair",
        )


def allergy_matches(
    allergies: Iterable[Allergy], drug: str, formulary: Formulary | None = None
) -> tuple[str, ...]:
    """The recorded allergy substances that ``drug`` is, or belongs to the class of."""
    known = (formulary or shipped_formulary()).find(drug)
    names = {_plain(drug)} if known is None else {*known.names, *known.classes}
    found = []
    for allergy in allergies:
        words = set(_plain(allergy.substance).replace("-", " ").split())
        singular = {w[:-1] if w.endswith("s") else w for w in words}
        if names & (words | singular) or _plain(allergy.substance) in names:
            found.append(allergy.substance)
    return tuple(found)


def require_allergy_acknowledged(patient: Patient, command: cmd.Command) -> None:
    if not isinstance(command, cmd.GivePremedication | cmd.GiveRescueMedication):
        return
    matches = allergy_matches(patient.allergies, command.drug)
    if matches and not command.allergy_acknowledged:
        details = "; ".join(
            f"{a.substance} ({', '.join(x for x in (a.severity, a.reaction) if x) or 'recorded'})"
            for a in patient.allergies
            if a.substance in matches
        )
        raise CommandRefused(
            "allergy-warning",
            f"{command.drug}: the patient has a recorded allergy to {details}; check with the "
            "prescriber, and give it only with allergy_acknowledged=true",
        )


def require_verbal_order(uow: UnitOfWork, actor: Actor, command: cmd.Command) -> None:
    """A nurse's verbal order names an active physician and carries their reason."""
    physician = getattr(command, "verbal_order_by", None)
    if physician is None:
        return
    if command.override_reason is None:
        raise InvalidCommand(
            "a verbal order needs the override_reason the physician gave", field="override_reason"
        )
    if actor.role is Role.PHYSICIAN:
        raise InvalidCommand(
            "a physician signs their own authorisation: leave verbal_order_by out",
            field="verbal_order_by",
        )
    try:
        user = uow.users.get_by_username(physician)
    except RecordNotFound:
        user = None
    if user is None or not user.active or user.role is not Role.PHYSICIAN:
        raise InvalidCommand(
            f"verbal_order_by must be an active physician's user name; got {physician!r}",
            field="verbal_order_by",
        )


def require_cosignable(chart: Chart, command: cmd.CosignVerbalOrder, actor: Actor) -> None:
    """The entry is a verbal order naming this physician, and not yet co-signed."""
    entry = next((e for e in chart.entries if e.sequence == command.entry_sequence), None)
    named = None if entry is None else verbal_order_of(entry.stored[0])
    if entry is None or named is None:
        raise CommandRefused(
            "verbal-order-cosign", f"entry {command.entry_sequence} is not a verbal order"
        )
    if named != actor.username:
        raise CommandRefused(
            "verbal-order-cosign",
            f"entry {command.entry_sequence} is {named}'s verbal order: only they co-sign it",
        )
    pending = pending_verbal_orders((e.sequence, e.stored[0]) for e in chart.entries)
    if all(p.sequence != command.entry_sequence for p in pending):
        raise CommandRefused(
            "verbal-order-cosign", f"entry {command.entry_sequence} is already co-signed"
        )
