"""The chart: the recorded entries of a session, folded in clinical order.

An *entry* is one accepted command with the events it caused when it was recorded, numbered by
the stream position of its first event (``sequence``, recording order, which never changes).
The stream stays append-only in recording order; the state, integrals, rules and views fold the
entries in *clinical* order — the check-in first, then by when each happened (a time corrected
by ``CorrectEntry(corrected_at=...)`` wins), ties by recording order.

A command whose time is after every entry is decided against the current state (the usual
case, O(1)). A *late* command is decided against the chart as it was at its time; then every
entry after it in clinical order is decided again from its own command — never trusted — with
the late one in place, so volumes, doses and rule checks are re-derived. If a later entry no
longer holds, the late one is refused with ``late-entry-conflict``, naming the entry it
contradicts and that entry's rule. Alert ids stay stable: a re-decided entry keeps the ids it
raised; a new alert gets the next unused number.

Entries stored before commands were kept (schema v1 events) are folded as recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from msinfusion.catalog.model import Protocol
from msinfusion.errors import CommandRefused, InvalidCommand, InvalidEvent
from msinfusion.session import commands as cmd
from msinfusion.session import events as ev
from msinfusion.session.decide import decide
from msinfusion.session.evolve import evolve
from msinfusion.session.state import SessionState

log = logging.getLogger(__name__)


class LazyCommand:
    """A command kept in its stored (interchange) form until first asked for.

    A snapshot's entries carry one each: only a refold (a late entry re-deciding the later
    ones) and the last entry's clinical time need the typed command, so a cold read does not
    validate ten thousand commands it never uses. Equal to (and hashed as) the command it
    decodes to; a command that cannot be decoded raises ``InvalidEvent`` naming the snapshot,
    on first access, so the caller can replay the stream instead."""

    __slots__ = ("_decode", "_decoded", "payload")

    def __init__(
        self, payload: Mapping[str, Any], decode: Callable[[dict[str, Any]], cmd.Command]
    ) -> None:
        self.payload = payload
        """The stored form (written back as is when the chart is snapshotted again)."""
        self._decode = decode
        self._decoded: cmd.Command | None = None

    def command(self) -> cmd.Command:
        """The typed command (decoded once; a race decodes twice to equal values)."""
        found = self._decoded
        if found is None:
            try:
                found = self._decode(dict(self.payload))
            except (InvalidCommand, KeyError, TypeError, ValueError) as error:
                raise InvalidEvent(
                    f"a command in the session snapshot cannot be read ({error})",
                    field="snapshot",
                ) from error
            self._decoded = found
        return found

    @property
    def is_decoded(self) -> bool:
        return self._decoded is not None

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        try:
            mine = self.command()
            return mine == (other.command() if isinstance(other, LazyCommand) else other)
        except InvalidEvent:  # an unreadable command equals no command
            return False

    def __hash__(self) -> int:
        try:
            return hash(self.command())
        except InvalidEvent:
            return id(self)

    def __repr__(self) -> str:
        return f"LazyCommand({self.payload!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One recorded command; ``events`` are its events as they hold in clinical order now."""

    sequence: int
    source: cmd.Command | LazyCommand | None
    """The command (``command``), or a ``LazyCommand`` holding it (an entry read from a
    snapshot); None for an entry stored before commands were kept."""
    stored: tuple[ev.Event, ...]
    events: tuple[ev.Event, ...] = ()

    @property
    def command(self) -> cmd.Command | None:
        """The typed command (decoded on first access when read from a snapshot)."""
        source = self.source
        return source.command() if isinstance(source, LazyCommand) else source

    @property
    def recorded_at(self) -> datetime | None:
        return self.stored[0].recorded_at

    @property
    def own_at(self) -> datetime:
        command = self.command
        return command.at if command is not None else self.stored[0].at

    @property
    def is_check_in(self) -> bool:
        return isinstance(self.stored[0], ev.SessionCheckedIn)

    def holds(self, sequence: int) -> bool:
        return self.sequence <= sequence < self.sequence + len(self.stored)


