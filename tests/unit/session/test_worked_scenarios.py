"""Worked scenarios, one per protocol family, with volumes and times computed by hand.

Volume = sum of rate x time (mL/h x h); dose = volume x concentration (dose mg / bag mL).
Minute m means m minutes after the drug start (09:00 UTC); no pauses unless stated, so running
time equals clock time from the start.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from fractions import Fraction

import pytest

from msinfusion.catalog.model import Severity
from msinfusion.errors import CommandRefused
from msinfusion.monitoring.vital_signs import Consciousness
from msinfusion.session import commands as cmd
from tests.unit.session.helpers import at, change_rate, memory_sessions, protocol, started


def news2_set(
    when: object, *, rr: int, spo2: int, sbp: int, hr: int, temp: str
) -> cmd.RecordVitals:
    """A complete NEWS2 set (alert, on air)."""
    return cmd.RecordVitals(
        at=when,  # type: ignore[arg-type]
        user="n",
        respiratory_rate_per_min=Fraction(rr),
        spo2_pct=Fraction(spo2),
        systolic_mmhg=Fraction(sbp),
        diastolic_mmhg=Fraction(70),
        heart_rate_bpm=Fraction(hr),
        temperature_c=Fraction(temp),
        consciousness=Consciousness.ALERT,
        supplemental_oxygen=False,
    )


def _volume(service, session, minute):  # type: ignore[no-untyped-def]
    return service.get_state(session, at(minute)).volume_ml


def test_ocrelizumab_600_standard_moderate_reaction_at_minute_75() -> None:
    service, s = started("ocrelizumab-600-standard")  # 40 mL/h from minute 0
    change_rate(service, s, 30, 80)
    change_rate(service, s, 60, 120)
    # 0-30 at 40 mL/h = 20 mL; 30-60 at 80 = 40 mL (60); 60-75 at 120 = 30 mL (90 by minute 75).
    service.handle(
        s,
        cmd.RecordReaction(
            at=at(75), user="nurse-a", severity=Severity.MODERATE, symptoms=("flushing", "itching")
        ),
    )
    state = service.get_state(s)
    assert state.rate_ml_per_h == 60  # the engine halved the rate at onset (120 -> 60) at once
    assert state.volume_ml == 90
    # Projected end at minute 75, following the prompts: 60 mL/h held to minute 105 (30 mL,
    # 120 in all), then +40 mL/h every 30 min: 100 to 135 (50 mL, 170), 140 to 165 (70, 240),
    # 180 to 195 (90, 330), then the 200 mL/h maximum: 170 mL / 200 mL/h = 51 min -> minute 246.
    view = service.get_view(s)
    assert view.projected_infusion_end == at(246)
    # At the current rate instead: 410 mL left at 60 mL/h = 410 min -> minute 485.
    assert view.to_json_dict()["projected_infusion_end_at_current_rate"] == at(485).isoformat()
    # Hold: no increase above 60 mL/h before minute 75 + 30 = 105, even though the ladder says 160.
    with pytest.raises(CommandRefused) as refused:
        change_rate(service, s, 90, 100)
    assert refused.value.rule == "reaction-hold"
    # 75-105 at 60 = 30 mL (120). Re-escalation +40 mL/h every 30 min, capped by the ladder:
    with pytest.raises(CommandRefused) as refused:
        change_rate(service, s, 105, 120)  # 60 + 40 = 100 is the most
    assert refused.value.rule == "re-escalation-increment"
    change_rate(service, s, 105, 100)  # 105-135 at 100 = 50 mL (170)
    with pytest.raises(CommandRefused) as refused:
        change_rate(service, s, 120, 140)  # the next step is due at 135
    assert refused.value.rule == "re-escalation-interval"
    change_rate(service, s, 135, 140)  # 135-165 at 140 = 70 mL (240)
    change_rate(service, s, 165, 180)  # 165-195 at 180 = 90 mL (330)
    with pytest.raises(CommandRefused) as refused:
        change_rate(service, s, 195, 220)  # 180 + 40 = 220 is above the protocol maximum
    assert refused.value.rule == "max-rate"
    change_rate(service, s, 195, 200)  # 170 mL left at 200 mL/h = 51 min -> end at minute 246
    expected = {
        30: 20,
        60: 60,
        75: 90,
        100: Fraction(115),  # 90 + 60 x 25/60
        105: 120,
        135: 170,
        165: 240,
        195: 330,
        220: Fraction(1240, 3),  # 330 + 200 x 25/60 = 413 1/3
        246: 500,
        300: 500,  # never more than the bag
    }
    for minute, volume in expected.items():
        assert _volume(service, s, minute) == volume, minute
    view = service.get_view(s)
    assert view.projected_infusion_end == at(246)
    assert view.projected_chair_release == at(306)  # + 60 min observation
    assert service.get_state(s, at(220)).dose_delivered_mg == Fraction(496)  # 413 1/3 x 1.2
    with pytest.raises(CommandRefused) as refused:
        service.handle(s, cmd.CompleteInfusion(at=at(240), user="nurse-a"))  # 488 mL: 12 mL left
    assert refused.value.rule == "bag-not-empty"
    service.handle(s, cmd.CompleteInfusion(at=at(246), user="nurse-a"))
    final = service.get_state(s)
    assert (final.volume_ml, final.dose_delivered_mg) == (500, 600)
    with pytest.raises(CommandRefused) as refused:
        service.handle(s, cmd.Discharge(at=at(305), user="nurse-a"))
    assert refused.value.rule == "observation"
    service.handle(s, cmd.Discharge(at=at(306), user="nurse-a"))


def test_ocrelizumab_300_initial_severe_reaction_interrupts_and_resumes_at_half() -> None:
    service, s = started("ocrelizumab-300-initial")  # 30 mL/h
    change_rate(service, s, 30, 60)
    # 0-30 at 30 = 15 mL; 30-45 at 60 = 15 mL -> 30 mL at minute 45.
    severe = cmd.RecordReaction(
        at=at(45), user="n", severity=Severity.SEVERE, symptoms=("dyspnoea",)
    )
    service.handle(s, severe)
    assert service.get_state(s).status.value == "paused"
    assert service.get_state(s, at(70)).volume_ml == 30  # nothing flows while paused
    with pytest.raises(CommandRefused) as refused:
        service.handle(s, cmd.ResumeInfusion(at=at(60), user="n", rate_ml_per_h=Fraction(30)))
    assert refused.value.rule == "reaction-unresolved"
    # Resolving a severe reaction needs a complete set since it whose NEWS2 is below 7.
    with pytest.raises(CommandRefused) as refused:
        service.handle(s, cmd.ResolveReaction(at=at(55), user="n"))
    assert refused.value.rule == "reaction-news2"
    # RR 22 (2) + SpO2 93 (2) + SBP 100 (2) + HR 112 (2) + alert (0) + air (0) + 38.1 C (1) = 9.
    service.handle(s, news2_set(at(56), rr=22, spo2=93, sbp=100, hr=112, temp="38.1"))
    with pytest.raises(CommandRefused) as refused:
        service.handle(s, cmd.ResolveReaction(at=at(57), user="n"))
    assert "NEWS2 9, in the high band" in refused.value.reason
    # RR 20 (0) + SpO2 95 (1) + SBP 112 (0) + HR 92 (1) + alert + air + 37.4 C (0) = 2.
    service.handle(s, news2_set(at(59), rr=20, spo2=95, sbp=112, hr=92, temp="37.4"))
    service.handle(s, cmd.ResolveReaction(at=at(60), user="n"))
    with pytest.raises(CommandRefused) as refused:
        service.handle(s, cmd.ResumeInfusion(at=at(60), user="n", rate_ml_per_h=Fraction(60)))
    assert refused.value.rule == "reaction-hold"  # at most half of 60 mL/h
    service.handle(s, cmd.ResumeInfusion(at=at(60), user="n", rate_ml_per_h=Fraction(30)))
    # Running time at minute 60 is 45 (15 min paused); first step up at running 75 = clock 90.
    step = service.get_view(s).due
    assert any(d.action == "change-rate" and d.at == at(90) and "60" in d.detail for d in step)
    change_rate(service, s, 90, 60)  # 60-90 at 30 = 15 mL -> 45 mL
    assert service.get_state(s, at(90)).volume_ml == 45


def test_ocrelizumab_600_short_manual_re_escalation_needs_a_reason() -> None:
    service, s = started("ocrelizumab-600-short")  # 100 mL/h, 200 at 15, 250 at 30, 300 at 60
    change_rate(service, s, 15, 200)
    change_rate(service, s, 30, 250)
    # 0-15 at 100 = 25; 15-30 at 200 = 50 (75); 30-40 at 250 = 125/3 (116 2/3 at minute 40).
    mild = cmd.RecordReaction(at=at(40), user="n", severity=Severity.MILD, symptoms=("rash",))
    service.handle(s, mild)
    assert service.get_state(s).rate_ml_per_h == 125
    with pytest.raises(CommandRefused) as refused:
        change_rate(service, s, 70, 250)
    assert refused.value.rule == "re-escalation-manual"
    change_rate(service, s, 70, 250, override_reason="tolerated 30 min, physician agrees")
    # 40-70 at 125 = 62.5 -> 179 1/6 mL; 320 5/6 left at 250 mL/h = 77 minutes -> minute 147.
    assert service.get_state(s, at(70)).volume_ml == Fraction(1075, 6)
    assert service.get_view(s).projected_infusion_end == at(147)


def test_ublituximab_450_mild_reaction_with_manual_re_escalation() -> None:
    service, s = started("ublituximab-450", dose_number=2)  # 100 mL/h, 400 mL/h from minute 30
    change_rate(service, s, 30, 400)
    # 0-30 at 100 = 50 mL; 30-40 at 400 = 66 2/3 -> 116 2/3 mL at minute 40; bag 250 mL.
    service.handle(
        s, cmd.RecordReaction(at=at(40), user="n", severity=Severity.MILD, symptoms=("headache",))
    )
    assert service.get_state(s).rate_ml_per_h == 200  # half of 400
    # At 200 mL/h: 133 1/3 mL left = 40 min -> projected end minute 80.
    assert service.get_view(s).projected_infusion_end == at(80)
    with pytest.raises(CommandRefused) as refused:
        change_rate(service, s, 60, 400, override_reason="patient wants to go")
    assert refused.value.rule == "reaction-hold"  # the hold is a hard limit
    change_rate(service, s, 70, 400, override_reason="symptoms gone, prescriber agrees")
    # 40-70 at 200 = 100 mL -> 216 2/3; 33 1/3 left at 400 mL/h = 5 min -> minute 75.
    assert service.get_state(s, at(70)).volume_ml == Fraction(650, 3)
    assert service.get_view(s).projected_infusion_end == at(75)
    assert service.get_state(s, at(75)).dose_delivered_mg == 450


def test_natalizumab_reaction_interrupts_until_resolved() -> None:
    service, s = started("natalizumab-300")  # 115 mL/h, bag 115 mL: 60 min, no premedication
    mild = cmd.RecordReaction(at=at(20), user="n", severity=Severity.MILD, symptoms=("flushing",))
    service.handle(s, mild)
    # 115 x 20/60 = 38 1/3 mL at minute 20; paused.
    assert service.get_state(s, at(30)).volume_ml == Fraction(115, 3)
    with pytest.raises(CommandRefused) as refused:
        service.handle(s, cmd.ResumeInfusion(at=at(30), user="n", rate_ml_per_h=Fraction(115)))
    assert refused.value.rule == "reaction-unresolved"
    service.handle(s, cmd.ResolveReaction(at=at(35), user="n"))
    service.handle(s, cmd.ResumeInfusion(at=at(40), user="n", rate_ml_per_h=Fraction(115)))
    # 76 2/3 mL left at 115 mL/h = 40 min -> minute 80; observation 60 min -> 140.
    assert service.get_view(s).projected_infusion_end == at(80)
    service.handle(s, cmd.CompleteInfusion(at=at(80), user="n"))
    assert service.get_state(s).dose_delivered_mg == 300
    with pytest.raises(CommandRefused) as refused:
        service.handle(s, cmd.Discharge(at=at(139), user="n"))
    assert refused.value.rule == "observation"
    service.handle(s, cmd.Discharge(at=at(140), user="n"))


def test_natalizumab_severe_reaction_contraindicates_the_therapy() -> None:
    service, s = started("natalizumab-300")
    severe = cmd.RecordReaction(
        at=at(30), user="n", severity=Severity.SEVERE, symptoms=("hypotension",)
    )
    service.handle(s, severe)
    state = service.get_state(s)
    assert state.therapy_contraindicated
    assert state.outcome == "stopped"
    assert state.volume_ml == Fraction(115, 2)  # 115 x 30/60
    assert state.dose_delivered_mg == 150
    with pytest.raises(CommandRefused) as refused:
        service.handle(s, cmd.ResumeInfusion(at=at(40), user="n", rate_ml_per_h=Fraction(115)))
    assert refused.value.rule == "therapy-discontinued"


def test_alemtuzumab_day_1_interrupt_and_resume_at_the_same_rate() -> None:
    service, s = started("alemtuzumab-12", course_day=1)  # 25.3 mL/h, bag 101.2 mL: 240 min
    p = protocol("alemtuzumab-12")
    assert p.ladder.steps[0].rate_ml_per_h == Fraction("25.3")
    moderate = cmd.RecordReaction(
        at=at(120), user="n", severity=Severity.MODERATE, symptoms=("rash",)
    )
    service.handle(s, moderate)
    # 25.3 x 2 h = 50.6 mL at minute 120; paused (rule: interrupt, no rate factor).
    assert service.get_state(s, at(150)).volume_ml == Fraction("50.6")
    # No label resume rule (LEMIRR-01): resolved first, then a documented decision.
    with pytest.raises(CommandRefused) as refused:
        service.handle(s, cmd.ResumeInfusion(at=at(150), user="n", rate_ml_per_h=Fraction("25.3")))
    assert refused.value.rule == "reaction-unresolved"
    service.handle(s, cmd.ResolveReaction(at=at(145), user="n"))
    with pytest.raises(CommandRefused) as refused:
        service.handle(s, cmd.ResumeInfusion(at=at(150), user="n", rate_ml_per_h=Fraction("25.3")))
    assert refused.value.rule == "reaction-resume-decision"
    service.handle(
        s,
        cmd.ResumeInfusion(
            at=at(150),
            user="n",
            rate_ml_per_h=Fraction("25.3"),
            decision_note="rash settled after antihistamine; resume at the same rate (Dr B)",
        ),
    )
    # 50.6 mL left at 25.3 mL/h = 120 min -> minute 270; observation 120 min -> chair 390.
    view = service.get_view(s)
    assert view.projected_infusion_end == at(270)
    assert view.projected_chair_release == at(390)
    service.handle(s, cmd.CompleteInfusion(at=at(270), user="n"))
    assert service.get_state(s).dose_delivered_mg == 12


def test_alemtuzumab_steroid_is_required_on_course_days_1_to_3_only() -> None:
    from tests.unit.session.helpers import checked_in

    service, s = checked_in("alemtuzumab-12", course_day=1)
    with pytest.raises(CommandRefused) as refused:
        service.handle(s, cmd.StartInfusion(at=at(0), user="n", rate_ml_per_h=Fraction("25.3")))
    assert refused.value.rule == "premedication-window"
    service, s = checked_in("alemtuzumab-12", course_day=4)
    service.handle(s, cmd.StartInfusion(at=at(0), user="n", rate_ml_per_h=Fraction("25.3")))


def test_a_session_across_a_daylight_saving_change_runs_in_elapsed_time() -> None:
    """Berlin 2026-10-25: 03:00 CEST becomes 02:00 CET. 40 mL/h from 01:30 CEST to 02:15 CET
    is 105 elapsed minutes (not 45 wall-clock minutes): 40 x 30/60 + 80 x 30/60 + 120 x 30/60
    + 160 x 15/60 = 20 + 40 + 60 + 40 = 160 mL."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 10, 25, 1, 30, tzinfo=berlin)
    service = memory_sessions()
    s = service.create_session()
    p = protocol("ocrelizumab-600-standard")
    service.handle(
        s,
        cmd.CheckIn(
            at=datetime(2026, 10, 25, 0, 0, tzinfo=berlin),
            patient_id="synthetic-dst",
            protocol_id=p.id,
            dose_number=3,
        ),
    )
    service.handle(
        s, cmd.RecordAssessment(at=datetime(2026, 10, 25, 0, 5, tzinfo=berlin), passed=True)
    )
    for premed in p.premedications:
        if premed.required:
            service.handle(
                s,
                cmd.GivePremedication(
                    at=datetime(2026, 10, 25, 1, 0, tzinfo=berlin),
                    drug=premed.drug,
                    dose=f"{premed.dose_mg} mg" if premed.dose_mg else "50 mg",
                    route=premed.route or "oral",
                ),
            )
    service.handle(s, cmd.StartInfusion(at=start, rate_ml_per_h=Fraction(40)))
    after_change = datetime(2026, 10, 25, 2, 15, tzinfo=berlin, fold=1)  # 02:15 CET, second pass
    for minute, rate in ((30, 80), (60, 120), (90, 160)):
        at_minute = (start.astimezone(UTC) + timedelta(minutes=minute)).astimezone(berlin)
        service.handle(s, cmd.ChangeRate(at=at_minute, rate_ml_per_h=Fraction(rate)))
    assert service.get_state(s, after_change).volume_ml == 160
