"""``msinfusion schedule``: the JSON contract, instance files, charts and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
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
    assert view["violations"] == []
    assert view["metrics"]["status"] == "feasible"


def _weeks_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(
        schedule_app, ["weeks", "--start", "2026-03-02", "--format", "json", *args]
    )
    assert result.exit_code == 0, result.output
    view: dict[str, Any] = json.loads(result.stdout)
    return view


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_weeks_says_feasible_only_without_violations(seed: int) -> None:
    # Regression (issue 22): "feasible" with 21-28 link-half-booked violations listed.
    view = _weeks_json(
        "--weeks", "2", "--generate", "10", "--seed", str(seed), "--solver", "greedy"
    )
    assert view["metrics"]["status"] == "feasible"
    assert view["violations"] == []
    assert view["metrics"]["links_kept"] <= view["metrics"]["links_total"]


def test_weeks_with_cpsat_says_feasible_only_without_violations() -> None:
    view = _weeks_json(
        "--weeks", "2", "--generate", "6", "--seed", "5", "--time-limit", "0.2", "--workers", "1"
    )
    if view["metrics"]["status"] == "feasible":
        assert view["violations"] == []
    else:
        assert view["message"]