@dataclass(frozen=True, slots=True, kw_only=True)
class Chart:
    """Entries in recording order and in clinical order, and the state folded from the latter."""

    entries: tuple[Entry, ...] = ()
    order: tuple[Entry, ...] = ()
    state: SessionState = field(default_factory=SessionState)

    @property
    def version(self) -> int:
        """The number of stored events (the stream's version)."""
        return sum(len(e.stored) for e in self.entries)

    @property
    def events(self) -> tuple[ev.Event, ...]:
        """The events as they hold, in clinical order (what views fold)."""
        return tuple(event for entry in self.order for event in entry.events)

    @property
    def stored_events(self) -> tuple[ev.Event, ...]:
        """The events as stored, in recording order."""
        return tuple(event for entry in self.entries for event in entry.stored)

    def sequences(self) -> tuple[int, ...]:
        """The stream number shown for each event of ``events`` (its entry's, in order)."""
        numbers: list[int] = []
        for entry in self.order:
            last = entry.sequence + len(entry.stored) - 1
            numbers.extend(min(entry.sequence + i, last) for i in range(len(entry.events)))
        return tuple(numbers)


def moved_times(entries: Iterable[Entry]) -> dict[int, datetime]:
    """Entry sequence -> its corrected clinical time (the latest correction wins)."""
    listed = list(entries)
    moved: dict[int, datetime] = {}
    for entry in listed:
        for event in entry.stored:
            if isinstance(event, ev.EntryCorrected) and event.corrected_at is not None:
                target = next((e for e in listed if e.holds(event.corrects_sequence)), None)
                if target is not None:
                    moved[target.sequence] = event.corrected_at
    return moved


def _clinical_key(entry: Entry, moved: Mapping[int, datetime]) -> tuple[int, datetime, int]:
    return (0 if entry.is_check_in else 1, moved.get(entry.sequence, entry.own_at), entry.sequence)


def _alert_number(alert_id: str) -> int:
    number = alert_id.removeprefix("alert-")
    return int(number) if number.isdigit() else 0


