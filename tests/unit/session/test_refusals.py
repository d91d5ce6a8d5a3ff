"""Every safety rule refuses with its stable rule name; refused commands append nothing."""

from __future__ import annotations

from fractions import Fraction

import pytest

from msinfusion.application import SessionService
from msinfusion.catalog.model import Severity
from msinfusion.errors import CommandRefused, ConcurrencyError, InvalidCommand
from msinfusion.session import commands as cmd
from tests.unit.session.helpers import (
    at,
    change_rate,
    checked_in,
    memory_sessions,
    premedicate,
    started,
)

OCR = "ocrelizumab-600-standard"


def _refused(service: SessionService, session: str, command: cmd.Command) -> str:
    before = service.get_version(session)
    with pytest.raises(CommandRefused) as refused:
        service.handle(session, command)
    assert service.get_version(session) == before
    return refused.value.rule


def _check_in(**extra: object) -> cmd.CheckIn:
    fields: dict[str, object] = {"patient_id": "p", "protocol_id": OCR, "dose_number": 3} | extra
    return cmd.CheckIn(at=at(-90), user="n", **fields)  # type: ignore[arg-type]


def test_session_rules_before_the_start() -> None:
    service = memory_sessions()
    s = service.create_session()
    assert (
        _refused(service, s, cmd.RecordVitals(at=at(0), spo2_pct=Fraction(98))) == "not-checked-in"
    )
    assert _refused(service, s, _check_in(protocol_id="no-such-protocol")) == "protocol-unknown"
    assert _refused(service, s, _check_in(dose_number=1)) == "protocol-eligibility"
    service.handle(s, _check_in())
    assert _refused(service, s, _check_in()) == "already-checked-in"
    before_check_in = cmd.RecordVitals(at=at(-200), spo2_pct=Fraction(98))
    assert _refused(service, s, before_check_in) == "before-check-in"


def test_assessment_and_premedication_gate_the_start() -> None:
    service = memory_sessions()
    s = service.create_session()
    service.handle(s, _check_in())
    start = cmd.StartInfusion(at=at(0), rate_ml_per_h=Fraction(40), override_reason="urgent")
    assert _refused(service, s, start) == "assessment-missing"
    failed = cmd.RecordAssessment(
        at=at(-80), passed=False, check="infection", findings="fever 38.4 C"
    )
    service.handle(s, failed)
    assert _refused(service, s, start) == "assessment-failed"  # no override for a failed check
    service.handle(s, cmd.RecordAssessment(at=at(-70), passed=True, check="infection"))
    no_reason = cmd.StartInfusion(at=at(0), rate_ml_per_h=Fraction(40))
    assert _refused(service, s, no_reason) == "premedication-window"


def test_premedication_window_override_is_recorded() -> None:
    service, s = checked_in(OCR)
    # Antihistamine 100 min before: outside 30-60 (+-15 tolerance = 15-75).
    service.handle(
        s, cmd.GivePremedication(at=at(-100), drug="diphenhydramine", dose="50 mg", route="IV")
    )
    service.handle(
        s, cmd.GivePremedication(at=at(-30), drug="methylprednisolone", dose="100 mg", route="IV")
    )
    start = cmd.StartInfusion(at=at(0), rate_ml_per_h=Fraction(40))
    assert _refused(service, s, start) == "premedication-window"
    override = cmd.StartInfusion(
        at=at(0), rate_ml_per_h=Fraction(40), override_reason="chair delay"
    )
    (event,) = service.handle(s, override)
    assert event.override_reason == "chair delay"  # type: ignore[attr-defined]
    assert "100 min before" in event.deviations[0]  # type: ignore[attr-defined]


DOSES = {"methylprednisolone": "100 mg", "diphenhydramine": "50 mg", "acetaminophen": "1000 mg"}


def test_premedication_windows_accept_the_tolerance_edges() -> None:
    service, s = checked_in(OCR)
    service.handle(
        s, cmd.GivePremedication(at=at(-75), drug="diphenhydramine", dose="50 mg", route="PO")
    )
    service.handle(
        s,
        cmd.GivePremedication(
            at=at(-15),
            drug="methylprednisolone",
            dose="100 mg",
            route="IV",
            for_premedication="methylprednisolone",
        ),
    )
    service.handle(s, cmd.StartInfusion(at=at(0), rate_ml_per_h=Fraction(40)))


