"""The permission matrix (deny by default, decisions pinned) and the login rate limiter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from msinfusion.application.permissions import (
    COMMAND_ACTIONS,
    MATRIX,
    Action,
    is_allowed,
    require,
    require_command,
)
from msinfusion.application.rate_limit import SlidingWindowLimiter
from msinfusion.application.records import Role
from msinfusion.errors import PermissionDenied, TooManyAttempts
from msinfusion.session.commands import COMMAND_TYPES

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_every_action_has_a_row_and_every_command_an_action() -> None:
    assert set(MATRIX) == set(Action)
    assert set(COMMAND_ACTIONS) == {cls.__name__ for cls in COMMAND_TYPES}


@pytest.mark.parametrize(
    ("role", "action", "allowed"),
    [
        (Role.PHYSICIAN, Action.OVERRIDE_SOFT_LIMIT, True),
        (Role.NURSE, Action.OVERRIDE_SOFT_LIMIT, False),
        (Role.NURSE, Action.START_INFUSION, True),
        (Role.NURSE, Action.RECORD_REACTION, True),
        (Role.PHARMACIST, Action.START_INFUSION, False),
        (Role.PHARMACIST, Action.EDIT_PROTOCOL, True),
        (Role.PHYSICIAN, Action.EDIT_PROTOCOL, False),
        (Role.PHARMACIST, Action.VERIFY_DOSE, True),
        (Role.NURSE, Action.VERIFY_DOSE, False),
        (Role.PHYSICIAN, Action.WRITE_ORDER, True),
        (Role.SCHEDULER, Action.BOOK_APPOINTMENT, True),
        (Role.VIEWER, Action.READ_BOARD, True),
        (Role.VIEWER, Action.WRITE_PATIENT, False),
        (Role.ADMIN, Action.MANAGE_USERS, True),
        (Role.ADMIN, Action.READ_PATIENT, False),
        (Role.ADMIN, Action.READ_AUDIT, True),
        (Role.NURSE, Action.READ_AUDIT, False),
        (Role.NURSE, Action.READ_WORKLIST, True),
        (Role.SCHEDULER, Action.MANAGE_WORKLIST, True),
        (Role.PHYSICIAN, Action.MANAGE_WORKLIST, True),
        (Role.VIEWER, Action.READ_WORKLIST, False),
        (Role.PHARMACIST, Action.MANAGE_WORKLIST, False),
        (Role.ADMIN, Action.READ_WORKLIST, False),
    ],
)
def test_the_decisions_of_the_matrix(role: Role, action: Action, allowed: bool) -> None:
    assert is_allowed(role, action) is allowed


def test_admin_reads_no_patient_data_and_viewer_writes_nothing() -> None:
    patient_reads = {Action.READ_PATIENT, Action.READ_ORDER, Action.READ_SESSION, Action.READ_BOARD}
    assert not any(is_allowed(Role.ADMIN, a) for a in patient_reads)
    viewer = {a for a in Action if is_allowed(Role.VIEWER, a)}
    own_account = {Action.CHANGE_OWN_PASSWORD, Action.ISSUE_OWN_TOKEN}
    assert all(a.value.startswith("read_") for a in viewer - own_account)


def test_a_device_only_posts_observations() -> None:
    assert {a for a in Action if is_allowed(Role.DEVICE, a)} == {Action.INGEST_OBSERVATIONS}


def test_require_names_role_and_action() -> None:
    with pytest.raises(PermissionDenied, match="the role viewer may not write order"):
        require(Role.VIEWER, Action.WRITE_ORDER)


def test_an_override_needs_the_override_permission_on_top() -> None:
    require_command(Role.NURSE, "ChangeRate", has_override=False)
    with pytest.raises(PermissionDenied):
        require_command(Role.NURSE, "ChangeRate", has_override=True)
    require_command(Role.PHYSICIAN, "ChangeRate", has_override=True)
    with pytest.raises(PermissionDenied):
        require_command(Role.PHYSICIAN, "LaunchRocket", has_override=False)


def _paused_for(limiter: SlidingWindowLimiter, at: datetime) -> int | None:
    try:
        limiter.check("k", at)
    except TooManyAttempts as error:
        return error.retry_after_s
    return None


@given(
    failures=st.integers(min_value=1, max_value=8),
    gaps_s=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=30),
)
def test_never_more_than_max_failures_in_any_window(failures: int, gaps_s: list[int]) -> None:
    window = timedelta(minutes=5)
    limiter = SlidingWindowLimiter(max_failures=failures, window=window)
    now, counted = T0, []
    for gap in gaps_s:
        now += timedelta(seconds=gap)
        paused_s = _paused_for(limiter, now)
        if paused_s is not None:
            recent = [t for t in counted if t > now - window]
            assert len(recent) >= failures
            assert now + timedelta(seconds=paused_s) >= min(recent) + window
            continue
        limiter.fail("k", now)
        counted.append(now)
        assert len([t for t in counted if t > now - window]) <= failures


def test_a_reset_forgets_and_keys_are_separate() -> None:
    limiter = SlidingWindowLimiter(max_failures=1, window=timedelta(minutes=1))
    limiter.fail("a", T0)
    with pytest.raises(TooManyAttempts):
        limiter.check("a", T0)
    limiter.check("b", T0)
    limiter.reset("a")
    limiter.check("a", T0)


def test_memory_is_bounded() -> None:
    limiter = SlidingWindowLimiter(max_failures=1, window=timedelta(minutes=1), max_keys=3)
    for key in "abcd":
        limiter.fail(key, T0)
    limiter.check("a", T0)  # the stalest key was dropped
    with pytest.raises(TooManyAttempts):
        limiter.check("d", T0)