class _AlertIds:
    """Stable alert ids: an entry decided again keeps the ids it raised (by alert key)."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self._next = 1 + max(
            (
                _alert_number(e.alert_id)
                for entry in entries
                for e in (*entry.stored, *entry.events)
                if isinstance(e, ev.AlertRaised)
            ),
            default=0,
        )

    def assign(
        self, decided: Sequence[ev.Event], earlier: Sequence[ev.Event]
    ) -> tuple[ev.Event, ...]:
        kept = {e.key: e.alert_id for e in earlier if isinstance(e, ev.AlertRaised)}
        out: list[ev.Event] = []
        for event in decided:
            if isinstance(event, ev.AlertRaised):
                alert_id = kept.pop(event.key, None)
                if alert_id is None:
                    alert_id, self._next = f"alert-{self._next}", self._next + 1
                out.append(replace(event, alert_id=alert_id))
            else:
                out.append(event)
        return tuple(out)


def _stamped(events: Iterable[ev.Event], recorded_at: datetime | None) -> tuple[ev.Event, ...]:
    return tuple(replace(e, recorded_at=recorded_at) for e in events)


def fold(entries: Sequence[Entry], protocol: Protocol | None, *, strict: bool) -> Chart:
    """Fold ``entries`` (recording order) in clinical order, deciding each entry with a command
    again. ``strict``: a later entry that no longer holds raises ``late-entry-conflict`` (the
    write path); otherwise it is folded as recorded, so a stored chart always reads."""
    moved = moved_times(entries)
    ids = _AlertIds(entries)
    state = SessionState()
    folded: dict[int, Entry] = {}
    for entry in sorted(entries, key=lambda e: _clinical_key(e, moved)):
        events = entry.stored
        if entry.command is not None and protocol is not None:
            command = entry.command
            if entry.sequence in moved:
                command = replace(command, at=moved[entry.sequence])
            try:
                decided = decide(state, command, protocol)
            except CommandRefused as refusal:
                if strict:
                    raise _conflict(entry, refusal) from refusal
                log.warning("chart entry %s no longer decides (%s)", entry.sequence, refusal.rule)
            else:
                events = _stamped(
                    ids.assign(decided, entry.events or entry.stored), entry.recorded_at
                )
        for event in events:
            state = evolve(state, event)
        folded[entry.sequence] = replace(entry, events=events)
    order = tuple(
        folded[e.sequence] for e in sorted(entries, key=lambda e: _clinical_key(e, moved))
    )
    return Chart(entries=tuple(folded[e.sequence] for e in entries), order=order, state=state)


def _conflict(entry: Entry, refusal: CommandRefused) -> CommandRefused:
    name = type(entry.command).__name__ if entry.command is not None else "entry"
    return CommandRefused(
        "late-entry-conflict",
        f"it contradicts entry #{entry.sequence} ({name} at {entry.own_at.isoformat()} by "
        f"{entry.stored[0].user}), which would break the rule {refusal.rule}: {refusal.reason}",
    )


def record(
    chart: Chart, command: cmd.Command, protocol: Protocol
) -> tuple[Chart, tuple[ev.Event, ...]]:
    """The chart with ``command`` recorded (sequence ``chart.version + 1``) and the events it
    caused, or ``CommandRefused`` (its own rule, or ``late-entry-conflict``)."""
    sequence = chart.version + 1
    moves = isinstance(command, cmd.CorrectEntry) and command.corrected_at is not None
    last = chart.order[-1] if chart.order else None
    in_order = last is None or last.is_check_in or _after(command, last, moved_times(chart.entries))
    if in_order and not moves:
        decided = decide(chart.state, command, protocol)
        events = _stamped(_AlertIds(chart.entries).assign(decided, ()), command.recorded_at)
        entry = Entry(sequence=sequence, source=command, stored=events, events=events)
        state = chart.state
        for event in events:
            state = evolve(state, event)
        return Chart(
            entries=(*chart.entries, entry), order=(*chart.order, entry), state=state
        ), events
    return _record_late(chart, command, protocol, sequence)


def extend(chart: Chart, entries: Sequence[Entry], protocol: Protocol | None) -> Chart:
    """The chart with entries another writer stored (already decided): appended as stored when
    they come in clinical order, else the whole chart folded again (never refusing).

    Linear in the chart's length per call, not per entry: the corrections that move clinical
    times are collected once (again only after a fold), and only the last entry's clinical
    time is compared; the entries are gathered in lists and frozen once."""
    listed, order, state = list(chart.entries), list(chart.order), chart.state
    corrections: list[tuple[int, datetime]] | None = None
    for entry in entries:
        last = order[-1] if order else None
        in_order = not _moves_entries(entry)
        if in_order and last is not None and not (last.is_check_in or entry.is_check_in):
            if corrections is None:
                corrections = _corrections(listed)
            in_order = entry.own_at >= _clinical_at(last, corrections)
        if in_order:
            placed = replace(entry, events=entry.stored)
            for event in placed.events:
                state = evolve(state, event)
            listed.append(placed)
            order.append(placed)
        else:
            folded = fold((*listed, entry), protocol, strict=False)
            listed, order, state = list(folded.entries), list(folded.order), folded.state
            corrections = None
    return Chart(entries=tuple(listed), order=tuple(order), state=state)


def _moves_entries(entry: Entry) -> bool:
    return any(
        isinstance(e, ev.EntryCorrected) and e.corrected_at is not None for e in entry.stored
    )


def _corrections(entries: Iterable[Entry]) -> list[tuple[int, datetime]]:
    """Every time correction, in recording order: (the sequence it corrects, the true time)."""
    return [
        (event.corrects_sequence, event.corrected_at)
        for entry in entries
        for event in entry.stored
        if isinstance(event, ev.EntryCorrected) and event.corrected_at is not None
    ]


def _clinical_at(entry: Entry, corrections: Sequence[tuple[int, datetime]]) -> datetime:
    """``entry``'s clinical time: the latest correction of it wins (as ``moved_times``)."""
    found = entry.own_at
    for sequence, corrected_at in corrections:
        if entry.holds(sequence):
            found = corrected_at
    return found


def _after(command: cmd.Command, last: Entry, moved: Mapping[int, datetime]) -> bool:
    return command.at >= moved.get(last.sequence, last.own_at)


def _record_late(
    chart: Chart, command: cmd.Command, protocol: Protocol, sequence: int
) -> tuple[Chart, tuple[ev.Event, ...]]:
    """Insert a late command: decided at its time, every later entry decided again."""
    moved = moved_times(chart.entries)
    before = [e for e in chart.order if _clinical_key(e, moved) <= (1, command.at, sequence)]
    state = SessionState()
    for entry in before:
        for event in entry.events:
            state = evolve(state, event)
    decided = decide(state, command, protocol)  # its own rule refuses first
    events = _stamped(_AlertIds(chart.entries).assign(decided, ()), command.recorded_at)
    placeholder = Entry(sequence=sequence, source=command, stored=events, events=events)
    candidate = fold((*chart.entries, placeholder), protocol, strict=True)
    new_entry = candidate.entries[-1]
    return candidate, new_entry.stored
