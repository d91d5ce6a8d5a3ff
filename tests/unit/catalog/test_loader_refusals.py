"""Every refusal of the loader names the file, the field and the reason."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from msinfusion.catalog import Catalog, load_therapy_file, load_therapy_text
from msinfusion.catalog.loader import build_therapy
from msinfusion.errors import CatalogError, InvalidTherapyFile
from tests.conftest import raw_therapy

FILE = "broken.toml"


def refuse(raw: dict[str, Any]) -> InvalidTherapyFile:
    with pytest.raises(InvalidTherapyFile) as caught:
        build_therapy(raw, file=FILE)
    assert caught.value.message.startswith(f"{FILE}: ")
    return caught.value


def protocol(raw: dict[str, Any], index: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = raw["protocols"][index]
    return result


def test_the_unmodified_file_loads() -> None:
    therapy = build_therapy(raw_therapy(), file=FILE)
    assert [p.id for p in therapy.protocols] == [
        "ocrelizumab-300-initial",
        "ocrelizumab-600-standard",
        "ocrelizumab-600-short",
    ]


def test_unknown_key_is_refused() -> None:
    raw = raw_therapy()
    protocol(raw)["infusion_speed"] = 5
    error = refuse(raw)
    assert error.problems == (
        ("protocols[0].infusion_speed", "unknown key (not part of the therapy file schema)"),
    )


def test_unknown_key_inside_a_cited_number_is_refused() -> None:
    raw = raw_therapy()
    protocol(raw)["bag_volume_ml"]["unit"] = "L"
    assert refuse(raw).problems[0][0] == "protocols[0].bag_volume_ml.unit"


def test_missing_sources_are_refused() -> None:
    raw = raw_therapy()
    del protocol(raw)["max_rate_ml_per_h"]["sources"]
    assert refuse(raw).problems == (
        ("protocols[0].max_rate_ml_per_h.sources", "required field is missing"),
    )


def test_empty_source_list_is_refused() -> None:
    raw = raw_therapy()
    protocol(raw)["max_rate_ml_per_h"]["sources"] = []
    (field, reason), *_ = refuse(raw).problems
    assert field == "protocols[0].max_rate_ml_per_h.sources"
    assert "at least 1" in reason


def test_unknown_source_id_is_refused() -> None:
    raw = raw_therapy()
    protocol(raw)["max_rate_ml_per_h"]["sources"] = ["my-memory"]
    error = refuse(raw)
    assert (
        "protocols[ocrelizumab-300-initial].max_rate_ml_per_h.sources",
        "unknown source id 'my-memory'",
    ) in (error.problems)
    assert (
        "broken.toml: protocols[ocrelizumab-300-initial].max_rate_ml_per_h.sources" in error.message
    )


def test_source_without_a_web_address_is_refused() -> None:
    raw = raw_therapy()
    raw["sources"]["drugs-com"]["url"] = "drugs.com somewhere"
    assert refuse(raw).problems[0][0] == "sources.drugs-com.url"


def test_uncited_source_is_refused() -> None:
    raw = raw_therapy()
    raw["sources"]["orphan"] = {"url": "https://example.org/x", "evidence": "S"}
    assert ("sources.orphan", "source is never cited; remove it or cite it") in refuse(raw).problems


def test_rate_above_the_maximum_is_refused() -> None:
    raw = raw_therapy()
    protocol(raw)["ladder"]["steps"][5] = [150, 240]
    error = refuse(raw)
    assert (
        "protocols[ocrelizumab-300-initial].ladder.steps[5]",
        "rate 240 mL/h exceeds max_rate_ml_per_h 180",
    ) in error.problems


def test_steps_that_cannot_deliver_the_bag_are_refused() -> None:
    raw = raw_therapy()
    # 90 mL by minute 90, then 10 mL at 120 mL/h = 5 min:
    # empty at minute 95, before step 5 (index 4)
    protocol(raw)["bag_volume_ml"]["value"] = 100
    protocol(raw)["concentration_mg_per_ml"]["value"] = 3
    protocol(raw).pop("expected_duration_min")
    error = refuse(raw)
    field, reason = error.problems[0]
    assert field == "protocols[ocrelizumab-300-initial].ladder.steps[4]"
    assert "empty at minute 95.0" in reason
    assert "cannot match the bag" in reason


def test_expected_duration_must_match_the_arithmetic() -> None:
    raw = raw_therapy()
    protocol(raw)["expected_duration_min"]["value"] = 150  # the label's rounded figure
    ((field, reason),) = refuse(raw).problems
    assert field == "protocols[ocrelizumab-300-initial].expected_duration_min"
    assert reason == "the ladder empties the bag at minute 158.33, not at the stated 150"


def test_steps_out_of_order_are_refused() -> None:
    raw = raw_therapy()
    protocol(raw)["ladder"]["steps"][2] = [20, 90]
    assert refuse(raw).problems[0] == (
        "protocols[ocrelizumab-300-initial].ladder.steps[2]",
        "starts at minute 20, not after the previous step (minute 30)",
    )


def test_ladder_must_start_at_minute_zero() -> None:
    raw = raw_therapy()
    protocol(raw)["ladder"]["steps"][0] = [5, 30]
    assert refuse(raw).problems[0][0] == "protocols[ocrelizumab-300-initial].ladder.steps[0]"


def test_premedication_window_backwards_is_refused() -> None:
    raw = raw_therapy()
    window = protocol(raw)["premedications"][1]["window"]
    window["min_before_start_min"]["value"] = 90
    assert (
        "protocols[ocrelizumab-300-initial].premedications[1].window",
        "min_before_start_min 90 is greater than max_before_start_min 60",
    ) in refuse(raw).problems


def test_approximate_window_needs_a_tolerance() -> None:
    raw = raw_therapy()
    del protocol(raw)["premedications"][0]["window"]["tolerance_min"]
    assert (
        refuse(raw).problems[0][0]
        == "protocols[ocrelizumab-300-initial].premedications[0].window.tolerance_min"
    )


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("bag_volume_ml",), -250, "protocols[0].bag_volume_ml.value"),
        (("max_rate_ml_per_h",), 0, "protocols[0].max_rate_ml_per_h.value"),
        (("dose", "mg"), Decimal("-300"), "protocols[0].dose.mg.value"),
    ],
)
def test_negative_or_zero_quantities_are_refused(
    path: tuple[str, ...], value: Any, field: str
) -> None:
    raw = raw_therapy()
    target = protocol(raw)
    for key in path:
        target = target[key]
    target["value"] = value
    (got_field, reason), *_ = refuse(raw).problems
    assert got_field == field
    assert "greater than 0" in reason


def test_zero_rate_step_is_refused() -> None:
    raw = raw_therapy()
    protocol(raw)["ladder"]["steps"][1] = [30, 0]
    assert refuse(raw).problems[0][0] == "protocols[0].ladder.steps[1][1]"


def test_missing_reaction_rule_is_refused() -> None:
    raw = raw_therapy()
    rules = protocol(raw)["reaction_rules"]
    rules[1] = dict(rules[0])  # two "mild" rules, no "moderate"
    assert (
        "protocols[ocrelizumab-300-initial].reaction_rules",
        "exactly one rule for 'moderate' is required",
    ) in refuse(raw).problems


def test_life_threatening_reaction_must_discontinue() -> None:
    raw = raw_therapy()
    protocol(raw)["reaction_rules"][3]["discontinue_therapy"] = False
    assert (
        "protocols[ocrelizumab-300-initial].reaction_rules[life-threatening]",
        "a life-threatening reaction must stop the infusion and discontinue therapy",
    ) in refuse(raw).problems


def test_stop_cannot_resume() -> None:
    raw = raw_therapy()
    protocol(raw)["reaction_rules"][3]["may_resume"] = True
    assert refuse(raw).problems[0][0] == (
        "protocols[ocrelizumab-300-initial].reaction_rules[life-threatening].may_resume"
    )


def test_observation_rules_must_cover_every_dose_number() -> None:
    raw = raw_therapy()
    rule = protocol(raw)["observation"][0]
    protocol(raw)["observation"] = [
        dict(rule, from_dose_number=1, to_dose_number=2),
        dict(rule, from_dose_number=4),
    ]
    assert refuse(raw).problems[0] == (
        "protocols[ocrelizumab-300-initial].observation[1]",
        "dose numbers must be covered without gap or overlap: expected from 3, found 4",
    )


def test_dose_needs_exactly_one_form() -> None:
    raw = raw_therapy()
    protocol(raw)["dose"]["mg_per_m2"] = {"value": 12, "sources": ["drugs-com"]}
    assert refuse(raw).problems[0] == (
        "protocols[ocrelizumab-300-initial].dose",
        "give exactly one of mg (fixed dose) or mg_per_m2 (BSA-based dose)",
    )


def test_stated_concentration_must_match_dose_and_bag() -> None:
    raw = raw_therapy()
    protocol(raw)["concentration_mg_per_ml"]["value"] = Decimal("2.4")
    assert refuse(raw).problems[0] == (
        "protocols[ocrelizumab-300-initial].concentration_mg_per_ml",
        "dose/bag gives 1.200 mg/mL, not the stated 2.4 mg/mL",
    )


def test_schedule_must_name_known_protocols() -> None:
    raw = raw_therapy()
    raw["schedule"][0]["protocol_ids"] = ["ocrelizumab-900"]
    assert (
        "schedule[0].protocol_ids",
        "unknown protocol id 'ocrelizumab-900' in this therapy",
    ) in refuse(raw).problems


def test_every_problem_is_reported_at_once() -> None:
    raw = raw_therapy()
    protocol(raw)["ladder"]["steps"][5] = [150, 240]
    protocol(raw, 1)["premedications"][1]["window"]["min_before_start_min"]["value"] = 90
    fields = [field for field, _ in refuse(raw).problems]
    assert "protocols[ocrelizumab-300-initial].ladder.steps[5]" in fields
    assert "protocols[ocrelizumab-600-standard].premedications[1].window" in fields


def test_bad_toml_names_the_file() -> None:
    with pytest.raises(InvalidTherapyFile) as caught:
        load_therapy_text("id = = 3", file="typo.toml")
    assert caught.value.problems[0][0] == "toml"
    assert caught.value.message.startswith("typo.toml: toml: not valid TOML")


def test_unreadable_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidTherapyFile) as caught:
        load_therapy_file(tmp_path / "missing.toml")
    assert caught.value.message.startswith("missing.toml: file: cannot be read")


def test_duplicate_protocol_ids_across_therapies_are_refused() -> None:
    first = build_therapy(raw_therapy(), file="a.toml")
    second = build_therapy(raw_therapy(), file="b.toml")
    with pytest.raises(CatalogError) as caught:
        Catalog.from_therapies([first, second])
    assert caught.value.field == "protocols[ocrelizumab-300-initial].id"
    assert "also defined in a.toml" in caught.value.message


def test_placeholder_code_is_refused() -> None:
    raw = raw_therapy()
    raw["codes"][0]["value"] = "unknown"
    (field, reason), *_ = refuse(raw).problems
    assert field == "codes[0].value"
    assert "left out" in reason
