"""Which session in progress a device reading belongs to: the patient (PID-3) and the chair.

The patient id (PID-3 / ``patient_id``) and the chair name (PV1-3 bed / ``chair``,
case-insensitive) must single out one session whose status is checked-in, infusing, paused or
observation (else ``UnknownPatient``, or ``AmbiguousPatient`` when more than one fits or the
identifiers contradict each other). A match is remembered per (identifiers, chair) and
checked again in the reader's transaction before it is used — once per transaction when the
caller passes the transaction's ``checked`` matches (group commit: a batch's readings from one
monitor are matched by one check; ``DeviceFeed`` matches afresh if a decision is then refused,
so a session ended meanwhile is never recorded into).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import TypeAlias

from msinfusion.application.monitoring_ports import DeviceReading, PatientKey
from msinfusion.application.ports import UnitOfWork
from msinfusion.errors import RecordNotFound, UnknownPatient

IN_PROGRESS = ("checked-in", "infusing", "paused", "observation")
"""Session statuses a device reading may be recorded in."""


class AmbiguousPatient(UnknownPatient):
    """The identifiers and chair of a message fit more than one session in progress, or its
    identifiers name different patients: quarantined as ``ambiguous-patient``, nothing guessed."""


def chairs_of_sessions(uow: UnitOfWork, now: datetime) -> dict[str, str]:
    """Session id -> chair name for the appointments of the day around ``now``."""
    names = {chair.id: chair.name for chair in uow.chairs.list()}
    window = timedelta(days=1)
    return {
        a.session_id: names.get(a.chair_id, "")
        for a in uow.appointments.list_between(now - window, now + window)
        if a.session_id is not None
    }


def _same_system(recorded: str, given: tuple[str, ...]) -> bool:
    wanted = recorded.casefold()
    return any(wanted == system.casefold() for system in given)


def _is_patient(
    uow: UnitOfWork, session_id: str, keys: tuple[PatientKey, ...], patient_id: str | None = None
) -> bool:
    """Whether ``keys`` identify the session's patient: a key is msinfusion's patient id, or
    the value of one of the patient's identifiers in the system it names. A key whose system
    the patient has with another value contradicts the others (``AmbiguousPatient``).
    ``patient_id``: the session's, when the caller has read it."""
    patient_id = patient_id or uow.sessions.get(session_id).patient_id
    if patient_id is None:
        return False
    try:
        identifiers = uow.patients.get(patient_id).identifiers
    except RecordNotFound:
        identifiers = ()
    found = contradicted = False
    for key in keys:
        if key.value == patient_id:
            found = True
            continue
        same_system = [
            i for i in identifiers if key.systems and _same_system(i.system, key.systems)
        ]
        if any(i.value == key.value for i in same_system):
            found = True
        elif same_system:
            contradicted = True
    if found and contradicted:
        raise AmbiguousPatient(
            "the message's patient identifiers (PID-3) name different patients: nothing recorded",
            field="PID-3",
        )
    return found


def sessions_in_progress(uow: UnitOfWork) -> list[str]:
    return sorted(s.session_id for status in IN_PROGRESS for s in uow.sessions.list(status=status))


MatchKey: TypeAlias = tuple[tuple[PatientKey, ...], str | None]
"""A reading's identifiers and chair, which a match is remembered by."""


def match_key(reading: DeviceReading) -> MatchKey:
    return reading.patient_keys, reading.chair_name


class SessionMatcher:
    """Finds the session of a reading, remembering earlier matches (thread-safe)."""

    def __init__(self) -> None:
        self._matches: dict[MatchKey, str] = {}
        self._lock = threading.Lock()

    def find_in(
        self,
        uow: UnitOfWork,
        reading: DeviceReading,
        now: datetime,
        *,
        checked: dict[MatchKey, str] | None = None,
    ) -> str:
        """The one session in progress of the patient (any identifier of ``reading``: every
        PID-3 repetition) at the chair; ``UnknownPatient`` / ``AmbiguousPatient`` name the
        field that failed. ``checked``: the matches already checked in ``uow``, by reading
        (used as they are, and added to)."""
        keys, chair = reading.patient_keys, reading.chair_name
        if not keys and not chair:
            raise UnknownPatient(
                "the message names neither the patient (PID-3) nor the chair (PV1-3)",
                field="PID-3",
            )
        if checked is not None and (keys, chair) in checked:
            return checked[keys, chair]
        with self._lock:
            cached = self._matches.get((keys, chair))
        if cached is not None and self._still_matches(uow, cached, keys):
            if checked is not None:
                checked[keys, chair] = cached
            return cached
        candidates = sessions_in_progress(uow)
        if keys:
            candidates = [s for s in candidates if _is_patient(uow, s, keys)]
            if not candidates:
                raise UnknownPatient(
                    "no infusion in progress is for the patient the message identifies (PID-3)",
                    field="PID-3",
                )
        if chair:
            chair_of = chairs_of_sessions(uow, now)
            wanted = chair.casefold()
            candidates = [s for s in candidates if chair_of.get(s, "").casefold() == wanted]
            if not candidates:
                raise UnknownPatient(
                    "no infusion in progress of that patient is at the chair the message names "
                    "(PV1-3)"
                    if keys
                    else "no infusion in progress is at the chair the message names (PV1-3)",
                    field="PV1-3",
                )
        if len(candidates) > 1:
            raise AmbiguousPatient(
                f"{len(candidates)} infusions in progress fit the patient (PID-3) and chair "
                "(PV1-3): nothing recorded",
                field="PID-3" if keys else "PV1-3",
            )
        with self._lock:
            self._matches[(keys, chair)] = candidates[0]
        if checked is not None:
            checked[keys, chair] = candidates[0]
        return candidates[0]

    @staticmethod
    def _still_matches(uow: UnitOfWork, session_id: str, keys: tuple[PatientKey, ...]) -> bool:
        summary = uow.sessions.get(session_id)
        return summary.status in IN_PROGRESS and (
            not keys or _is_patient(uow, session_id, keys, summary.patient_id)
        )
