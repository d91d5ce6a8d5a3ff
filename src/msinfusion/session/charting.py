"""When an entry may be charted: the centre's charting policy and the time rules of an entry.

Things are charted after they happen, and clocks disagree. Every entry has two times: ``at``,
when it happened (given by the nurse or the device), and ``recorded_at``, when it is stored
(the service layer's clock). The rules, in the order they are checked:

- ``clock-future``: an entry more than ``future_tolerance`` (default 2 min) ahead of its
  recording is refused — a monitor's local wall time labelled UTC, or a typing error. One within
  the tolerance is charted at its recording time, so no entry is ever in the chart's future and
  none can block a later real-time entry.
- ``charting-window``: an entry further back than ``reach_back`` (default 24 h) is refused.
- ``late-reason``: an entry charted more than ``late_after`` (default 30 min) after it
  happened needs a ``late_reason`` (from a person: a device's reading delivered late is
  charted at its own time and marked late, with no reason to give).
- ``before-check-in``: nothing happens before the check-in, except a premedication taken
  within the protocol's longest premedication window before it (an oral dose at home).

>>> from datetime import datetime, UTC
>>> from msinfusion.session.commands import PauseInfusion
>>> policy = ChartingPolicy()
>>> t = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
>>> charted = check_entry_time(PauseInfusion(at=t + timedelta(seconds=30), user="n"),
...     recorded_at=t, check_in_at=None, lead_before_check_in=timedelta(0), policy=policy)
>>> charted.at == t  # 30 s ahead: within the tolerance, charted at its recording time
True
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fractions import Fraction
from typing import TypeVar

from msinfusion.catalog.model import Protocol
from msinfusion.errors import CommandRefused
from msinfusion.session.commands import CheckIn, Command, GivePremedication
from msinfusion.session.rules import format_number, window_bounds

C = TypeVar("C", bound=Command)


LATE_AFTER = timedelta(minutes=30)
"""The default late threshold (a centre setting)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChartingPolicy:
    """A centre's charting settings (not clinical numbers: local policy, set per centre)."""

    future_tolerance: timedelta = timedelta(minutes=2)
    late_after: timedelta = LATE_AFTER
    reach_back: timedelta = timedelta(hours=24)

    def is_late(self, at: datetime, recorded_at: datetime | None) -> bool:
        return recorded_at is not None and recorded_at - at > self.late_after


def _minutes(delta: timedelta) -> str:
    return format_number(Fraction(delta // timedelta(seconds=1), 60))


def premedication_lead(protocol: Protocol) -> timedelta:
    """How long before the check-in a premedication may have been taken: the protocol's longest
    premedication window (none when no window has an earliest time)."""
    longest = max(
        (most for _, most in map(window_bounds, protocol.premedications) if most is not None),
        default=None,
    )
    return timedelta(0) if longest is None else timedelta(minutes=float(longest))


def check_entry_time(
    command: C,
    *,
    recorded_at: datetime,
    check_in_at: datetime | None,
    lead_before_check_in: timedelta,
    policy: ChartingPolicy,
    require_late_reason: bool = True,
) -> C:
    """``command`` as it is charted (``recorded_at`` set, a slightly fast clock brought back to
    the recording time), or ``CommandRefused`` naming the time rule it breaks."""
    if command.at > recorded_at + policy.future_tolerance:
        raise CommandRefused(
            "clock-future",
            f"{command.at.isoformat()} is {_minutes(command.at - recorded_at)} min ahead of the "
            f"time it was recorded ({recorded_at.isoformat()}); at most "
            f"{_minutes(policy.future_tolerance)} min is accepted (check the device's clock)",
        )
    at = min(command.at, recorded_at)
    behind = recorded_at - at
    if behind > policy.reach_back:
        raise CommandRefused(
            "charting-window",
            f"{at.isoformat()} is {_minutes(behind)} min before it is recorded; the centre allows "
            f"charting up to {_minutes(policy.reach_back)} min back",
        )
    if require_late_reason and behind > policy.late_after and command.late_reason is None:
        raise CommandRefused(
            "late-reason",
            f"charted {_minutes(behind)} min after it happened: past the centre's "
            f"{_minutes(policy.late_after)} min a late_reason is needed",
        )
    if check_in_at is not None and not isinstance(command, CheckIn) and at < check_in_at:
        earliest = check_in_at - lead_before_check_in
        if not isinstance(command, GivePremedication) or at < earliest:
            raise CommandRefused(
                "before-check-in",
                f"{at.isoformat()} is before the check-in at {check_in_at.isoformat()}; only a "
                f"premedication may precede it, by at most {_minutes(lead_before_check_in)} min",
            )
    return replace(command, at=at, recorded_at=recorded_at)
