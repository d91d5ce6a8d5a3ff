"""The device-feed repositories, one suite over the fake, SQLite and PostgreSQL: accepted
messages are unique by idempotency key; quarantined messages are kept, updated and listed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from msinfusion.application.device_records import (
    DeviceMessage,
    QuarantinedMessage,
    QuarantineStatus,
)
from msinfusion.errors import DuplicateRecord, RecordNotFound
from tests.contract.conftest import UnitOfWorkFactory

AT = datetime(2026, 3, 2, 9, 45, tzinfo=UTC)
MESSAGE = DeviceMessage(
    id="hl7:MON/0012345678901234:MSG0001",
    transport="hl7-mllp",
    sender="MON/0012345678901234",
    session_id="session-1",
    received_at=AT,
    answer="MSH|^~\\&|MSINFUSION||MON||20260302094500+0000||ACK^R01^ACK|ACKMSG0001|P|2.6\rMSA|AA|MSG0001|\r",
    raw="MSH|...\rPID|||MRN123\r",
)
HELD = QuarantinedMessage(
    id="quarantine-1",
    transport="hl7-mllp",
    received_at=AT,
    reason_code="unknown-patient",
    reason="no infusion in progress matches the patient (PID-3) and chair (PV1-3)",
    raw="MSH|...",
    answer="MSH|...\rMSA|AE|MSG0002|...\r",
    sender="MON/1",
    message_key="hl7:MON/1:MSG0002",
)


def test_an_accepted_message_is_stored_once_per_key(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.device_messages.add(MESSAGE)
        uow.commit()
    with uow_factory() as uow:
        assert uow.device_messages.get(MESSAGE.id) == MESSAGE
        with pytest.raises(DuplicateRecord):
            uow.device_messages.add(replace(MESSAGE, session_id="session-2"))
    with uow_factory() as uow, pytest.raises(RecordNotFound):
        uow.device_messages.get("hl7:MON/1:unknown")


def test_a_batch_is_read_in_one_call_and_stored_whole_or_not_at_all(
    uow_factory: UnitOfWorkFactory,
) -> None:
    second = replace(MESSAGE, id="hl7:MON/0012345678901234:MSG0002", session_id="session-2")
    third = replace(MESSAGE, id="hl7:MON/0012345678901234:MSG0003")
    with uow_factory() as uow:
        assert uow.device_messages.get_many([MESSAGE.id, second.id]) == {}
        uow.device_messages.add_many([second, MESSAGE])
        uow.commit()
    with uow_factory() as uow:
        found = uow.device_messages.get_many([MESSAGE.id, second.id, "hl7:MON/1:unknown"])
        assert found == {MESSAGE.id: MESSAGE, second.id: second}
        with pytest.raises(DuplicateRecord):  # one stored key refuses the whole batch
            uow.device_messages.add_many([third, replace(MESSAGE, answer="another")])
        with pytest.raises(DuplicateRecord):  # a key given twice as well
            uow.device_messages.add_many([third, third])
        uow.device_messages.add(replace(third, id="hl7:MON/1:after"))  # the unit is usable
        uow.commit()
    with uow_factory() as uow:
        assert [m.id for m in uow.device_messages.list()] == [
            "hl7:MON/0012345678901234:MSG0001",
            "hl7:MON/0012345678901234:MSG0002",
            "hl7:MON/1:after",
        ]
        assert uow.device_messages.get(MESSAGE.id) == MESSAGE


def test_an_uncommitted_message_is_not_stored(uow_factory: UnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        uow.device_messages.add(MESSAGE)
    with uow_factory() as uow, pytest.raises(RecordNotFound):
        uow.device_messages.get(MESSAGE.id)


def test_the_quarantine_keeps_updates_and_lists(uow_factory: UnitOfWorkFactory) -> None:
    later = replace(HELD, id="quarantine-2", received_at=AT + timedelta(minutes=1), sender=None)
    with uow_factory() as uow:
        uow.quarantine.add(HELD)
        uow.quarantine.add(later)
        uow.commit()
    replayed = replace(
        HELD,
        status=QuarantineStatus.REPLAYED,
        attempts=2,
        replayed_at=AT + timedelta(hours=1),
        replayed_by="user-admin",
        session_id="session-1",
    )
    with uow_factory() as uow:
        uow.quarantine.update(replayed)
        uow.commit()
    with uow_factory() as uow:
        assert uow.quarantine.list() == [replayed, later]
        assert uow.quarantine.get("quarantine-2").status is QuarantineStatus.HELD
        with pytest.raises(DuplicateRecord):
            uow.quarantine.add(HELD)
        with pytest.raises(RecordNotFound):
            uow.quarantine.update(replace(HELD, id="quarantine-9"))
