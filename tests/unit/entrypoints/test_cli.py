"""The msinfusion command line: contracts integrators rely on (JSON keys, exit codes)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from msinfusion.entrypoints.cli import app
from tests.conftest import raw_therapy

runner = CliRunner()


def test_plan_json_is_the_integration_contract() -> None:
    result = runner.invoke(
        app,
        [
            "plan",
            "ocrelizumab-300-initial",
            "--start",
            "2026-11-25T09:00:00+01:00",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["protocol_id"] == "ocrelizumab-300-initial"
    assert data["dose_mg"] == 300
    assert data["bag_volume_ml"] == 250
    assert data["concentration_mg_per_ml"] == 1.2
    assert data["infusion_start"] == "2026-11-25T09:00:00+01:00"
    assert data["infusion_end"] == "2026-11-25T11:38:20+01:00"
    assert data["observation_min"] == 60
    assert [s["cumulative_volume_ml"] for s in data["steps"]] == [15, 45, 90, 150, 225, 250]


def test_plan_table_is_for_a_nurse() -> None:
    result = runner.invoke(
        app, ["plan", "ocrelizumab-600-standard", "--start", "2026-11-25T09:00+01:00"]
    )
    assert result.exit_code == 0, result.output
    assert "12:30" in result.stdout  # infusion end
    assert "13:30" in result.stdout  # observation end
    assert "the prescriber have the last word" in result.stdout.replace("\n", " ")


def test_unknown_protocol_exits_2_with_a_clear_message() -> None:
    result = runner.invoke(app, ["plan", "ocrelizumab-9000", "--start", "2026-11-25T09:00+01:00"])
    assert result.exit_code == 2
    assert "unknown protocol id 'ocrelizumab-9000'" in result.stderr


def test_bad_time_exits_2() -> None:
    result = runner.invoke(app, ["plan", "ocrelizumab-300-initial", "--start", "yesterday"])
    assert result.exit_code == 2
    assert "--start: 'yesterday' is not an ISO 8601 date-time" in result.stderr


def test_time_without_offset_exits_2() -> None:
    result = runner.invoke(app, ["plan", "ocrelizumab-300-initial", "--start", "2026-11-25T09:00"])
    assert result.exit_code == 2
    assert "has no UTC offset" in result.stderr


def test_ineligible_dose_number_exits_2() -> None:
    result = runner.invoke(
        app, ["plan", "ocrelizumab-600-short", "--start", "2026-11-25T09:00Z", "--dose-number", "1"]
    )
    assert result.exit_code == 2
    assert "dose_number 1 is below 3" in result.stderr


def test_catalog_list_json_names_every_protocol() -> None:
    result = runner.invoke(app, ["catalog", "list", "--format", "json"])
    assert result.exit_code == 0
    ids = {row["protocol_id"] for row in json.loads(result.stdout)}
    assert {"ocrelizumab-300-initial", "ocrelizumab-600-standard", "ocrelizumab-600-short"} <= ids


def test_catalog_show_prints_sources() -> None:
    result = runner.invoke(app, ["catalog", "show", "ocrelizumab-600-short"])
    assert result.exit_code == 0
    assert "https://www.compendium.ch/news/22442" in result.stdout


def test_catalog_validate_accepts_a_good_file(tmp_path: Path) -> None:
    from importlib import resources

    good = tmp_path / "ocrelizumab.toml"
    good.write_text(
        resources.files("msinfusion.catalog").joinpath("data", "ocrelizumab.toml").read_text()
    )
    result = runner.invoke(app, ["catalog", "validate", str(good)])
    assert result.exit_code == 0
    assert "valid" in result.stdout


def test_catalog_validate_names_field_and_reason(tmp_path: Path) -> None:
    from importlib import resources

    text = resources.files("msinfusion.catalog").joinpath("data", "ocrelizumab.toml").read_text()
    bad = tmp_path / "edited.toml"
    bad.write_text(text.replace("[150, 180]]", "[150, 240]]", 1))
    result = runner.invoke(app, ["catalog", "validate", str(bad)])
    assert result.exit_code == 1
    expected = "rate 240 mL/h exceeds max_rate_ml_per_h 180"
    assert f"protocols[ocrelizumab-300-initial].ladder.steps[5]: {expected}" in result.stderr
    assert raw_therapy()  # the shipped file itself is untouched


def test_catalog_schema_is_json_schema_for_authors() -> None:
    result = runner.invoke(app, ["catalog", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "protocols" in schema["properties"]
    assert schema["additionalProperties"] is False


def test_catalog_show_lists_premedication_and_observation() -> None:
    result = runner.invoke(app, ["catalog", "show", "natalizumab-300"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "post-infusion observation" in result.stdout
    assert "1-12" in result.stdout  # 60 min for infusions 1-12 (US label since 10/2023)
    assert "13+" in result.stdout


def test_catalog_list_marks_off_label_in_words_not_only_colour() -> None:
    result = runner.invoke(app, ["catalog", "list"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    rituximab = [line for line in result.stdout.splitlines() if "rituximab-1000-first" in line]
    assert rituximab
    assert "off-label" in rituximab[0]