def test_rate_limits_are_hard() -> None:
    service, s = started(OCR)
    over = cmd.ChangeRate(at=at(10), rate_ml_per_h=Fraction(250), override_reason="doctor said so")
    assert _refused(service, s, over) == "max-rate"
    early = cmd.ChangeRate(at=at(29), rate_ml_per_h=Fraction(80), override_reason="nearly time")
    assert _refused(service, s, early) == "ladder-step"
    assert _refused(service, s, cmd.StartInfusion(at=at(30), rate_ml_per_h=Fraction(40))) == (
        "infusion-already-started"
    )
    service.handle(s, cmd.PauseInfusion(at=at(20)))
    # Ladder time excludes the pause: at clock 35 only 20 running minutes have passed.
    service.handle(s, cmd.ResumeInfusion(at=at(25), rate_ml_per_h=Fraction(40)))
    assert (
        _refused(service, s, cmd.ChangeRate(at=at(32), rate_ml_per_h=Fraction(80))) == "ladder-step"
    )
    change_rate(service, s, 35, 80)


def test_start_rate_above_the_first_step_is_refused() -> None:
    service, s = checked_in(OCR)
    premedicate(service, s, OCR)
    assert (
        _refused(service, s, cmd.StartInfusion(at=at(0), rate_ml_per_h=Fraction(80)))
        == "ladder-step"
    )


def test_reaction_rules() -> None:
    service, s = started(OCR)
    change_rate(service, s, 30, 80)
    too_fast = cmd.RecordReaction(
        at=at(40), severity=Severity.MILD, symptoms=("itching",), rate_ml_per_h=Fraction(50)
    )
    assert _refused(service, s, too_fast) == "reaction-rate"
    assert _refused(service, s, cmd.ResolveReaction(at=at(40))) == "no-open-reaction"
    slower = cmd.RecordReaction(
        at=at(40), severity=Severity.MILD, symptoms=("itching",), rate_ml_per_h=Fraction(30)
    )
    service.handle(s, slower)
    assert service.get_state(s).rate_ml_per_h == 30
    change_rate(service, s, 50, 40)  # up to the cap (half of 80) at any time
    assert _refused(service, s, cmd.ResumeInfusion(at=at(50), rate_ml_per_h=Fraction(40))) == (
        "infusion-not-paused"
    )


def test_life_threatening_reaction_is_terminal_for_the_infusion() -> None:
    service, s = started(OCR)
    event = cmd.RecordReaction(
        at=at(10), severity=Severity.LIFE_THREATENING, symptoms=("hypotension",), ctcae_grade=4
    )
    service.handle(s, event)
    state = service.get_state(s)
    assert state.therapy_contraindicated
    assert state.status.value == "observation"
    for command in (
        cmd.StartInfusion(at=at(20), rate_ml_per_h=Fraction(40)),
        cmd.ResumeInfusion(at=at(20), rate_ml_per_h=Fraction(40)),
        cmd.ChangeRate(at=at(20), rate_ml_per_h=Fraction(40)),
        cmd.GivePremedication(at=at(20), drug="x", dose="y", route="z"),
    ):
        assert _refused(service, s, command) == "therapy-discontinued"
    service.handle(
        s, cmd.GiveRescueMedication(at=at(11), drug="adrenaline", dose="0.5 mg", route="IM")
    )
    service.handle(
        s, cmd.RecordVitals(at=at(12), systolic_mmhg=Fraction(85), heart_rate_bpm=Fraction(120))
    )
    assert _refused(service, s, cmd.Discharge(at=at(60))) == "observation"
    service.handle(s, cmd.Discharge(at=at(70)))


def test_infusion_state_rules() -> None:
    service, s = started(OCR)
    assert _refused(service, s, cmd.Discharge(at=at(5))) == "infusion-running"
    assert _refused(service, s, cmd.CompleteInfusion(at=at(5))) == "bag-not-empty"
    service.handle(s, cmd.ChangeRate(at=at(30), rate_ml_per_h=Fraction(80)))
    service.handle(s, cmd.ChangeRate(at=at(60), rate_ml_per_h=Fraction(120)))
    service.handle(s, cmd.ChangeRate(at=at(90), rate_ml_per_h=Fraction(160)))
    service.handle(s, cmd.ChangeRate(at=at(120), rate_ml_per_h=Fraction(200)))
    assert (
        _refused(service, s, cmd.ChangeRate(at=at(300), rate_ml_per_h=Fraction(100))) == "bag-empty"
    )
    assert _refused(service, s, cmd.CorrectEntry(at=at(300), corrects_sequence=99, reason="x")) == (
        "correction-target"
    )
    service.handle(s, cmd.CorrectEntry(at=at(300), corrects_sequence=6, reason="time was 09:31"))
    service.handle(s, cmd.CompleteInfusion(at=at(300)))
    assert _refused(service, s, cmd.PauseInfusion(at=at(301))) == "infusion-not-running"
    service.handle(s, cmd.Discharge(at=at(360)))
    assert _refused(service, s, cmd.RecordVitals(at=at(361), spo2_pct=Fraction(97))) == "discharged"


