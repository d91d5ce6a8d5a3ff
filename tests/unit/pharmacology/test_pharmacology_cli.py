"""``simulate`` and ``tdm`` through Typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msinfusion.entrypoints.pharmacology_cli import pharmacology_app

runner = CliRunner()
START = "2026-01-05T09:00:00+00:00"


def test_simulate_json_has_intervals_and_half_life() -> None:
    result = runner.invoke(
        pharmacology_app,
        [
            "simulate",
            "natalizumab",
            "--interval",
            "6w",
            "--years",
            "0.5",
            "--start",
            START,
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    first = data["summary"]["intervals"][0]
    assert {"start", "cmax_ug_per_ml", "trough_ug_per_ml", "auc_ug_day_per_ml"} <= set(first)
    assert first["start"] == START
    assert data["summary"]["intervals"][1]["start_day"] == 42.0
    assert data["summary"]["terminal_half_life_day"] > 0


def test_population_run_writes_percentiles_csv_and_plot(tmp_path: Path) -> None:
    plot = tmp_path / "ocr.svg"
    result = runner.invoke(
        pharmacology_app,
        [
            "simulate",
            "ocrelizumab",
            "--patients",
            "120",
            "--years",
            "1",
            "--seed",
            "4",
            "--start",
            START,
            "--plot",
            str(plot),
            "--format",
            "csv",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split(",")[-1] == "b_cells_per_ul_p95"
    assert plot.read_text().startswith("<?xml")


def test_simulate_refuses_bad_input() -> None:
    for args in (
        ["simulate", "aspirin"],
        ["simulate", "natalizumab", "--interval", "soon"],
        ["simulate", "natalizumab", "--plot", "x.pdf", "--years", "0.1"],
    ):
        result = runner.invoke(pharmacology_app, args)
        assert result.exit_code == 2, args
        assert "error:" in result.output


def test_tdm_from_files(tmp_path: Path) -> None:
    history = tmp_path / "history.json"
    infusions = [
        {"protocol": "natalizumab-300", "start": f"2026-{m:02d}-02T09:00:00+00:00"}
        for m in (1, 2, 3)
    ]
    history.write_text(json.dumps({"infusions": infusions}))
    levels = tmp_path / "levels.csv"
    levels.write_text("time,conc_ug_per_ml\n2026-03-01T08:00:00+00:00,14.0\n")
    result = runner.invoke(
        pharmacology_app,
        [
            "tdm",
            "natalizumab",
            "--history",
            str(history),
            "--levels",
            str(levels),
            "--target",
            "10",
            "--samples",
            "20",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["status"] == "converged"
    assert data["recommended_interval_week"] in {None, 4, 5, 6, 7, 8, 9, 10, 11, 12}
    bad = runner.invoke(
        pharmacology_app, ["tdm", "ocrelizumab", "--history", str(history), "--levels", str(levels)]
    )
    assert bad.exit_code == 2


def test_simulate_writes_the_csv_time_course_as_parquet(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    target = tmp_path / "natalizumab.parquet"
    args = ["natalizumab", "--years", "0.25", "--start", "2026-01-05T09:00:00+00:00"]
    written = runner.invoke(
        pharmacology_app, ["simulate", *args, "--format", "parquet", "--output", str(target)]
    )
    assert written.exit_code == 0, written.output
    table = pq.read_table(target)
    as_csv = runner.invoke(
        pharmacology_app, ["simulate", *args, "--format", "csv"]
    ).stdout.splitlines()
    assert table.column_names == as_csv[0].split(",")
    assert table.num_rows == len(as_csv) - 1
    first = [float(v) for v in as_csv[1].split(",")]
    assert [table.column(i)[0].as_py() for i in range(len(first))] == pytest.approx(first, rel=1e-5)


def test_parquet_needs_an_output_file() -> None:
    result = runner.invoke(pharmacology_app, ["simulate", "natalizumab", "--format", "parquet"])
    assert result.exit_code == 2
    assert "--output" in result.stderr
