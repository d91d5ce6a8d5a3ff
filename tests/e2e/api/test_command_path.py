"""The one command path, end to end: transactions per command, committed versions under
concurrency, every command's schema in OpenAPI, and exact parses from JSON and forms."""

from __future__ import annotations

import json
import threading
import typing
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.adapters.web.models import CommandIn
from msinfusion.adapters.web.session_commands import body_of
from msinfusion.adapters.web.ui.forms import command_from_form
from msinfusion.application.records import Role
from msinfusion.application.sessions import CommandOutcome
from msinfusion.bootstrap import build_unit_of_work_factory
from msinfusion.catalog.model import Severity
from msinfusion.errors import InvalidCommand
from msinfusion.monitoring.vital_signs import Consciousness
from msinfusion.session import commands as cmd
from msinfusion.session.codec import field_types
from msinfusion.session.interchange import command_from_dict, command_to_dict
from tests.e2e.api.world import NOW, World, actor_for, build_world, in_memory_factory
from tests.transactions import CountingFactory
from tests.unit.adapters.web.test_ui_routes import sign_in


def _counted_world(factory: Any = None) -> tuple[World, CountingFactory]:
    counting = CountingFactory(factory or in_memory_factory())
    return build_world(counting), counting


def _version(world: World) -> int:
    return world.service.get_version(world.ids["session"])


def test_a_chairside_form_command_costs_one_write_and_at_most_one_read() -> None:
    world, counting = _counted_world()
    csrf = sign_in(world, Role.NURSE)
    before = _version(world)
    counting.reset()
    answer = world.client.post(
        f"/sessions/{world.ids['session']}/commands/RecordVitals",
        data={"csrf_token": csrf, "expected_version": str(before), "heart_rate_bpm": "72"},
    )
    counts = counting.reset()
    assert answer.status_code == 200, answer.text
    assert "VitalsRecorded" in answer.text or "Vitals" in answer.text
    assert (counts.writes, counts.reads <= 1) == (1, True), counts
    assert _version(world) == before + 1  # and the page showed that version
    assert f'name="expected_version" value="{before + 1}"' in answer.text


def test_a_json_command_costs_one_write_and_answers_the_committed_version() -> None:
    world, counting = _counted_world()
    before = _version(world)
    counting.reset()
    answer = world.request(
        Role.NURSE,
        "POST",
        f"/api/sessions/{world.ids['session']}/commands",
        json={
            "expected_version": before,
            "command": {"command": "RecordVitals", "at": NOW.isoformat(), "heart_rate_bpm": 72},
        },
    )
    counts = counting.reset()
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["version"] == before + 1
    assert [e["sequence"] for e in body["events"]] == [before + 1]
    assert counts.writes == 1, counts
    assert counts.reads <= 1, counts  # the bearer token's lookup


def test_a_device_reading_costs_one_transaction() -> None:
    world, counting = _counted_world()
    with world.uow_factory() as uow:
        patient_id = uow.sessions.get(world.ids["session"]).patient_id
    before = _version(world)
    reading = {
        "idempotency_key": "m-1",
        "sender": "monitor-1",
        "patient_id": patient_id,
        "observed_at": NOW.isoformat(),
        "observations": [{"system": "LOINC", "code": "8867-4", "value": 71, "unit": "/min"}],
    }
    counting.reset()
    receipt = world.centre.monitoring.ingest("rest", json.dumps(reading), now=NOW)
    counts = counting.reset()
    assert receipt.outcome == "accepted", receipt
    assert receipt.version == before + 1
    assert counts.total == 1, counts


WRITERS = 8
COMMANDS_EACH = 5


