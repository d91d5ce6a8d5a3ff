"""At the chair, the bag hung must be the one the pharmacy verified, prepared and checked.

``require_bag_matches`` runs in the ``StartInfusion`` transaction, after the start gates
(``SessionUseCases.handle``), against the appointment's current pharmacy row
(``pharmacy_records.current_preparation``):

* ``bag-not-verified`` — the dose has a pharmacy row that is not released (verified but not yet
  prepared, prepared but not second-checked, or returned), or a bag id was scanned for a dose
  the pharmacy has no row for;
* ``bag-mismatch`` — the scanned or typed ``bag_id`` is missing or is not the released
  preparation's id.

When is it required? Exactly when the centre uses pharmacy verification for the dose: the
appointment has a pharmacy row. A centre (or a dose, or a walk-in) without one starts as before,
with no bag id — so existing flows keep working, and a centre turns the check on simply by
verifying its doses in the pharmacy. Once a dose is in the pharmacy's hands it cannot be started
without its bag. Both rules are hard: no override passes them.
"""

from __future__ import annotations

from msinfusion.application.pharmacy_records import current_preparation
from msinfusion.application.ports import UnitOfWork
from msinfusion.errors import CommandRefused
from msinfusion.session.commands import StartInfusion
from msinfusion.session.state import SessionState, Status


def normalised_bag_id(raw: str | None) -> str | None:
    """A scanned or typed bag id: trimmed, lower case (scanners may send upper case); empty
    is None.

    >>> normalised_bag_id("  PREP-3F2A9C1B0D4E4F6A\\n")
    'prep-3f2a9c1b0d4e4f6a'
    >>> normalised_bag_id("   ") is None
    True
    """
    if raw is None:
        return None
    cleaned = raw.strip().lower()
    return cleaned or None


def require_bag_matches(
    uow: UnitOfWork, session_id: str, state: SessionState, command: StartInfusion
) -> None:
    """Refuse the start unless the bag matches the dose's released preparation (see above)."""
    if state.status is not Status.CHECKED_IN:
        return
    scanned = normalised_bag_id(command.bag_id)
    appointment = uow.appointments.find_by_session(session_id)
    rows = [] if appointment is None else uow.preparations.list_for_appointment(appointment.id)
    current = current_preparation(rows)
    if current is None:
        if scanned is None:
            return  # no pharmacy verification for this dose: the check does not apply
        raise CommandRefused(
            "bag-not-verified",
            f"bag {scanned} was scanned, but the pharmacy has not verified this dose",
        )
    if not current.is_released:
        raise CommandRefused(
            "bag-not-verified",
            f"the pharmacy's bag {current.id} for this dose is {current.status.value}, not "
            "prepared and checked: it may not be started",
        )
    if scanned != current.id:
        raise CommandRefused(
            "bag-mismatch",
            f"the bag scanned ({scanned or 'none'}) is not this dose's verified bag "
            f"{current.id}: scan the bag's label",
        )
