"""``msinfusion schedule``: the JSON contract, instance files, charts and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from msinfusion.entrypoints.schedule_cli import schedule_app

runner = CliRunner()
GENERATED = ["day", "--date", "2026-03-02", "--generate", "10", "--seed", "1"]


def test_day_json_lists_every_visit_and_the_metrics() -> None:
    result = runner.invoke(
        schedule_app,
        [
            *GENERATED,
            "--solver",
            "cpsat",
            "--time-limit",
            "1",
            "--workers",
            "1",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert view["violations"] == []
    booked = [v for v in view["visits"] if v["booked"]]
    assert booked
    assert {"chair", "start", "end", "nurse_tasks"} <= set(booked[0])
    assert {t["kind"] for t in booked[0]["nurse_tasks"]} >= {"setup", "discharge"}
    metrics = view["metrics"]
    assert metrics["status"] in {"optimal", "feasible"}
    assert isinstance(metrics["bound_gap"], float)
    for key in ("overtime_min", "total_wait_min", "peak_nurse_load", "visits_booked"):
        assert key in metrics


def test_saved_instance_gives_the_same_greedy_day_and_a_chart(tmp_path: Path) -> None:
    saved, chart = tmp_path / "day.json", tmp_path / "day.png"
    first = runner.invoke(
        schedule_app,
        [*GENERATED, "--solver", "greedy", "--format", "json", "--save-instance", str(saved)],
    )
    assert first.exit_code == 0, first.output
    again = runner.invoke(
        schedule_app,
        [
            "day",
            "--date",
            "2026-03-02",
            "--instance",
            str(saved),
            "--solver",
            "greedy",
            "--format",
            "json",
            "--plot",
            str(chart),
        ],
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["visits"] == json.loads(first.stdout)["visits"]
    assert chart.read_bytes()[:4] == b"\x89PNG"


def test_table_output_for_people() -> None:
    result = runner.invoke(schedule_app, [*GENERATED, "--solver", "greedy"])
    assert result.exit_code == 0, result.output
    assert "status" in result.stdout
    assert "peak nurse load" in result.stdout


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    neither = runner.invoke(schedule_app, ["day", "--date", "2026-03-02"])
    assert neither.exit_code == 2
    assert "--instance" in neither.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "msinfusion-day/1", "date": "2026-03-02"}))
    result = runner.invoke(schedule_app, ["day", "--date", "2026-03-02", "--instance", str(bad)])
    assert result.exit_code == 2
    assert "chairs: is required" in result.stderr
    wrong_day = runner.invoke(schedule_app, ["day", "--date", "2026-13-02", "--generate", "3"])
    assert wrong_day.exit_code == 2


def test_weeks_json_keeps_links() -> None:
    result = runner.invoke(
        schedule_app,
        [
            "weeks",
            "--start",
            "2026-03-02",
            "--weeks",
            "1",
            "--generate",
            "4",
            "--solver",
            "greedy",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert len(view["days"]) == 5
    assert view["metrics"]["links_total"] == len(view["links"])
    assert {v["rule"] for v in view["violations"]} <= {"mandatory-unbooked", "link-half-booked"}
