"""The planning core reads therapy traits from the catalog, never from the drug name."""

from __future__ import annotations

import re
from dataclasses import replace
from importlib import resources

import pytest

from msinfusion.catalog import Catalog
from msinfusion.catalog.registry import shipped_catalog
from msinfusion.errors import CatalogError
from msinfusion.planning import course_data as data
from msinfusion.planning import gate_rules
from msinfusion.planning.course_options import cumulative_plan
from msinfusion.planning.course_plan import BUILDERS, KIND_BUILDERS

MODULES = (
    "monitoring_calendar",
    "course_check",
    "risk",
    "gate_rules",
    "course_options",
    "course_plan",
    "course_builders",
    "course_builders_daily",
)
DRUG = (
    r"(ocrelizumab|natalizumab|alemtuzumab|mitoxantrone|rituximab|ublituximab|methylprednisolone)"
)
BRANCH = re.compile(
    rf'(==|!=)\s*"{DRUG}"|\bin\s*[({{[][^)}}\]]*"{DRUG}"|\{{"{DRUG}"\}}|"{DRUG}":\s*\w|\[\s*"{DRUG}"\s*\]'
)


@pytest.mark.parametrize("module", MODULES)
def test_no_planning_module_branches_on_a_drug_name(module: str) -> None:
    source = resources.files("msinfusion.planning").joinpath(f"{module}.py").read_text()
    assert not BRANCH.search(source), BRANCH.search(source)


def test_builders_follow_the_declared_course_kind(catalog: Catalog) -> None:
    for therapy in catalog:
        assert therapy.planning is not None
        assert BUILDERS[therapy.id] is KIND_BUILDERS[therapy.planning.course_kind]


def test_gate_therapies_come_from_the_therapy_files(catalog: Catalog) -> None:
    listed = {
        (gate_id, therapy.id)
        for therapy in catalog
        if therapy.planning is not None
        for gate_id in therapy.planning.gate_ids
    }
    assert {(g.id, t) for g in gate_rules.GATES for t in g.therapies} == listed
    assert all(g.therapies for g in gate_rules.GATES), "a gate no therapy file lists"
    liver = next(g for g in gate_rules.GATES if g.id == "liver_tests")
    assert liver.therapies == {"ocrelizumab", "ublituximab"}  # US 8/2025 labels, not rituximab


def test_an_unknown_gate_id_in_a_therapy_file_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = shipped_catalog()
    first = shipped.therapies[0]
    assert first.planning is not None
    broken = replace(
        first, planning=replace(first.planning, gate_ids=(*first.planning.gate_ids, "no_gate"))
    )
    fake = Catalog.from_therapies((broken, *shipped.therapies[1:]))
    monkeypatch.setattr(gate_rules, "shipped_catalog", lambda: fake)
    with pytest.raises(CatalogError) as caught:
        gate_rules.check_catalog_gate_ids()
    index = len(first.planning.gate_ids)
    assert str(caught.value) == (
        f"{first.file}: planning.gates[{index}]: unknown gate id 'no_gate'"
    )


def test_the_cited_limits_of_the_calendar_notes_match_the_therapy_file() -> None:
    # The calendar cites course_rules.toml; the limits applied are the therapy file's.
    plan = cumulative_plan("mitoxantrone")
    assert plan is not None
    assert plan.limit_mg_per_m2("US") == data.number("mitoxantrone.cumulative_limit_us") == 140
    assert plan.limit_mg_per_m2("EU") == data.number("mitoxantrone.cumulative_limit_eu") == 72
    assert plan.limit_mg_per_m2(None) == 72  # dossier M1: unknown -> the stricter
    assert plan.dose_mg_per_m2 == 12
    assert cumulative_plan("natalizumab") is None
    assert cumulative_plan("aspirin") is None
