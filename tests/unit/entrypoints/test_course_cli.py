"""``course plan``, ``course check`` and ``risk pml`` through Typer's CliRunner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msinfusion.entrypoints.course_cli import course_app, risk_app

runner = CliRunner()


def test_plan_json_has_the_documented_dose_fields() -> None:
    result = runner.invoke(
        course_app, ["plan", "ocrelizumab", "--start", "2027-08-29", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    doses = json.loads(result.output)["doses"]
    assert {
        k: doses[2][k] for k in ("protocol_id", "dose_number", "earliest", "due", "latest")
    } == {
        "protocol_id": "ocrelizumab-600-standard",
        "dose_number": 3,
        "earliest": "2028-02-12",
        "due": "2028-02-29",
        "latest": "2028-02-29",
    }


def test_plan_options_and_table() -> None:
    result = runner.invoke(
        course_app,
        [
            "plan",
            "natalizumab",
            "--start",
            "2026-01-05",
            "--option",
            "interval=6w",
            "--option",
            "acknowledge_off_label=yes",
            "--option",
            "doses=2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "OFF-LABEL" in result.output
    assert "2026-02-16" in result.output


def test_plan_ics_is_rfc5545_shaped() -> None:
    result = runner.invoke(
        course_app,
        ["plan", "ublituximab", "--start", "2026-01-05", "--option", "doses=3", "--format", "ics"],
    )
    assert result.exit_code == 0, result.output
    text = result.stdout_bytes.decode("utf-8")  # .output folds CRLF to LF
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
    assert text.endswith("END:VCALENDAR\r\n")
    assert text.count("BEGIN:VEVENT") == 3
    assert "DTSTART;VALUE=DATE:20260622\r\n" in text
    assert "DTEND;VALUE=DATE:20260623\r\n" in text
    assert re.search(r"DTSTAMP:\d{8}T\d{6}Z\r\n", text)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert "\\, dose 3" in text  # commas escaped


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "ocrelizumab", "--start", "05/01/2026"],
        ["plan", "ocrelizumab", "--start", "2026-01-05", "--option", "doses"],
        ["plan", "ocrelizumab", "--start", "2026-01-05", "--option", "colour=blue"],
        ["plan", "aspirin", "--start", "2026-01-05"],
        ["plan", "rituximab", "--start", "2026-01-05"],
        ["plan", "ocrelizumab", "--start", "2026-01-05", "--format", "pdf"],
    ],
)
def test_plan_bad_input_exits_2(args: list[str]) -> None:
    result = runner.invoke(course_app, args)
    assert result.exit_code == 2


def _check_file(tmp_path: Path, patient: dict[str, object], **order: object) -> Path:
    body = {
        "as_of": "2026-07-01",
        "order": {
            "therapy_id": "ocrelizumab",
            "start": "2026-01-05",
            "given": [
                {"dose_number": 1, "on": "2026-01-05"},
                {"dose_number": 2, "on": "2026-01-19"},
            ],
        }
        | order,
        "patient": patient,
    }
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(body))
    return path


def test_check_passes_and_reports_risks(tmp_path: Path) -> None:
    path = _check_file(
        tmp_path,
        {
            "id": "p1",
            "findings": [{"name": "active_infection", "on": "2026-07-01", "present": False}],
            "labs": [{"test": "serum_immunoglobulins", "on": "2025-12-20"}],
        },
    )
    result = runner.invoke(course_app, ["check", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    view = json.loads(result.output)
    assert [g["gate_id"] for g in view["gates"]] == ["active_infection"]
    assert view["blocked"] is False
    assert view["risks"]["anti_cd20_repletion"]["median_repletion_date"] == "2027-06-07"
    assert view["calendar"]["doses"][2]["status"] == "due"


def test_check_blocked_exits_3_and_still_prints(tmp_path: Path) -> None:
    path = _check_file(
        tmp_path,
        {
            "id": "p1",
            "findings": [{"name": "active_infection", "on": "2026-07-01", "present": True}],
        },
    )
    result = runner.invoke(course_app, ["check", str(path)])
    assert result.exit_code == 3
    assert "active_infection" in result.output


@pytest.mark.parametrize("content", ["{not json", "[]", json.dumps({"as_of": "x", "order": {}})])
def test_check_bad_files_exit_2(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert runner.invoke(course_app, ["check", str(path)]).exit_code == 2
    assert runner.invoke(course_app, ["check", str(tmp_path / "absent.json")]).exit_code == 2


def test_check_refuses_an_early_dose(tmp_path: Path) -> None:
    path = _check_file(
        tmp_path,
        {"id": "p1"},
        given=[{"dose_number": 1, "on": "2026-01-05"}, {"dose_number": 2, "on": "2026-01-10"}],
    )
    result = runner.invoke(course_app, ["check", str(path)])
    assert result.exit_code == 2
    assert "earliest date 2026-01-19" in result.output


def test_pml_json() -> None:
    result = runner.invoke(
        risk_app,
        [
            "pml",
            "--jcv-index",
            "1.2",
            "--prior-immunosuppressant",
            "no",
            "--months",
            "30",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    view = json.loads(result.output)
    assert view["risk_per_1000"] == 1.1
    assert view["band"] == {
        "row": "positive-no-is-index-low",
        "index": "<= 1.5",
        "months": "25-48 months",
    }
    assert "https://pro.uptodatefree.ir/Show/55637" in view["source"]


def test_pml_table_and_negative() -> None:
    result = runner.invoke(
        risk_app,
        ["pml", "--jcv-status", "negative", "--prior-immunosuppressant", "yes", "--months", "12"],
    )
    assert result.exit_code == 0
    assert "~0.06 per 1000" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["pml", "--prior-immunosuppressant", "no", "--months", "30"],
        ["pml", "--jcv-index", "high", "--prior-immunosuppressant", "no", "--months", "30"],
        ["pml", "--jcv-index", "1.2", "--prior-immunosuppressant", "maybe", "--months", "30"],
        ["pml", "--jcv-index", "1.2", "--prior-immunosuppressant", "no", "--months", "-4"],
        ["pml", "--jcv-index", "nan", "--prior-immunosuppressant", "no", "--months", "4"],
    ],
)
def test_pml_bad_input_exits_2(args: list[str]) -> None:
    assert runner.invoke(risk_app, args).exit_code == 2