def test_stop_early_records_delivered_volume_and_warns() -> None:
    service, s = started(OCR)
    service.handle(s, cmd.StopInfusion(at=at(30), reason="cannula tissued"))
    view = service.get_view(s)
    assert view.state.volume_ml == 20
    assert view.state.dose_delivered_mg == 24
    assert any(w.startswith("dose not fully delivered") for w in view.warnings)


def test_malformed_commands_and_concurrency() -> None:
    with pytest.raises(InvalidCommand):
        cmd.ChangeRate(at=at(0).replace(tzinfo=None), rate_ml_per_h=Fraction(1))
    with pytest.raises(InvalidCommand):
        cmd.ChangeRate(at=at(0), rate_ml_per_h=Fraction(0))
    service, s = started(OCR)
    with pytest.raises(ConcurrencyError):
        service.handle(s, cmd.PauseInfusion(at=at(5)), expected_version=2)


@pytest.mark.parametrize(
    ("worst_prior_reaction", "refused"),
    [(Severity.SEVERE, True), (Severity.LIFE_THREATENING, True), (Severity.MODERATE, False)],
)
def test_the_short_ocrelizumab_option_needs_no_prior_serious_reaction(
    worst_prior_reaction: Severity, refused: bool
) -> None:
    service = memory_sessions()
    s = service.create_session()
    check_in = cmd.CheckIn(
        at=at(-120),
        patient_id="synthetic-1",
        protocol_id="ocrelizumab-600-short",
        dose_number=4,
        worst_prior_reaction=worst_prior_reaction,
    )
    if not refused:
        service.handle(s, check_in)
        assert len(service.list_events(s)) == 1
        return
    with pytest.raises(CommandRefused) as caught:
        service.handle(s, check_in)
    assert caught.value.rule == "protocol-eligibility"
    assert f"prior {worst_prior_reaction.value} reaction" in caught.value.reason
    assert service.list_events(s) == ()


def test_rituximab_premedications_without_an_earliest_time() -> None:
    """Methylprednisolone must be completed at least 30 min before (no earliest time);
    antihistamine and acetaminophen only have to precede the start (dossier 4.3)."""

    def session_with(premeds: list[tuple[str, float]]) -> tuple[SessionService, str]:
        service = memory_sessions()
        s = service.create_session()
        service.handle(
            s,
            cmd.CheckIn(
                at=at(-300),
                patient_id="synthetic-2",
                protocol_id="rituximab-1000-first",
                dose_number=1,
            ),
        )
        service.handle(s, cmd.RecordAssessment(at=at(-290), passed=True))
        for drug, minute in sorted(premeds, key=lambda p: p[1]):
            service.handle(
                s, cmd.GivePremedication(at=at(minute), drug=drug, dose=DOSES[drug], route="IV")
            )
        return service, s

    early = [("methylprednisolone", -240), ("diphenhydramine", -1), ("acetaminophen", -1)]
    service, s = session_with(early)
    service.handle(s, cmd.StartInfusion(at=at(0), rate_ml_per_h=Fraction(25)))  # accepted

    too_late = [("methylprednisolone", -20), ("diphenhydramine", -30), ("acetaminophen", -30)]
    service, s = session_with(too_late)
    with pytest.raises(CommandRefused) as caught:
        service.handle(s, cmd.StartInfusion(at=at(0), rate_ml_per_h=Fraction(25)))
    assert caught.value.rule == "premedication-window"
    assert "methylprednisolone" in caught.value.reason

    missing = [("methylprednisolone", -45), ("diphenhydramine", -30)]
    service, s = session_with(missing)
    with pytest.raises(CommandRefused) as caught:
        service.handle(s, cmd.StartInfusion(at=at(0), rate_ml_per_h=Fraction(25)))
    assert "acetaminophen (paracetamol) was not given" in caught.value.reason