def test_concurrent_writers_each_get_their_committed_version(tmp_path: Path) -> None:
    """8 writers without an expected version (the retry loop decides again after a lost race):
    every reply's version and sequence numbers are those of the events it stored."""
    world = build_world(build_unit_of_work_factory(sqlite_url(tmp_path / "race.db")))
    nurse = actor_for(world, Role.NURSE)
    session_id = world.ids["session"]
    start = _version(world)
    outcomes: list[CommandOutcome] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def write(writer: int) -> None:
        for index in range(COMMANDS_EACH):
            command = cmd.RecordVitals(
                at=NOW, user=nurse.username, heart_rate_bpm=Fraction(60 + writer * 3 + index)
            )
            try:
                outcome = world.centre.sessions.handle(
                    nurse, session_id, command, expected_version=None, display_tz=UTC
                )
            except BaseException as error:  # reported below
                with lock:
                    failures.append(error)
                return
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    # A writer may exhaust its bounded retries under this much contention; it then says so.
    assert all(type(f).__name__ == "ConcurrencyError" for f in failures), failures
    stored = world.service.list_events(session_id)
    sequences: list[int] = []
    for outcome in outcomes:
        assert outcome.events, outcome
        assert outcome.version == outcome.events[-1].sequence
        for numbered in outcome.events:
            assert stored[numbered.sequence - 1] == numbered.event
            sequences.append(numbered.sequence)
        assert outcome.view.state.version == outcome.version
    assert sorted(sequences) == list(range(start + 1, len(stored) + 1))
    assert len(outcomes) >= WRITERS  # every writer got at least its first command through


def test_openapi_lists_every_session_command_and_its_fields() -> None:
    world = build_world()
    document = world.client.get("/api/openapi.json").json()
    schemas = document["components"]["schemas"]
    union = schemas["CommandIn"]["properties"]["command"]
    mapping = union["discriminator"]["mapping"]
    assert set(mapping) == {c.__name__ for c in cmd.COMMAND_TYPES}
    for command_type in cmd.COMMAND_TYPES:
        schema = schemas[command_type.__name__]
        assert set(schema["properties"]) == {"command"} | {
            f.name for f in fields(command_type) if f.name != "recorded_at"
        }
        assert schema["additionalProperties"] is False
    change_rate = schemas["ChangeRate"]
    assert set(change_rate["required"]) == {"command", "at", "rate_ml_per_h"}
    assert change_rate["properties"]["at"]["format"] == "date-time"


def test_a_malformed_command_names_its_field_and_stores_nothing() -> None:
    world = build_world()
    before = _version(world)
    answer = world.request(
        Role.NURSE,
        "POST",
        f"/api/sessions/{world.ids['session']}/commands",
        json={"expected_version": before, "command": {"command": "ChangeRate", "at": "soon"}},
    )
    assert answer.status_code == 422
    assert "rate_ml_per_h" in answer.json()["field"]
    other = world.request(
        Role.NURSE,
        "POST",
        f"/api/sessions/{world.ids['session']}/commands",
        json={
            "expected_version": before,
            "command": {"command": "PauseInfusion", "at": NOW.isoformat(), "user": "someone"},
        },
    )
    assert (other.status_code, other.json()["field"]) == (422, "user")
    assert _version(world) == before


# --- property tests: every command parses from JSON and from a form, and back, exactly ------

