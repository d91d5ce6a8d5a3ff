"""The shipped catalog as a whole: the contracted protocol ids, citations, names."""

from __future__ import annotations

import pytest

from msinfusion.catalog import Catalog, Mechanism
from msinfusion.errors import ProtocolNotFound
from tests.catalog_walk import cited_values

CONTRACT_IDS = {
    "ocrelizumab-300-initial",
    "ocrelizumab-600-standard",
    "ocrelizumab-600-short",
    "ublituximab-150-day1",
    "ublituximab-450",
    "natalizumab-300",
    "alemtuzumab-12",
    "rituximab-1000-first",
    "rituximab-1000-subsequent",
    "mitoxantrone-12-per-m2",
    "methylprednisolone-1000",
}


def test_every_contracted_protocol_id_ships(catalog: Catalog) -> None:
    assert {p.id for p in catalog.protocols()} == CONTRACT_IDS


def test_every_clinical_number_has_a_web_source(catalog: Catalog) -> None:
    for therapy in catalog:
        cited = cited_values(therapy)
        assert len(cited) >= 5, therapy.id  # dose, bag, maximum rate, observation at least
        for _, value in cited:
            assert value.sources, (therapy.id, value)
            assert all(s.url.startswith(("http://", "https://")) for s in value.sources)


def test_ladders_and_rules_are_cited(catalog: Catalog) -> None:
    for protocol in catalog.protocols():
        assert protocol.ladder.sources, protocol.id
        assert all(rule.sources for rule in protocol.reaction_rules), protocol.id
        assert all(premed.sources for premed in protocol.premedications), protocol.id


def test_every_protocol_has_version_and_review_date(catalog: Catalog) -> None:
    for protocol in catalog.protocols():
        assert protocol.version.count(".") == 2
        assert protocol.review_date.year >= 2026


def test_mechanisms_of_the_three_antibody_classes(catalog: Catalog) -> None:
    assert catalog.get_therapy("ocrelizumab").mechanism is Mechanism.ANTI_CD20_B_CELL_DEPLETION
    assert catalog.get_therapy("ublituximab").mechanism is Mechanism.ANTI_CD20_B_CELL_DEPLETION
    assert catalog.get_therapy("rituximab").mechanism is Mechanism.ANTI_CD20_B_CELL_DEPLETION
    assert catalog.get_therapy("natalizumab").mechanism is Mechanism.ANTI_VLA4_MIGRATION_BLOCKING
    assert catalog.get_therapy("alemtuzumab").mechanism is Mechanism.ANTI_CD52_LYMPHOCYTE_DEPLETION


def test_only_rituximab_is_off_label(catalog: Catalog) -> None:
    off_label = {p.id for p in catalog.protocols() if p.off_label}
    assert off_label == {"rituximab-1000-first", "rituximab-1000-subsequent"}


@pytest.mark.parametrize(
    ("name", "therapy_id"),
    [("Ocrevus", "ocrelizumab"), ("TYSABRI", "natalizumab"), ("briumvi", "ublituximab")],
)
def test_brand_names_find_their_therapy(catalog: Catalog, name: str, therapy_id: str) -> None:
    assert [t.id for t in catalog.find_therapies(name)] == [therapy_id]


def test_unknown_ids_are_clear_errors(catalog: Catalog) -> None:
    with pytest.raises(ProtocolNotFound) as caught:
        catalog.get_protocol("ocrelizumab-900")
    assert caught.value.field == "protocol_id"
    with pytest.raises(ProtocolNotFound):
        catalog.get_therapy("fingolimod")
