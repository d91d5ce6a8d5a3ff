"""The centre worklist on a generated centre (tests/worklist_centre.py), hand-checked.

NOW = 2026-03-02 (a Monday) at the centre; the default window ends 4 weeks later, 2026-03-30.
Every expected due date below is worked from the cited cadences of the therapy files:

* alemtuzumab, course 1 on 2025-12-01..05 (male, nothing recorded): CBC, creatinine and
  urinalysis monthly from 12-01 (LEMUS-10): 12-01 (baseline: only a result on or before the
  first dose fills it), 01-01 and 02-01 can no longer be filled (missed: 3) and 03-01 is open
  until 04-01 -> overdue. Thyroid and (US) ALT/AST/bilirubin every 3 months: 12-01 missed,
  03-01 overdue. Skin yearly: 12-01 missed, next 2026-12-01 (listed, beyond the window, because
  it carries the missed one). Herpes prophylaxis to the course's last day + 2 months (US,
  LEMUS-14) = 2026-02-05, overdue; EU + 1 month (LEMEU-10) = 2026-01-05.
* natalizumab, doses 2026-01-05 and 02-02 every 4 weeks: dose 3 due today, not booked, with
  the US TOUCH gates and the immune-status question missing (TOUCH-14/12/18); baseline MRI
  2026-01-05 missed with no later slot in the calendar; anti-JCV (serostatus unknown) every 6
  months: baseline missed, next 2026-07-05. TOUCH re-authorisation first due 3 months after the
  first infusion: 2026-04-05, outside the default window.
* mitoxantrone, dose 1 2025-12-02, every 3 months: dose 2 due today with its pre-dose gates;
  LVEF and neutrophils before each dose: baseline 12-02 missed, the 03-02 slot due today.
* ocrelizumab, dose 1 2026-02-16: dose 2 due day 15 = 2026-03-02; immunoglobulins before the
  first dose missed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msinfusion.application.records import Role
from msinfusion.application.worklist import AssignWorklistItem, ResolveWorklistItem
from msinfusion.application.worklist_items import STATUS_ORDER, WorklistItem, WorkStatus
from msinfusion.errors import InvalidCourseOrder, PermissionDenied, RecordNotFound
from tests.e2e.api.world import actor_for
from tests.worklist_centre import Centre, build

ALEMTUZUMAB_US = {
    ("monitoring:alemtuzumab_herpes_prophylaxis_course_1:2026-02-05", "overdue", 1),
    ("monitoring:alemtuzumab_alt:2026-03-01", "overdue", 1),
    ("monitoring:alemtuzumab_ast:2026-03-01", "overdue", 1),
    ("monitoring:alemtuzumab_bilirubin:2026-03-01", "overdue", 1),
    ("monitoring:alemtuzumab_cbc:2026-03-01", "overdue", 3),
    ("monitoring:alemtuzumab_creatinine:2026-03-01", "overdue", 3),
    ("monitoring:alemtuzumab_urinalysis:2026-03-01", "overdue", 3),
    ("monitoring:alemtuzumab_thyroid:2026-03-01", "overdue", 1),
    ("monitoring:alemtuzumab_skin:2026-12-01", "upcoming", 1),
}
NATALIZUMAB_US = {
    ("monitoring:natalizumab_mri:2026-01-05", "overdue", 1),
    ("monitoring:natalizumab_anti_jcv:2026-07-05", "upcoming", 1),
    ("dose:{order}:3", "due", 0),
    ("gate:{order}:3:touch_authorized", "due", 0),
    ("gate:{order}:3:touch_checklist", "due", 0),
    ("gate:{order}:3:natalizumab_immune_status", "due", 0),
}
MITOXANTRONE_US = {
    ("dose:{order}:2", "due", 0),
    *(
        (f"gate:{{order}}:2:mitoxantrone_{gate}", "due", 0)
        for gate in ("blood_count", "cumulative", "liver", "lvef", "neutrophils", "pregnancy")
    ),
    ("monitoring:mitoxantrone_lvef:2026-03-02", "due", 1),
    ("monitoring:mitoxantrone_neutrophils:2026-03-02", "due", 1),
}
OCRELIZUMAB = {
    ("monitoring:anti_cd20_immunoglobulins:2026-02-16", "overdue", 1),
    ("dose:{order}:2", "due", 0),
    ("gate:{order}:2:active_infection", "due", 0),
}


@pytest.fixture(scope="module")
def us() -> Centre:
    return build("US")


def _items(centre: Centre, role: Role = Role.NURSE, **window: Any) -> list[WorklistItem]:
    actor = actor_for(centre.world, role)
    use_cases = centre.world.centre.worklist
    return list(use_cases.list(actor, use_cases.window(actor, **window)).items)


def _of(centre: Centre, therapy: str, **window: Any) -> set[tuple[str, str, int]]:
    order = centre.orders[therapy]
    return {
        (i.id.replace(order, "{order}"), i.status.value, i.missed)
        for i in _items(centre, therapy_id=therapy, **window)
    }


@pytest.mark.parametrize(
    ("therapy", "expected"),
    [
        ("alemtuzumab", ALEMTUZUMAB_US),
        ("natalizumab", NATALIZUMAB_US),
        ("mitoxantrone", MITOXANTRONE_US),
        ("ocrelizumab", OCRELIZUMAB),
    ],
)
def test_each_therapys_due_items_in_a_us_centre(
    us: Centre, therapy: str, expected: set[tuple[str, str, int]]
) -> None:
    assert _of(us, therapy) == expected


def test_an_eu_centre_lists_its_own_rules() -> None:
    eu = build("EU")
    alemtuzumab = _of(eu, "alemtuzumab")
    assert ("monitoring:alemtuzumab_herpes_prophylaxis_course_1:2026-01-05", "overdue", 1) in (
        alemtuzumab
    )
    assert not any("_alt:" in i or "_ast:" in i for i, _, _ in alemtuzumab)  # US only
    natalizumab = _of(eu, "natalizumab")
    assert not any("touch" in i for i, _, _ in natalizumab)  # TOUCH is the US programme
    assert ("gate:{order}:3:natalizumab_immune_status", "due", 0) in natalizumab
    assert ("gate:{order}:2:mitoxantrone_no_retreatment", "due", 0) in _of(eu, "mitoxantrone")


def test_every_item_cites_its_rule_and_the_list_is_overdue_first(us: Centre) -> None:
    items = _items(us)
    assert items
    assert all(i.source.startswith("http") for i in items)
    ranks = [STATUS_ORDER[i.status] for i in items]
    assert ranks[0] == STATUS_ORDER[WorkStatus.OVERDUE]
    assert ranks == sorted(ranks)


def test_a_later_due_date_brings_the_touch_re_authorisation(us: Centre) -> None:
    found = {i.id: i for i in _items(us, therapy_id="natalizumab", due_before=date(2026, 4, 5))}
    item = found["monitoring:natalizumab_rems_pml_assessment:2026-04-05"]
    assert item.kind.value == "reauthorisation"
    assert "REMS=63" in item.source


def test_recording_the_result_clears_an_overdue_lab() -> None:
    centre = build("US")
    patient = centre.patients["alemtuzumab"]
    cbc = "monitoring:alemtuzumab_cbc:2026-03-01"
    assert cbc in {i.id for i in _items(centre)}  # this read fills the memo
    centre.world.centre.clinical.record(
        actor_for(centre.world, Role.NURSE),
        patient,
        "lab",
        {"test": "cbc_diff", "on": "2026-03-02", "abnormal": False},
    )
    left = {i.id for i in _items(centre)}
    assert cbc not in left
    assert "monitoring:alemtuzumab_creatinine:2026-03-01" in left


def test_an_abnormal_result_waits_for_a_documented_review() -> None:
    centre = build("US")
    world, patient = centre.world, centre.patients["alemtuzumab"]
    nurse = actor_for(world, Role.NURSE)
    world.centre.clinical.record(
        nurse, patient, "lab", {"test": "tsh", "on": "2026-03-02", "abnormal": True}
    )
    abnormal = "abnormal:alemtuzumab_thyroid:2026-03-02"
    (item,) = [i for i in _items(centre) if i.id == abnormal]
    assert item.status is WorkStatus.UNREVIEWED
    physician = actor_for(world, Role.PHYSICIAN)
    action = world.centre.worklist.handle(
        physician,
        ResolveWorklistItem(patient_id=patient, item_id=abnormal, reason="TSH reviewed: repeat"),
    )
    assert action.reason == "TSH reviewed: repeat"
    assert action.recorded_by == physician.user_id
    assert abnormal not in {i.id for i in _items(centre)}
    with world.centre.access.uow_factory() as uow:
        verbs = [e.action for e in uow.audit.list(resource_type="patient")]
    assert "worklist.resolve" in verbs


def test_an_assigned_item_has_an_owner_and_the_owner_filter_finds_it() -> None:
    centre = build("US")
    world, patient = centre.world, centre.patients["natalizumab"]
    item_id = f"dose:{centre.orders['natalizumab']}:3"
    scheduler = actor_for(world, Role.SCHEDULER)
    world.centre.worklist.handle(
        scheduler,
        AssignWorklistItem(
            patient_id=patient, item_id=item_id, assignee=world.user_ids[Role.SCHEDULER]
        ),
    )
    mine = _items(centre, Role.SCHEDULER, owner=world.user_ids[Role.SCHEDULER])
    assert [i.id for i in mine] == [item_id]
    unassigned = _items(centre, owner="")
    assert item_id not in {i.id for i in unassigned}
    assert len(unassigned) == len(_items(centre)) - 1


def _decide(centre: Centre, patient: str, item_id: str, command: dict[str, object]) -> None:
    """A nurse's resolve (``reason``) or assign (``assignee``: a role's user, or an id)."""
    world = centre.world
    nurse = actor_for(world, Role.NURSE)
    if "reason" in command:
        reason = str(command["reason"])
        world.centre.worklist.handle(
            nurse, ResolveWorklistItem(patient_id=patient, item_id=item_id, reason=reason)
        )
        return
    who = command["assignee"]
    assignee = world.user_ids[who] if isinstance(who, Role) else str(who)
    world.centre.worklist.handle(
        nurse, AssignWorklistItem(patient_id=patient, item_id=item_id, assignee=assignee)
    )


@pytest.mark.parametrize(
    ("command", "error", "field"),
    [
        ({"item_id": "monitoring:nothing:2026-01-01", "reason": "x"}, RecordNotFound, "item_id"),
        ({"item_id": "dose:{order}:3", "reason": "  "}, InvalidCourseOrder, "reason"),
        ({"item_id": "", "reason": "x"}, InvalidCourseOrder, "item_id"),
        ({"item_id": "dose:{order}:3", "assignee": "no-such-user"}, RecordNotFound, "assignee"),
        ({"item_id": "dose:{order}:3", "assignee": Role.VIEWER}, InvalidCourseOrder, "assignee"),
    ],
)
def test_bad_decisions_name_the_field_and_store_nothing(
    us: Centre, command: dict[str, object], error: type[Exception], field: str
) -> None:
    world, patient = us.world, us.patients["natalizumab"]
    item_id = str(command["item_id"]).replace("{order}", us.orders["natalizumab"])
    with pytest.raises(error) as raised:
        _decide(us, patient, item_id, command)
    assert getattr(raised.value, "field", None) == field
    with world.centre.access.uow_factory() as uow:
        assert uow.worklist_actions.list() == []


def test_bad_filters_and_roles_are_refused(us: Centre) -> None:
    nurse = actor_for(us.world, Role.NURSE)
    use_cases = us.world.centre.worklist
    with pytest.raises(InvalidCourseOrder) as therapy:
        use_cases.window(nurse, therapy_id="aspirin")
    assert therapy.value.field == "therapy"
    with pytest.raises(InvalidCourseOrder) as past:
        use_cases.window(nurse, due_before=date(2026, 3, 1))
    assert past.value.field == "due_before"
    for role in (Role.VIEWER, Role.PHARMACIST, Role.ADMIN):
        actor = actor_for(us.world, role)
        with pytest.raises(PermissionDenied):
            use_cases.list(actor, use_cases.window(actor))


@settings(max_examples=15, deadline=None)
@given(days=st.integers(min_value=0, max_value=400), ahead=st.integers(min_value=0, max_value=120))
def test_statuses_follow_the_due_dates_on_any_day(us: Centre, days: int, ahead: int) -> None:
    """Whatever the day: overdue items are due before it, due ones on it, upcoming ones after
    it and within the window unless they carry missed slots; ids are unique per patient."""
    nurse = actor_for(us.world, Role.NURSE)
    use_cases = us.world.centre.worklist
    day = date.fromordinal(date(2026, 1, 1).toordinal() + days)
    until = date.fromordinal(day.toordinal() + ahead)
    items = use_cases.list(nurse, use_cases.window(nurse, as_of=day, due_before=until)).items
    for item in items:
        if item.status is WorkStatus.OVERDUE:
            assert item.due < day
        elif item.status is WorkStatus.DUE:
            assert item.due == day
        elif item.status is WorkStatus.UPCOMING:
            assert item.due > day
            assert item.due <= until or item.missed > 0
    assert len({(i.patient_id, i.id) for i in items}) == len(items)