TEXT = st.text(
    alphabet=st.characters(categories=("L", "N"), max_codepoint=0x2FF), min_size=1, max_size=12
)
NUMBERS = st.fractions(min_value=Fraction(1, 100), max_value=Fraction(500), max_denominator=400)
TIMES = st.datetimes(  # hypothesis takes naive bounds and adds the zone itself
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001
    max_value=datetime(2030, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
).map(lambda t: t.replace(microsecond=0))


def _value(hint: Any, name: str) -> st.SearchStrategy[Any]:
    if typing.get_origin(hint) is typing.Union or type(hint).__name__ == "UnionType":
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return st.none() | _value(inner, name)
    if name == "kind":
        return st.sampled_from(cmd.LINE_EVENT_KINDS)
    table: dict[Any, st.SearchStrategy[Any]] = {
        datetime: TIMES,
        Fraction: NUMBERS,
        Severity: st.sampled_from(list(Severity)),
        Consciousness: st.sampled_from(list(Consciousness)),
        bool: st.booleans(),
        int: st.integers(min_value=1, max_value=5),
        str: TEXT,
    }
    if typing.get_origin(hint) is tuple:
        return st.lists(TEXT, min_size=1, max_size=3).map(tuple)
    return table[hint]


@st.composite
def commands(draw: st.DrawFn) -> cmd.Command:
    command_type = draw(st.sampled_from(cmd.COMMAND_TYPES))
    hints = field_types(command_type)
    values = {
        f.name: draw(_value(hints[f.name], f.name))
        for f in fields(command_type)
        if f.name != "recorded_at"  # the server's clock sets it, never a client
    }
    try:
        return command_type(**values)
    except InvalidCommand:
        reject()


@given(commands())
@settings(max_examples=300, suppress_health_check=[HealthCheck.filter_too_much], deadline=None)
def test_every_command_round_trips_through_the_json_request_model(command: cmd.Command) -> None:
    wire = json.loads(json.dumps(command_to_dict(command)))
    body = CommandIn.model_validate({"expected_version": 0, "command": wire})
    assert command_from_dict(body_of(body.command)) == command


def _form_fields(command: cmd.Command) -> dict[str, list[str]]:
    """What a browser posts for ``command``: every value as text."""
    posted: dict[str, list[str]] = {}
    for name, value in command_to_dict(command).items():
        if name in ("command", "at", "user"):
            continue
        if isinstance(value, list):
            posted[name] = [str(v) for v in value]
        elif isinstance(value, bool):
            posted[name] = ["yes" if value else "no"]
        else:
            posted[name] = [str(value)]
    return posted


@given(commands())
@settings(max_examples=300, suppress_health_check=[HealthCheck.filter_too_much], deadline=None)
def test_every_command_round_trips_through_the_chairside_form(command: cmd.Command) -> None:
    name = type(command).__name__
    parsed = command_from_form(name, _form_fields(command), at=command.at)
    assert command_from_dict({**parsed, "user": command.user}) == command


@pytest.mark.parametrize("offset", [timedelta(hours=1), timedelta(hours=-5)])
def test_a_form_time_keeps_its_instant_in_any_offset(offset: timedelta) -> None:
    from datetime import timezone

    local = NOW.astimezone(timezone(offset))
    parsed = command_from_form("PauseInfusion", {}, at=local)
    assert command_from_dict({**parsed, "user": "nurse-a"}).at == NOW


FREE_TEXT_COMMANDS = (
    ("RecordLineEvent", {"kind": "other"}, "note"),
    ("GiveRescueMedication", {"dose": "2 mg", "route": "IV"}, "drug"),
    ("RecordAssessment", {"passed": True}, "findings"),
)
FUZZ_WORLD = build_world()


@given(
    st.sampled_from(FREE_TEXT_COMMANDS),
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40),
)
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_unicode_in_free_text_is_stored_or_refused_and_the_session_stays_readable(
    chosen: tuple[str, dict[str, Any], str], text: str
) -> None:
    """Arbitrary text, lone surrogates included, in a command's free-text field: 422 naming the
    field, or stored; the session's view and events stay readable either way."""
    name, fields_given, field = chosen
    world = FUZZ_WORLD
    session = world.ids["session"]
    version = world.service.get_version(session)
    body = {
        "expected_version": version,
        "command": {"command": name, "at": NOW.isoformat(), **fields_given, field: text},
    }
    # The client library cannot encode a lone surrogate; send the JSON text as the wire holds it.
    raw = json.dumps(body, ensure_ascii=True)
    answer = world.client.post(
        f"/api/sessions/{session}/commands",
        content=raw.encode("ascii"),
        headers={**world.auth(Role.NURSE), "content-type": "application/json"},
    )
    assert answer.status_code in (200, 422), answer.text
    if answer.status_code == 422:
        assert field in (answer.json()["field"] or "")
        assert world.service.get_version(session) == version
    for path in (f"/api/sessions/{session}", f"/api/sessions/{session}/events"):
        assert world.request(Role.NURSE, "GET", path).status_code == 200
