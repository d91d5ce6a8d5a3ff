"""``catalog drug-library`` and ``pumps ...``: the interface contracts of issue 21."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from typer.testing import CliRunner

from msinfusion.catalog import shipped_catalog
from msinfusion.entrypoints.cli import app

runner = CliRunner()
CONTRACT = (
    "protocol_id",
    "drug",
    "concentration_mg_per_ml",
    "rate_hard_max_ml_per_h",
    "volume_ml",
    "verified",
)


def test_the_json_library_has_one_entry_per_protocol_with_the_cited_limits() -> None:
    done = runner.invoke(app, ["catalog", "drug-library", "--format", "json"])
    assert done.exit_code == 0, done.output
    document = json.loads(done.output)
    entries = {e["protocol_id"]: e for e in document["entries"]}
    assert set(entries) == {p.id for p in shipped_catalog().protocols()}
    assert all(all(key in e for key in CONTRACT) for e in entries.values())
    rituximab = entries["rituximab-1000-first"]
    assert (rituximab["drug"], rituximab["concentration_mg_per_ml"]) == ("rituximab", "2")
    assert (rituximab["rate_hard_max_ml_per_h"], rituximab["volume_ml"]) == ("200", "500")
    assert [s["rate_ml_per_h"] for s in rituximab["steps"]] == [
        "25",
        "50",
        "75",
        "100",
        "125",
        "150",
        "175",
        "200",
    ]
    short = entries["ocrelizumab-600-short"]
    assert (short["verified"], short["unverified"]) == (False, ["steps"])
    assert entries["mitoxantrone-12-per-m2"]["concentration_mg_per_ml"] is None  # none cited
    assert len(document["library_version"]) == 16


def test_the_csv_has_a_row_per_protocol_and_step() -> None:
    done = runner.invoke(app, ["catalog", "drug-library", "--format", "csv"])
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(io.StringIO(done.output)))
    steps = sum(len(p.ladder.steps) for p in shipped_catalog().protocols())
    assert len(rows) == steps
    assert set(CONTRACT) <= set(rows[0])
    ublituximab = [r for r in rows if r["protocol_id"] == "ublituximab-450"]
    assert [(r["step_start_min"], r["step_rate_ml_per_h"]) for r in ublituximab] == [
        ("0", "100"),
        ("30", "400"),
    ]
    assert all(
        Decimal(r["step_rate_ml_per_h"]) <= Decimal(r["rate_hard_max_ml_per_h"]) for r in rows
    )


def test_unverified_limits_are_refused_when_asked() -> None:
    done = runner.invoke(app, ["catalog", "drug-library", "--refuse-unverified"])
    assert done.exit_code == 1
    assert "ocrelizumab-600-short (steps)" in done.output


def test_the_pump_commands_document_themselves() -> None:
    for command in (["pumps", "simulate", "--help"], ["pumps", "listen", "--help"]):
        done = runner.invoke(app, command)
        assert done.exit_code == 0, done.output
    assert "PCD-10" in runner.invoke(app, ["pumps", "listen", "--help"]).output
    bad = runner.invoke(app, ["pumps", "simulate", "--manual-rate", "ten", "--duration", "0.1"])
    assert bad.exit_code == 2
    assert "--manual-rate" in bad.output
