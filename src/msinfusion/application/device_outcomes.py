"""A device message inside ``DeviceFeed``: its decoded readings, and an accepted receipt that
still carries its decisions until its transaction is committed and they are announced."""

from __future__ import annotations

from dataclasses import dataclass

from msinfusion.application.monitoring_ports import DeviceReading, Receipt
from msinfusion.application.session_streams import Decision
from msinfusion.session.commands import RecordVitals


@dataclass(frozen=True, slots=True)
class Readings:
    """A decoded message: each reading with its ``RecordVitals``."""

    commands: tuple[tuple[DeviceReading, RecordVitals], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted(Receipt):
    """An accepted receipt still carrying its decision, until it is committed and announced."""

    decisions: tuple[Decision, ...]

    def plain(self) -> Receipt:
        return Receipt(
            outcome=self.outcome,
            answer=self.answer,
            session_id=self.session_id,
            version=self.version,
            alert_ids=self.alert_ids,
        )
