"""The audit trail's outcome names what stopped an action, never the message text."""

from __future__ import annotations

import pytest

from msinfusion.application.audit import outcome_of
from msinfusion.errors import (
    CommandRefused,
    DuplicateRecord,
    InvalidCommand,
    PermissionDenied,
    RecordNotFound,
)


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (CommandRefused("order-missing", "no order"), "refused:order-missing"),
        (
            DuplicateRecord("appointment-1 is already booked", field="dose_number"),
            "refused:duplicate",
        ),
        (PermissionDenied(role="nurse", action="write_order"), "denied"),
        (RecordNotFound("no patient p-1", field="patient_id"), "not-found"),
        (InvalidCommand("dose_number must be 1 or more", field="dose_number"), "invalid"),
    ],
)
def test_each_kind_of_stop_has_its_outcome(error: Exception, outcome: str) -> None:
    assert outcome_of(error) == outcome
