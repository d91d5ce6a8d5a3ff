"""Time as it really happens: entries charted late, clocks running ahead, corrected times.

Worked by hand on ocrelizumab 600 mg (500 mL; ladder 40 mL/h from minute 0, 80 from 30, 120 from
60; methylprednisolone 15-45 min and the antihistamine 15-75 min before the start, the dossier's
30 and 30-60 min widened by their 15 min tolerance). Minute 0 is the drug start, 09:00 UTC; the
patient was checked in at minute -150 with a passed assessment (``helpers.checked_in``).
Each command carries ``recorded_at``, the time it was charted.
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from msinfusion.application.sessions import SessionService
from msinfusion.catalog.model import Severity
from msinfusion.errors import CommandRefused
from msinfusion.session import commands as cmd
from msinfusion.session.chart import fold
from msinfusion.session.events import EntryCorrected, RateChanged
from msinfusion.session.segments import list_actual_segments, total_volume_ml
from tests.unit.session.helpers import at, checked_in, protocol

PROTOCOL = "ocrelizumab-600-standard"
ANTIHISTAMINE = "antihistamine (e.g. diphenhydramine)"


def _premedicate(
    service: SessionService,
    session: str,
    *,
    steroid_at: float,
    steroid_charted: float,
    antihistamine_at: float = -40,
) -> None:
    service.handle(
        session,
        cmd.GivePremedication(
            at=at(antihistamine_at),
            recorded_at=at(antihistamine_at),
            user="nurse-a",
            drug=ANTIHISTAMINE,
            dose="25 mg",
            route="oral",
        ),
    )
    service.handle(
        session,
        cmd.GivePremedication(
            at=at(steroid_at),
            recorded_at=at(steroid_charted),
            user="nurse-a",
            drug="methylprednisolone",
            dose="100 mg",
            route="IV",
        ),
    )


def _start(service: SessionService, session: str, minute: float = 0) -> None:
    service.handle(
        session,
        cmd.StartInfusion(
            at=at(minute), recorded_at=at(minute), user="nurse-a", rate_ml_per_h=Fraction(40)
        ),
    )


def _started() -> tuple[SessionService, str]:
    service, session = checked_in(PROTOCOL, dose_number=3)
    _premedicate(service, session, steroid_at=-30, steroid_charted=-30)
    _start(service, session)
    return service, session


def test_a_premedication_charted_late_counts_from_when_it_was_given() -> None:
    """Methylprednisolone given at 08:40 (minute -20), charted at 08:55 (minute -5). From its
    true time the 09:00 start is 20 min later: inside 15-45, so the start is valid. Stamped with
    the charting time it would have been 5 min: too soon, refused."""
    service, session = checked_in(PROTOCOL, dose_number=3)
    _premedicate(service, session, steroid_at=-20, steroid_charted=-5)
    _start(service, session)
    state = service.get_state(session)
    assert state.status.value == "infusing"
    given = {g.satisfies: g.at for g in state.premedications}
    assert given["methylprednisolone"] == at(-20)
    started = service.get_chart(session).stored_events[-1]
    assert started.deviations == ()  # no override was needed
    assert started.recorded_at == at(0)


def test_a_premedication_whose_true_time_is_too_early_refuses_the_start() -> None:
    """Given at 08:10 (minute -50), charted at 08:35 (25 min late): 50 min before the start is
    outside 15-45. The window is measured from 08:10, so the start is refused with its rule."""
    service, session = checked_in(PROTOCOL, dose_number=3)
    _premedicate(service, session, steroid_at=-50, steroid_charted=-25)
    before = service.get_version(session)
    with pytest.raises(CommandRefused) as refused:
        _start(service, session)
    assert refused.value.rule == "premedication-window"
    assert "methylprednisolone" in refused.value.reason
    assert service.get_version(session) == before


def test_a_late_rate_change_re_derives_the_volume() -> None:
    """40 mL/h from minute 0; the step to 80 mL/h at minute 30 is charted at minute 50, after
    vital signs recorded at minute 40. By minute 60: 30 min x 40 = 20 mL, 30 min x 80 = 40 mL:
    60 mL (not the 40 mL of 60 min at 40 mL/h)."""
    service, session = _started()
    service.handle(
        session,
        cmd.RecordVitals(
            at=at(40), recorded_at=at(40), user="nurse-a", heart_rate_bpm=Fraction(72)
        ),
    )
    service.handle(
        session,
        cmd.ChangeRate(at=at(30), recorded_at=at(50), user="nurse-a", rate_ml_per_h=Fraction(80)),
    )
    assert service.get_state(session, at(60)).volume_ml == 60
    chart = service.get_chart(session)
    late = [e for e in chart.stored_events if isinstance(e, RateChanged)]
    assert [(e.at, e.recorded_at, e.previous_rate_ml_per_h) for e in late] == [(at(30), at(50), 40)]
    # The integral is the exact integral over the clinical-order rate segments.
    segments = list_actual_segments(chart.events, until=at(60))
    assert total_volume_ml(segments) == 60
    assert [s.rate_ml_per_h for s in segments] == [40, 80]


def test_a_late_entry_that_a_later_entry_contradicts_is_refused_naming_both() -> None:
    """Steps to 80 at minute 30 and 120 at minute 60 were charted as they happened. A pause
    charted late at minute 45 would have the 60-minute rate change happen while paused: refused
    with late-entry-conflict naming that entry and its rule; nothing is stored."""
    service, session = _started()
    for minute, rate in ((30, 80), (60, 120)):
        service.handle(
            session,
            cmd.ChangeRate(
                at=at(minute), recorded_at=at(minute), user="nurse-a", rate_ml_per_h=Fraction(rate)
            ),
        )
    contradicted = service.get_version(session)  # the 120 mL/h step's sequence number
    with pytest.raises(CommandRefused) as refused:
        service.handle(
            session,
            cmd.PauseInfusion(at=at(45), recorded_at=at(65), user="nurse-b", reason="line"),
        )
    assert refused.value.rule == "late-entry-conflict"
    assert f"entry #{contradicted} (ChangeRate" in refused.value.reason
    assert "infusion-not-running" in refused.value.reason
    assert service.get_version(session) == contradicted
    assert service.get_state(session).rate_ml_per_h == 120


def test_rescue_medication_charted_after_the_reaction_sits_at_its_true_time() -> None:
    """A moderate reaction at minute 20 halves 40 to 20 mL/h; vital signs at minute 25; the
    antihistamine given at minute 21 is charted at minute 30 and folds between the two."""
    service, session = _started()
    service.handle(
        session,
        cmd.RecordReaction(
            at=at(20),
            recorded_at=at(20),
            user="nurse-a",
            severity=Severity.MODERATE,
            symptoms=("flushing",),
        ),
    )
    service.handle(
        session,
        cmd.RecordVitals(at=at(25), recorded_at=at(25), user="nurse-a", spo2_pct=Fraction(97)),
    )
    service.handle(
        session,
        cmd.GiveRescueMedication(
            at=at(21),
            recorded_at=at(30),
            user="nurse-a",
            drug="clemastine",
            dose="2 mg",
            route="IV",
        ),
    )
    view = service.get_view(session, at(30))
    wanted = {"ReactionRecorded", "RateChanged", "RescueMedicationGiven", "VitalsRecorded"}
    assert [(e.kind, e.at) for e in view.entries if e.kind in wanted] == [
        ("ReactionRecorded", at(20)),
        ("RateChanged", at(20)),
        ("RescueMedicationGiven", at(21)),
        ("VitalsRecorded", at(25)),
    ]
    rescue = next(e for e in view.entries if e.kind == "RescueMedicationGiven")
    assert (rescue.at, rescue.recorded_at, rescue.late) == (at(21), at(30), False)
    # 0-20 at 40 mL/h = 40/3 mL; 20-30 at 20 mL/h = 10/3 mL: 50/3 mL by minute 30.
    assert view.state.volume_ml == Fraction(50, 3)


def test_an_entry_from_the_future_is_refused_and_blocks_nothing() -> None:
    """Recorded at 09:00, stamped 09:03: more than the 2 min tolerance ahead (clock-future).
    Stamped 09:01 (within it), the entry is charted at its recording time, 09:00."""
    service, session = _started()
    before = service.get_version(session)
    with pytest.raises(CommandRefused) as refused:
        service.handle(
            session,
            cmd.RecordVitals(
                at=at(3), recorded_at=at(0), user="device:mon", heart_rate_bpm=Fraction(71)
            ),
        )
    assert refused.value.rule == "clock-future"
    assert service.get_version(session) == before
    service.handle(
        session,
        cmd.RecordVitals(at=at(1), recorded_at=at(0), user="nurse-a", heart_rate_bpm=Fraction(71)),
    )
    assert service.get_chart(session).stored_events[-1].at == at(0)
    # The real-time entry after it is accepted: nothing from the future holds the chart.
    service.handle(
        session,
        cmd.StopInfusion(at=at(5), recorded_at=at(5), user="nurse-a", reason="patient request"),
    )
    assert service.get_state(session).status.value == "observation"


def test_a_corrected_time_moves_the_entry_and_keeps_the_original() -> None:
    """The step to 80 mL/h was stamped minute 40 but happened at minute 30. Corrected: by
    minute 60, 30 x 40 + 30 x 80 = 20 + 40 = 60 mL (stamped: 40 x 40 + 20 x 80 = 80/3 + 80/3 =
    160/3 mL). The stored entry still says minute 40."""
    service, session = _started()
    service.handle(
        session,
        cmd.ChangeRate(at=at(40), recorded_at=at(40), user="nurse-a", rate_ml_per_h=Fraction(80)),
    )
    target = service.get_version(session)
    assert service.get_state(session, at(60)).volume_ml == Fraction(160, 3)
    service.handle(
        session,
        cmd.CorrectEntry(
            at=at(45),
            recorded_at=at(45),
            user="nurse-a",
            corrects_sequence=target,
            reason="stamped when charted, given at 09:30",
            corrected_at=at(30),
        ),
    )
    assert service.get_state(session, at(60)).volume_ml == 60
    chart = service.get_chart(session)
    assert chart.stored_events[target - 1].at == at(40)  # the original stays on record
    (correction,) = [e for e in chart.stored_events if isinstance(e, EntryCorrected)]
    assert correction.corrected_at == at(30)
    rebuilt = fold(chart.entries, protocol(PROTOCOL), strict=True)
    assert rebuilt.state == chart.state


def test_a_premedication_may_precede_the_check_in_by_the_protocol_lead_only() -> None:
    """The longest premedication window is the antihistamine's 75 min: an oral dose taken at
    home up to 75 min before the check-in is charted; anything else before it is refused."""
    service, session = checked_in(PROTOCOL, dose_number=3)  # checked in at minute -150
    service.handle(
        session,
        cmd.GivePremedication(
            at=at(-200),
            recorded_at=at(-140),
            user="nurse-a",
            drug=ANTIHISTAMINE,
            dose="25 mg",
            route="oral",
            late_reason="taken at home before arrival",
        ),
    )
    with pytest.raises(CommandRefused) as too_early:
        service.handle(
            session,
            cmd.GivePremedication(
                at=at(-230),
                recorded_at=at(-140),
                user="nurse-a",
                drug=ANTIHISTAMINE,
                dose="25 mg",
                route="oral",
                late_reason="taken at home",
            ),
        )
    assert too_early.value.rule == "before-check-in"
    with pytest.raises(CommandRefused) as not_premedication:
        service.handle(
            session,
            cmd.RecordVitals(
                at=at(-160), recorded_at=at(-140), user="nurse-a", spo2_pct=Fraction(98)
            ),
        )
    assert not_premedication.value.rule == "before-check-in"


def test_an_entry_charted_past_the_late_threshold_needs_a_reason() -> None:
    service, session = _started()
    late = cmd.RecordVitals(
        at=at(10), recorded_at=at(10) + timedelta(minutes=31), user="nurse-a",
        spo2_pct=Fraction(98),
    )  # fmt: skip
    with pytest.raises(CommandRefused) as refused:
        service.handle(session, late)
    assert refused.value.rule == "late-reason"
    service.handle(session, cmd.RecordVitals(**{**_fields(late), "late_reason": "emergency"}))
    view = service.get_view(session, at(45))
    (entry,) = [e for e in view.entries if e.kind == "VitalsRecorded"]
    assert entry.late
    assert entry.to_line().endswith("[charted late at 09:41:00]")


def _fields(command: cmd.Command) -> dict[str, object]:
    return {name: getattr(command, name) for name in command.__dataclass_fields__}


def test_a_rate_step_falls_due_exactly_when_the_engine_accepts_it() -> None:
    """The step to 80 mL/h falls due at running minute 30. The due list gives 09:30:00; at
    09:29:59 the engine refuses the step (``ladder-step``), at the due time it accepts it (the
    chairside says "due now" only from that instant: ``static/app.js``)."""
    service, session = _started()
    early = at(Fraction(1799, 60))
    (due,) = [d.at for d in service.get_view(session, early).due if d.action == "change-rate"]
    assert due == at(30)
    with pytest.raises(CommandRefused) as refused:
        service.handle(
            session,
            cmd.ChangeRate(at=early, recorded_at=early, user="n", rate_ml_per_h=Fraction(80)),
        )
    assert refused.value.rule == "ladder-step"
    assert due is not None
    service.handle(
        session, cmd.ChangeRate(at=due, recorded_at=due, user="n", rate_ml_per_h=Fraction(80))
    )
    assert service.get_state(session).rate_ml_per_h == 80
