"""``msinfusion session replay|simulate`` through Typer's CliRunner: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from msinfusion.entrypoints.session_cli import session_app

runner = CliRunner()

COMMANDS = [
    {
        "command": "CheckIn",
        "at": "2025-03-03T07:30:00+01:00",
        "user": "n1",
        "patient_id": "p-1",
        "protocol_id": "ocrelizumab-600-standard",
        "dose_number": 3,
    },
    {"command": "RecordAssessment", "at": "2025-03-03T07:35:00+01:00", "passed": True},
    {
        "command": "GivePremedication",
        "at": "2025-03-03T08:15:00+01:00",
        "drug": "cetirizine",
        "dose": "10 mg",
        "route": "PO",
        "for_premedication": "antihistamine",
    },
    {
        "command": "GivePremedication",
        "at": "2025-03-03T08:30:00+01:00",
        "drug": "methylprednisolone",
        "dose": "100 mg",
        "route": "IV",
    },
    {"command": "StartInfusion", "at": "2025-03-03T09:00:00+01:00", "rate_ml_per_h": 40},
    {"command": "ChangeRate", "at": "2025-03-03T09:30:00+01:00", "rate_ml_per_h": 80},
]


def _write(tmp_path: Path, data: object) -> str:
    path = tmp_path / "session.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_replay_prints_json_state(tmp_path: Path) -> None:
    result = runner.invoke(
        session_app,
        [
            "replay",
            _write(tmp_path, COMMANDS),
            "--at",
            "2025-03-03T09:45:00+01:00",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    state = json.loads(result.output)
    assert state["status"] == "infusing"
    assert state["volume_infused_ml"] == 40.0  # 40 x 0.5 h + 80 x 0.25 h
    assert state["dose_delivered_mg"] == 48.0
    assert state["remaining_volume_ml"] == 460.0
    assert state["events"] == 6
    assert {
        "action": "change-rate",
        "at": "2025-03-03T10:00:00+01:00",
        "detail": "up to 120 mL/h",
    } in state["due"]


def test_replay_table_is_the_default(tmp_path: Path) -> None:
    result = runner.invoke(session_app, ["replay", _write(tmp_path, COMMANDS)])
    assert result.exit_code == 0
    assert "infusing" in result.output
    assert "Timeline" in result.output


def test_replay_refusal_exits_3_with_the_rule(tmp_path: Path) -> None:
    bad = [
        *COMMANDS,
        {"command": "ChangeRate", "at": "2025-03-03T09:40:00+01:00", "rate_ml_per_h": 250},
    ]
    result = runner.invoke(session_app, ["replay", _write(tmp_path, bad), "--format", "json"])
    assert result.exit_code == 3
    refusal = json.loads(result.stdout)["refused"]
    assert refusal["rule"] == "max-rate"
    assert refusal["index"] == 7


def test_replay_malformed_input_exits_2(tmp_path: Path) -> None:
    naive = [{**COMMANDS[0], "at": "2025-03-03T07:30:00"}]
    assert runner.invoke(session_app, ["replay", _write(tmp_path, naive)]).exit_code == 2
    assert runner.invoke(session_app, ["replay", _write(tmp_path, {"x": 1})]).exit_code == 2
    assert runner.invoke(session_app, ["replay", str(tmp_path / "missing.json")]).exit_code == 2
    (tmp_path / "broken.json").write_text("[{", encoding="utf-8")
    assert runner.invoke(session_app, ["replay", str(tmp_path / "broken.json")]).exit_code == 2
    path = _write(tmp_path, COMMANDS)
    assert runner.invoke(session_app, ["replay", path, "--at", "tomorrow"]).exit_code == 2


def test_simulate_follows_the_prompts_with_a_reaction() -> None:
    result = runner.invoke(
        session_app,
        [
            "simulate",
            "ocrelizumab-600-standard",
            "--start",
            "2025-03-03T09:00:00+00:00",
            "--reaction",
            "75:moderate",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["status"] == "discharged"
    assert data["projected_infusion_end"] == "2025-03-03T13:06:00+00:00"  # minute 246
    assert data["volume_infused_ml"] == 500.0
    assert data["dose_delivered_mg"] == 600.0
    assert data["commands"][0]["command"] == "CheckIn"


def test_simulate_bad_input_exits_2() -> None:
    start = ["--start", "2025-03-03T09:00:00+00:00"]
    assert runner.invoke(session_app, ["simulate", "nope", *start]).exit_code == 2
    assert (
        runner.invoke(
            session_app, ["simulate", "natalizumab-300", *start, "--reaction", "x"]
        ).exit_code
        == 2
    )
    assert (
        runner.invoke(session_app, ["simulate", "natalizumab-300", "--start", "09:00"]).exit_code
        == 2
    )


def test_simulate_a_bsa_dose_and_a_table() -> None:
    result = runner.invoke(
        session_app,
        [
            "simulate",
            "mitoxantrone-12-per-m2",
            "--start",
            "2025-03-03T09:00:00+00:00",
            "--height-cm",
            "170",
            "--weight-kg",
            "70",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "discharged" in result.output


def test_replay_shows_times_in_the_offset_the_file_was_written_in(tmp_path: Path) -> None:
    result = runner.invoke(session_app, ["replay", _write(tmp_path, COMMANDS), "--format", "json"])
    assert result.exit_code == 0, result.output
    state = json.loads(result.output)
    assert state["at"] == "2025-03-03T09:30:00+01:00"
    assert state["infusion_started_at"] == "2025-03-03T09:00:00+01:00"
    assert any(line.startswith("#5 09:00:00 ") for line in state["timeline"])


def test_replay_at_an_instant_in_utc_shows_utc(tmp_path: Path) -> None:
    result = runner.invoke(
        session_app,
        ["replay", _write(tmp_path, COMMANDS), "--at", "2025-03-03T08:45:00Z", "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    state = json.loads(result.output)
    assert state["at"] == "2025-03-03T08:45:00+00:00"  # the same instant as 09:45+01:00
    assert state["volume_infused_ml"] == 40.0
    assert state["infusion_started_at"] == "2025-03-03T08:00:00+00:00"


def test_replay_takes_entries_in_any_order_of_time(tmp_path: Path) -> None:
    """The premedications charted after the start, with ``recorded_at`` for the replay: the
    same state as the file in time order (40 x 0.5 h + 80 x 0.25 h = 40 mL by 09:45)."""
    check_in, assessment, cetirizine, steroid, start, step = COMMANDS
    charted = "2025-03-03T09:05:00+01:00"
    shuffled = [
        check_in,
        assessment,
        {**steroid, "recorded_at": "2025-03-03T08:31:00+01:00"},
        {**cetirizine, "recorded_at": charted, "late_reason": "charted after the start"},
        start,
        step,
    ]
    late_start = [check_in, assessment, steroid, step, cetirizine, start]
    outputs = []
    for data in (COMMANDS, shuffled):
        result = runner.invoke(
            session_app,
            ["replay", _write(tmp_path, data), "--at", "2025-03-03T09:45:00+01:00",
             "--format", "json"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        outputs.append(json.loads(result.output))
    in_order, late = ({k: v for k, v in o.items() if k != "timeline"} for o in outputs)
    assert in_order == late
    assert outputs[1]["volume_infused_ml"] == 40.0
    # Clinical order, numbered as recorded: the cetirizine (recorded 4th) shows at 08:15.
    assert outputs[1]["timeline"][2].startswith("#4 08:15:00 (unknown) Premedication cetirizine")
    assert outputs[1]["timeline"][2].endswith("[charted late at 09:05:00]")
    # A rate change recorded before its infusion started is refused (exit 3, same as before).
    refused = runner.invoke(session_app, ["replay", _write(tmp_path, late_start)])
    assert refused.exit_code == 3


def test_times_beyond_the_years_a_chart_can_hold_are_malformed(tmp_path: Path) -> None:
    for at in ("9999-12-31T23:00:00-05:00", "1066-10-14T09:00:00+00:00"):
        result = runner.invoke(
            session_app, ["replay", _write(tmp_path, [{**COMMANDS[0], "at": at}])]
        )
        assert result.exit_code == 2, result.output
        assert "between 1900 and 2200" in result.output
