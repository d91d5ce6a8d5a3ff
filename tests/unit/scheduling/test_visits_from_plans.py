"""A visit's chair time and nurse-held intervals follow the catalog's infusion plan."""

from __future__ import annotations

from datetime import timedelta

from msinfusion.catalog import shipped_catalog
from msinfusion.scheduling import PatientWindow, TaskKind, visit_from_protocol
from tests.unit.scheduling.helpers import at


def _minutes(value: timedelta) -> int:
    return int(value // timedelta(minutes=1))


def test_ocrelizumab_300_first_dose_hand_worked() -> None:
    # Plan (tests/unit/planning): antihistamine 30-60 min before the drug, so the chair starts
    # 60 min early; the 250 mL ladder ends 2 h 38 min 20 s after the drug starts, rounded up to
    # 160 min on the 5-min grid (ends at 220); +60 min observation = 280 min in the chair.
    protocol = shipped_catalog().get_protocol("ocrelizumab-300-initial")
    window = PatientWindow(earliest=at(0), start_by=at(60))
    v = visit_from_protocol(protocol, visit_id="v1", patient_id="p1", window=window, dose_number=1)
    assert _minutes(v.chair_time) == 280
    assert _minutes(v.infusion_offset) == 60
    assert _minutes(v.infusion_end_offset) == 220
    tasks = [(t.kind, _minutes(t.offset), _minutes(t.duration)) for t in v.nurse_tasks]
    assert tasks[0] == (TaskKind.SETUP, 0, 15)
    # antihistamine and antipyretic (from 60 min before) right after set-up; methylprednisolone
    # at 30 min before the drug
    assert [(k, o) for k, o, _ in tasks if k is TaskKind.PREMEDICATION] == [
        (TaskKind.PREMEDICATION, 15),
        (TaskKind.PREMEDICATION, 20),
        (TaskKind.PREMEDICATION, 30),
    ]
    assert (TaskKind.INFUSION_START, 60, 5) in tasks
    # rate +30 mL/h every 30 min: changes at 90, 120, 150, 180, 210
    assert [o for k, o, _ in tasks if k is TaskKind.RATE_CHANGE] == [90, 120, 150, 180, 210]
    assert tasks[-1] == (TaskKind.DISCHARGE, 275, 5)


def test_natalizumab_has_no_lead_and_one_hour_observation() -> None:
    protocol = shipped_catalog().get_protocol("natalizumab-300")
    window = PatientWindow(earliest=at(0), start_by=at(0))
    v = visit_from_protocol(protocol, visit_id="v", patient_id="p", window=window, dose_number=20)
    assert (_minutes(v.infusion_offset), _minutes(v.infusion_end_offset)) == (0, 60)
    assert _minutes(v.chair_time) == 120
