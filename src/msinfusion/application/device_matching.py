"""Which session in progress a device reading belongs to: the patient (PID-3) and the chair.

The patient id (PID-3 / ``patient_id``) and the chair name (PV1-3 bed / ``chair``,
case-insensitive) must single out one session whose status is checked-in, infusing, paused or
observation (else ``UnknownPatient``, or ``AmbiguousPatient`` when more than one fits or the
identifiers contradict each other). A match is remembered per (identifiers, chair) and
checked again in the reader's transaction before it is used (one read of the session's status
and patient, ``SessionSummaryRepository.get_patients_of``) — once per transaction when the
caller passes the transaction's ``checked`` matches, and for a whole group-commit batch in one
read (``check_remembered``: every monitor's session at once); ``DeviceFeed`` matches afresh if
a decision is then refused, so a session ended meanwhile is never recorded into.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TypeAlias

from msinfusion.application.monitoring_ports import DeviceReading, PatientKey
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.records import PatientIdentifier, SessionPatient
from msinfusion.errors import UnknownPatient

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


def _identifies(
    keys: tuple[PatientKey, ...],
    patient_id: str | None,
    identifiers: tuple[PatientIdentifier, ...],
) -> bool:
    """Whether ``keys`` identify the patient ``patient_id`` with ``identifiers``: a key is
    msinfusion's patient id, or the value of one of the patient's identifiers in the system it
    names. A key whose system the patient has with another value contradicts the others
    (``AmbiguousPatient``)."""
    if patient_id is None:
        return False
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


def _still_holds(found: SessionPatient | None, keys: tuple[PatientKey, ...]) -> bool:
    """Whether a remembered match to the session ``found`` is still good for ``keys``."""
    return (
        found is not None
        and found.status in IN_PROGRESS
        and (not keys or _identifies(keys, found.patient_id, found.identifiers))
    )


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
            found = uow.sessions.get_patients_of(candidates)
            candidates = [
                s
                for s in candidates
                if s in found and _identifies(keys, found[s].patient_id, found[s].identifiers)
            ]
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

    def check_remembered(
        self,
        uow: UnitOfWork,
        readings: Iterable[DeviceReading],
        checked: dict[MatchKey, str],
    ) -> None:
        """Check the remembered matches of ``readings`` in ``uow`` in one read
        (``get_patients_of``: group commit's batch, every monitor at once), adding those that
        still hold to ``checked``. One that no longer holds is forgotten (``find_in`` then
        matches afresh); one whose identifiers contradict each other is left to ``find_in``,
        which says so for its message."""
        wanted = {match_key(r) for r in readings} - checked.keys()
        with self._lock:
            remembered = {k: s for k in wanted if (s := self._matches.get(k)) is not None}
        if not remembered:
            return
        found = uow.sessions.get_patients_of(set(remembered.values()))
        for key, session_id in remembered.items():
            try:
                holds = _still_holds(found.get(session_id), key[0])
            except AmbiguousPatient:
                continue
            if holds:
                checked[key] = session_id
            else:
                with self._lock:
                    if self._matches.get(key) == session_id:
                        del self._matches[key]

    @staticmethod
    def _still_matches(uow: UnitOfWork, session_id: str, keys: tuple[PatientKey, ...]) -> bool:
        return _still_holds(uow.sessions.get_patients_of((session_id,)).get(session_id), keys)
