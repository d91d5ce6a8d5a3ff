"""The board's summary of one session, computed from its folded state in O(1).

``summarise`` gives exactly what ``msinfusion.session.queries.view_at(events, protocol)`` shows
at the time of the last event (status, rate, volume, projected end and chair release, the next
due action, warnings) without replaying the stream or drawing its timeline; a unit test pins the
two together (``tests/unit/application/test_session_summary.py``).
"""

from __future__ import annotations

from datetime import datetime

from msinfusion.application.records import SessionSummary
from msinfusion.catalog.model import Protocol
from msinfusion.session.due import DueAction, list_due_actions, list_warnings
from msinfusion.session.queries import SessionView, chair_release, projected_end
from msinfusion.session.state import SessionState, Status


def summary_from_view(session_id: str, view: SessionView) -> SessionSummary:
    """The summary of a ``view_at`` result (the reference definition)."""
    state = view.state
    due = view.due[0] if view.due else None  # soonest first, untimed actions last
    return SessionSummary(
        session_id=session_id,
        version=state.version,
        status=state.status.value,
        patient_id=state.patient_id or None,
        protocol_id=state.protocol_id or None,
        protocol_version=state.protocol_version or None,
        dose_number=state.dose_number or None,
        rate_ml_per_h=state.rate_ml_per_h,
        volume_infused_ml=state.volume_ml,
        bag_volume_ml=state.bag_volume_ml,
        infusion_started_at=state.infusion_started_at,
        projected_infusion_end=view.projected_infusion_end,
        projected_chair_release=view.projected_chair_release,
        next_due_action=None if due is None else due.action,
        next_due_at=None if due is None else due.at,
        warnings=view.warnings,
        last_event_at=state.last_at,
        worst_reaction=state.worst_reaction,
        therapy_contraindicated=state.therapy_contraindicated,
        state=state,
    )


def summarise(session_id: str, state: SessionState, protocol: Protocol | None) -> SessionSummary:
    """``summary_from_view(session_id, view_at(events, protocol))`` from the folded state."""
    return summarise_with_end(session_id, state, protocol, projected_end(state, protocol))


def summarise_with_end(
    session_id: str, state: SessionState, protocol: Protocol | None, end: datetime | None
) -> SessionSummary:
    """``summarise`` with ``end = projected_end(state, protocol)`` already computed (the
    command path computes it once for the summary and the view it returns)."""
    chair = chair_release(state, end)
    when = state.last_at
    due: tuple[DueAction, ...] = ()
    warnings: tuple[str, ...] = ()
    if protocol is not None and when is not None and state.status is not Status.NEW:
        due = list_due_actions(state, protocol, when, end)
        warnings = list_warnings(state, protocol, when, end)
    view = SessionView(
        at=when,
        state=state,
        projected_infusion_end=end,
        projected_chair_release=chair,
        due=due,
        warnings=warnings,
        events=state.version,
        timeline=(),
    )
    return summary_from_view(session_id, view)
