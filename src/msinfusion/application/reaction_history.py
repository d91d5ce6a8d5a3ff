"""A patient's infusion reactions per therapy across visits, derived from the stored record.

Never typed in at the chair: the worst reaction to each therapy comes from every stored session
of the patient (its folded chart), and a therapy is contraindicated when a reaction's protocol
rule discontinued it (a life-threatening reaction: stop, never give again) or when the patient
record lists it (a reaction elsewhere). The result feeds protocol eligibility at check-in and
refuses booking, check-in and start of a contraindicated therapy (``therapy-contraindicated``),
so no adapter can leave it out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from msinfusion.application.ports import UnitOfWork
from msinfusion.application.records import Patient, SessionSummary
from msinfusion.application.session_streams import SessionStreams
from msinfusion.catalog.model import Severity
from msinfusion.errors import CommandRefused, ProtocolNotFound


@dataclass(frozen=True, slots=True, kw_only=True)
class TherapyHistory:
    therapy_id: str
    worst_reaction: Severity | None = None
    contraindicated: bool = False
    because: str = ""
    """Why it is contraindicated, in words (the session, or the patient record)."""


def _worse(a: Severity | None, b: Severity | None) -> Severity | None:
    if a is None or b is None:
        return a or b
    return a if a.is_at_least(b) else b


def reaction_history(
    uow: UnitOfWork,
    streams: SessionStreams,
    patient: Patient,
    *,
    excluding_session_id: str | None = None,
) -> dict[str, TherapyHistory]:
    """Therapy id -> what the patient's record says of it (one entry per therapy with history)."""
    summaries = uow.sessions.list_for_patient(patient.id)
    return history_of(uow, streams, patient, summaries, excluding_session_id=excluding_session_id)


def history_of(
    uow: UnitOfWork,
    streams: SessionStreams,
    patient: Patient,
    summaries: Iterable[SessionSummary],
    *,
    excluding_session_id: str | None = None,
) -> dict[str, TherapyHistory]:
    """``reaction_history`` from the patient's session summaries already read (the board reads
    every row's patient's in one query). A summary's reaction columns are its stream's folded
    state's, written in the transaction of its events; a summary without them (written before
    migration 0017) has its stream read instead."""
    found: dict[str, TherapyHistory] = {
        therapy_id: TherapyHistory(
            therapy_id=therapy_id,
            contraindicated=True,
            because="recorded as contraindicated in the patient record",
        )
        for therapy_id in patient.contraindicated_therapy_ids
    }
    for summary in summaries:
        if summary.session_id == excluding_session_id or not summary.protocol_id:
            continue
        try:
            therapy_id = streams.catalog.get_protocol(summary.protocol_id).therapy_id
        except ProtocolNotFound:
            continue
        worst_reaction, contraindicated = summary.worst_reaction, summary.therapy_contraindicated
        if contraindicated is None:
            state = summary.state or streams.read_in(uow, summary.session_id).state
            worst_reaction, contraindicated = state.worst_reaction, state.therapy_contraindicated
        worst = None if worst_reaction is None else Severity(worst_reaction)
        if worst is None and not contraindicated:
            continue
        known = found.get(therapy_id, TherapyHistory(therapy_id=therapy_id))
        found[therapy_id] = TherapyHistory(
            therapy_id=therapy_id,
            worst_reaction=_worse(known.worst_reaction, worst),
            contraindicated=known.contraindicated or contraindicated,
            because=known.because
            or (
                f"a {worst.value if worst else 'discontinuing'} reaction in session "
                f"{summary.session_id} discontinued it"
                if contraindicated
                else ""
            ),
        )
    return found


def require_not_contraindicated(history: dict[str, TherapyHistory], therapy_id: str) -> None:
    """Refuse a contraindicated therapy (no override: the label makes it a contraindication)."""
    known = history.get(therapy_id)
    if known is not None and known.contraindicated:
        raise CommandRefused(
            "therapy-contraindicated",
            f"{therapy_id} is contraindicated for this patient: {known.because}",
        )
