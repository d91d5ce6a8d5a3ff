"""The Repository contracts: exact round trips, missing and duplicate ids, references, lookups.

Run against the in-memory fake, SQLite and PostgreSQL (``uow_factory`` in conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, timedelta
from typing import Any

import pytest

from msinfusion.application.ports import UnitOfWork
from msinfusion.application.records import (
    AppointmentStatus,
    PatientIdentifier,
    Role,
    SessionPatient,
)
from msinfusion.errors import DuplicateRecord, RecordNotFound
from msinfusion.session.simulate import simulate
from tests.contract import samples
from tests.unit.session.helpers import START, protocol

Factory = Callable[[], UnitOfWork]


def _seed(factory: Factory) -> None:
    """A patient, a chair, an order and a user: what the other records refer to."""
    with factory() as uow:
        uow.patients.add(samples.patient())
        uow.chairs.add(samples.chair())
        uow.orders.add(samples.order())
        uow.users.add(samples.user())
        uow.commit()


# (repository attribute, a record with every field set, a changed copy of it)
KINDS: dict[str, tuple[str, Any, Any]] = {
    "patient": (
        "patients",
        samples.patient("p-2", sex=None, date_of_birth=None, height_cm=None),
        samples.patient("p-2", display_name="Renamed", contraindicated_therapy_ids=()),
    ),
    "chair": ("chairs", samples.chair("c-2"), samples.chair("c-2", active=False, attributes=())),
    "order": ("orders", samples.order("o-2"), samples.order("o-2", active=False, note=None)),
    "appointment": (
        "appointments",
        samples.appointment("a-2", order_id="o-1", session_id="s-9"),
        samples.appointment("a-2", status=AppointmentStatus.CANCELLED),
    ),
    "user": ("users", samples.user("u-2", "doc.b", role=Role.PHYSICIAN), None),
    "token": ("tokens", samples.token("t-2", token_hash="h-2"), None),
}
for _name, (_attr, _record, _changed) in list(KINDS.items()):
    if _changed is None:
        KINDS[_name] = (_attr, _record, replace(_record, label="renamed") if _attr == "tokens"
                        else replace(_record, active=False, display_name=None))  # fmt: skip


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> tuple[str, Any, Any]:
    return KINDS[request.param]


def test_a_record_reads_back_equal_in_every_field(
    uow_factory: Factory, kind: tuple[str, Any, Any]
) -> None:
    attr, record, _ = kind
    _seed(uow_factory)
    with uow_factory() as uow:
        getattr(uow, attr).add(record)
        uow.commit()
    with uow_factory() as uow:
        stored = getattr(uow, attr).get(record.id)
    assert stored == record
    assert type(stored) is type(record)
    for name in ("starts_at", "ends_at", "created_at"):
        if hasattr(stored, name):
            assert getattr(stored, name).utcoffset() is not None


def test_update_replaces_and_list_is_ordered_by_id(
    uow_factory: Factory, kind: tuple[str, Any, Any]
) -> None:
    attr, record, changed = kind
    _seed(uow_factory)
    with uow_factory() as uow:
        getattr(uow, attr).add(record)
        getattr(uow, attr).update(changed)
        uow.commit()
    with uow_factory() as uow:
        assert getattr(uow, attr).get(record.id) == changed
        listed = getattr(uow, attr).list()
    assert [r.id for r in listed] == sorted(r.id for r in listed)
    assert changed in listed


def test_missing_and_duplicate_ids_are_refused_and_the_unit_stays_usable(
    uow_factory: Factory, kind: tuple[str, Any, Any]
) -> None:
    attr, record, changed = kind
    _seed(uow_factory)
    with uow_factory() as uow:
        repository = getattr(uow, attr)
        with pytest.raises(RecordNotFound) as missing:
            repository.get("nope")
        assert missing.value.field == "id"
        with pytest.raises(RecordNotFound):
            repository.update(changed)
        repository.add(record)
        with pytest.raises(DuplicateRecord) as duplicate:
            repository.add(changed)
        assert duplicate.value.field == "id"
        uow.chairs.add(samples.chair("c-after"))  # the transaction goes on after a refusal
        uow.commit()
    with uow_factory() as uow:
        assert getattr(uow, attr).get(record.id) == record
        assert uow.chairs.get("c-after").id == "c-after"


@pytest.mark.parametrize(
    ("attr", "record", "field"),
    [
        ("orders", samples.order("o-9", patient_id="p-x"), "patient_id"),
        ("appointments", samples.appointment("a-9", patient_id="p-x"), "patient_id"),
        ("appointments", samples.appointment("a-9", chair_id="c-x"), "chair_id"),
        ("appointments", samples.appointment("a-9", order_id="o-x"), "order_id"),
        ("tokens", samples.token("t-9", user_id="u-x"), "user_id"),
    ],
)
def test_a_reference_to_a_missing_record_is_refused(
    uow_factory: Factory, attr: str, record: Any, field: str
) -> None:
    _seed(uow_factory)
    with uow_factory() as uow:
        with pytest.raises(RecordNotFound) as refused:
            getattr(uow, attr).add(record)
        assert refused.value.field == field
        uow.commit()
    with uow_factory() as uow, pytest.raises(RecordNotFound):
        getattr(uow, attr).get(record.id)


def test_user_names_are_unique_and_looked_up(uow_factory: Factory) -> None:
    _seed(uow_factory)
    with uow_factory() as uow:
        assert uow.users.get_by_username("nurse.a") == samples.user()
        with pytest.raises(RecordNotFound) as missing:
            uow.users.get_by_username("nobody")
        assert missing.value.field == "username"
        with pytest.raises(DuplicateRecord) as taken:
            uow.users.add(samples.user("u-2", "nurse.a"))
        assert taken.value.field == "username"
        uow.users.add(samples.user("u-2", "nurse.b"))
        with pytest.raises(DuplicateRecord):
            uow.users.update(samples.user("u-2", "nurse.a"))
        uow.users.update(samples.user("u-2", "nurse.c"))
        uow.commit()
    with uow_factory() as uow:
        assert uow.users.get_by_username("nurse.c").id == "u-2"


def test_tokens_are_found_by_hash_and_a_hash_is_stored_once(uow_factory: Factory) -> None:
    _seed(uow_factory)
    with uow_factory() as uow:
        uow.tokens.add(samples.token())
        assert uow.tokens.get_by_hash("h-1") == samples.token()
        with pytest.raises(RecordNotFound) as missing:
            uow.tokens.get_by_hash("h-unknown")
        assert missing.value.field == "token"
        with pytest.raises(DuplicateRecord) as duplicate:
            uow.tokens.add(samples.token("t-2", token_hash="h-1"))
        assert duplicate.value.field == "token"


def test_appointments_between_is_half_open_and_ordered(uow_factory: Factory) -> None:
    _seed(uow_factory)
    with uow_factory() as uow:
        for aid, hours in (("a-3", 2), ("a-1", 0), ("a-2", 0), ("a-4", 24), ("a-0", -1)):
            uow.appointments.add(samples.appointment(aid, hours=hours))
        uow.commit()
    start = samples.NINE.astimezone(UTC)  # the same instant in another zone
    with uow_factory() as uow:
        day = uow.appointments.list_between(start, start + timedelta(hours=24))
        empty = uow.appointments.list_between(start + timedelta(hours=3), start)
    assert [a.id for a in day] == ["a-1", "a-2", "a-3"]
    assert empty == []


def test_the_audit_log_appends_numbers_filters_and_limits(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        uow.audit.record(samples.audit(0))
        uow.audit.record(samples.audit(1, user_id=None, resource_type="session"))
        uow.commit()
    with uow_factory() as uow:
        uow.audit.record(samples.audit(2, user_id="u-2"))
        uow.audit.record(samples.audit(3))
        uow.commit()
    with uow_factory() as uow:
        everything = uow.audit.list()
        assert [e.resource_id for e in everything] == ["r-0", "r-1", "r-2", "r-3"]
        assert [e.sequence for e in everything] == [1, 2, 3, 4]
        assert next(replace(e, sequence=None) for e in everything) == samples.audit(0)
        assert [e.resource_id for e in uow.audit.list(user_id="u-1")] == ["r-0", "r-3"]
        assert [e.resource_id for e in uow.audit.list(resource_type="session")] == ["r-1"]
        since = samples.NINE + timedelta(minutes=2)
        assert [e.resource_id for e in uow.audit.list(since=since)] == ["r-2", "r-3"]
        assert [e.resource_id for e in uow.audit.list(limit=2)] == ["r-2", "r-3"]


def test_session_summaries_are_added_saved_and_listed(uow_factory: Factory) -> None:
    with uow_factory() as uow:
        uow.sessions.add(samples.summary("s-2", status="new"))
        uow.sessions.save(samples.summary("s-1"))
        with pytest.raises(DuplicateRecord):
            uow.sessions.add(samples.summary("s-1"))
        uow.commit()
    changed = samples.summary("s-1", version=8, status="paused", rate_ml_per_h=0, warnings=())
    with uow_factory() as uow:
        assert uow.sessions.get("s-1") == samples.summary("s-1")
        uow.sessions.save(changed)
        uow.commit()
    with uow_factory() as uow:
        assert uow.sessions.get("s-1") == changed
        assert [s.session_id for s in uow.sessions.list()] == ["s-1", "s-2"]
        assert uow.sessions.list(status="new") == [samples.summary("s-2", status="new")]
        with pytest.raises(RecordNotFound):
            uow.sessions.get("s-9")


def _seed_two_patients(factory: Factory) -> None:
    """``_seed`` plus a second patient, whose rows no query for p-1 may return."""
    _seed(factory)
    with factory() as uow:
        uow.patients.add(samples.patient("p-2"))
        uow.commit()


def test_a_patients_appointments_are_theirs_only_in_start_then_id_order(
    uow_factory: Factory,
) -> None:
    _seed_two_patients(uow_factory)
    mine = {
        "a-3": samples.appointment("a-3", hours=26),
        "a-2": samples.appointment("a-2", hours=0, status=AppointmentStatus.CANCELLED),
        "a-1": samples.appointment("a-1", hours=0),
        "a-9": samples.appointment("a-9", hours=-48, order_id="o-1", session_id="s-1"),
    }
    theirs = [
        samples.appointment("a-0", hours=1, patient_id="p-2"),
        samples.appointment("a-5", hours=0, patient_id="p-2"),
    ]
    with uow_factory() as uow:
        for record in (*mine.values(), *theirs):
            uow.appointments.add(record)
        assert [a.id for a in uow.appointments.list_for_patient("p-1")] == [
            "a-9",
            "a-1",
            "a-2",
            "a-3",
        ]  # this transaction's own writes are read back
        uow.commit()
    with uow_factory() as uow:
        listed = uow.appointments.list_for_patient("p-1")
        again = uow.appointments.list_for_patient("p-1")
        other = uow.appointments.list_for_patient("p-2")
        nobody = uow.appointments.list_for_patient("p-x")
    assert listed == [mine["a-9"], mine["a-1"], mine["a-2"], mine["a-3"]]
    assert again == listed
    assert [a.id for a in other] == ["a-5", "a-0"]
    assert all(a.patient_id == "p-2" for a in other)
    assert nobody == []


def test_an_appointment_is_found_by_its_session(uow_factory: Factory) -> None:
    _seed_two_patients(uow_factory)
    booked = samples.appointment("a-1", session_id="s-1", order_id="o-1")
    with uow_factory() as uow:
        uow.appointments.add(booked)
        uow.appointments.add(samples.appointment("a-2", patient_id="p-2", session_id="s-2"))
        uow.appointments.add(samples.appointment("a-3"))
        uow.commit()
    with uow_factory() as uow:
        assert uow.appointments.find_by_session("s-1") == booked
        other = uow.appointments.find_by_session("s-2")
        assert other is not None
        assert other.patient_id == "p-2"
        assert uow.appointments.find_by_session("s-9") is None
        checked_in = replace(uow.appointments.get("a-3"), session_id="s-3")
        uow.appointments.update(checked_in)
        assert uow.appointments.find_by_session("s-3") == checked_in
        uow.commit()
    with uow_factory() as uow:
        assert uow.appointments.find_by_session("s-3") == checked_in
        uow.appointments.add(samples.appointment("a-0", hours=3, session_id="s-3"))
        found = uow.appointments.find_by_session("s-3")
    assert found is not None
    assert found.id == "a-0"  # several naming one session: the lowest id, every time


def test_a_patients_orders_are_theirs_only_in_id_order(uow_factory: Factory) -> None:
    _seed_two_patients(uow_factory)
    stopped = samples.order("o-3", active=False, note=None)
    earlier = samples.order("o-0", therapy_id="natalizumab", options=())
    with uow_factory() as uow:
        uow.orders.add(stopped)
        uow.orders.add(samples.order("o-2", patient_id="p-2"))
        uow.orders.add(earlier)
        uow.commit()
    with uow_factory() as uow:
        listed = uow.orders.list_for_patient("p-1")
        assert uow.orders.list_for_patient("p-1") == listed
        other = uow.orders.list_for_patient("p-2")
        nobody = uow.orders.list_for_patient("p-x")
    assert listed == [earlier, samples.order(), stopped]
    assert other == [samples.order("o-2", patient_id="p-2")]
    assert nobody == []


def test_a_patients_session_summaries_are_theirs_only_in_session_order(
    uow_factory: Factory,
) -> None:
    with uow_factory() as uow:
        uow.sessions.save(samples.summary("s-2"))
        uow.sessions.save(samples.summary("s-3", patient_id="p-2"))
        uow.sessions.add(samples.summary("s-4", status="new", patient_id=None))
        uow.sessions.save(samples.summary("s-1", status="completed", dose_number=2))
        uow.commit()
    with uow_factory() as uow:
        listed = uow.sessions.list_for_patient("p-1")
        assert uow.sessions.list_for_patient("p-1") == listed
        other = uow.sessions.list_for_patient("p-2")
        nobody = uow.sessions.list_for_patient("p-x")
        paused = samples.summary("s-2", version=9, status="paused")
        uow.sessions.save(paused)
        assert uow.sessions.list_for_patient("p-1")[1] == paused
    assert listed == [
        samples.summary("s-1", status="completed", dose_number=2),
        samples.summary("s-2"),
    ]
    assert other == [samples.summary("s-3", patient_id="p-2")]
    assert nobody == []


def test_summaries_keep_the_folded_state_and_are_read_in_batches(uow_factory: Factory) -> None:
    """The board's reads (issue 22): a summary's folded state and reaction columns read back
    equal; ``get_many`` and ``list_for_patients`` answer for many ids at once; listings leave
    the state out."""
    visit = simulate(protocol("ocrelizumab-600-standard"), START, dose_number=3)
    state = replace(visit.state, patient_id="p-1")
    with_state = samples.summary(
        "s-1", worst_reaction="moderate", therapy_contraindicated=False, state=state
    )
    _seed_two_patients(uow_factory)
    with uow_factory() as uow:
        uow.sessions.save(with_state)
        uow.sessions.save(samples.summary("s-2", patient_id="p-2"))
        uow.sessions.save(samples.summary("s-3", patient_id="p-2"))
        uow.sessions.add(samples.summary("s-4", status="new", patient_id=None))
        uow.commit()
    with uow_factory() as uow:
        assert uow.sessions.get("s-1") == with_state
        assert uow.sessions.get_many(["s-1", "s-3", "s-9"]) == {
            "s-1": with_state,
            "s-3": samples.summary("s-3", patient_id="p-2"),
        }
        assert uow.sessions.get_many([]) == {}
        listed = uow.sessions.list_for_patients(["p-2", "p-1", "p-x"])
        assert [s.session_id for s in listed] == ["s-1", "s-2", "s-3"]
        assert listed[0] == replace(with_state, state=None)  # listings decode no state
        assert uow.sessions.list_for_patient("p-1") == [listed[0]]
        assert uow.sessions.list()[0] == listed[0]
        assert uow.sessions.list_for_patients([]) == []
        patients = uow.patients.get_many(["p-2", "p-1", "p-x"])
        assert patients == {"p-1": uow.patients.get("p-1"), "p-2": uow.patients.get("p-2")}


def test_a_sessions_patient_is_read_with_its_identifiers_in_one_query(
    uow_factory: Factory,
) -> None:
    """What a device match is checked against (issue 22): per session its status, its
    patient's id and identifiers, as ``get`` of the summary and of the patient say them."""
    mrn = (PatientIdentifier(system="urn:mrn", value="MRN-7"),)
    _seed(uow_factory)
    with uow_factory() as uow:
        uow.patients.add(samples.patient("p-2", identifiers=mrn))
        uow.sessions.save(samples.summary("s-1"))
        uow.sessions.save(samples.summary("s-2", patient_id="p-2", status="discharged"))
        uow.sessions.save(samples.summary("s-3", patient_id="p-gone"))  # no patient row
        uow.sessions.add(samples.summary("s-4", status="new", patient_id=None))
        uow.commit()
    with uow_factory() as uow:
        found = uow.sessions.get_patients_of(["s-4", "s-3", "s-2", "s-1", "s-9", "s-1"])
        assert uow.sessions.get_patients_of([]) == {}
        oracle = {}
        for session_id in ("s-1", "s-2", "s-3", "s-4"):
            summary = uow.sessions.get(session_id)
            try:
                identifiers = uow.patients.get(summary.patient_id or "").identifiers
            except RecordNotFound:
                identifiers = ()
            oracle[session_id] = SessionPatient(
                session_id=session_id,
                status=summary.status,
                patient_id=summary.patient_id,
                identifiers=identifiers,
            )
    assert found == oracle
    assert found["s-2"] == SessionPatient(
        session_id="s-2", status="discharged", patient_id="p-2", identifiers=mrn
    )
    assert found["s-3"].identifiers == ()
    assert found["s-4"] == SessionPatient(session_id="s-4", status="new")


def test_summaries_saved_in_one_batch_are_each_sessions_latest(uow_factory: Factory) -> None:
    """``save_many`` (group commit) is ``save`` of each in order: a later summary of a session
    replaces an earlier one, a session without a row yet gets one."""
    with uow_factory() as uow:
        uow.sessions.save(samples.summary("s-1"))
        uow.sessions.save(samples.summary("s-2", patient_id="p-2"))
        uow.commit()
    batch = [
        samples.summary("s-2", patient_id="p-2", version=8),
        samples.summary("s-1", version=8, status="paused"),
        samples.summary("s-2", patient_id="p-2", version=9, warnings=("late",)),
    ]
    with uow_factory() as uow:
        uow.sessions.save_many(batch)
        uow.sessions.save_many([])
        uow.commit()
    with uow_factory() as uow:
        assert uow.sessions.get_many(["s-1", "s-2"]) == {"s-1": batch[1], "s-2": batch[2]}
        uow.sessions.save_many([samples.summary("s-3", version=1), samples.summary("s-1")])
        uow.commit()
    with uow_factory() as uow:
        assert uow.sessions.get("s-3") == samples.summary("s-3", version=1)
        assert uow.sessions.get("s-1") == samples.summary("s-1")
