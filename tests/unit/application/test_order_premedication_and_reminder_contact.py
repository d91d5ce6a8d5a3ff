"""Premedication choices stored with the order and offered first at the chair; the reminder
contact on registration (issue 18, orders and registration)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from msinfusion.adapters.web.ui.chairside import ordered_first
from msinfusion.application.order_premedication import checked_premedications
from msinfusion.application.records import Role
from msinfusion.application.reminder_contact import checked_reminder_contact
from msinfusion.catalog.formulary import shipped_formulary
from msinfusion.catalog.registry import shipped_catalog
from msinfusion.errors import InvalidCommand
from msinfusion.session.medication import premedication_choices
from tests.e2e.api.world import NOW, World, actor_for, build_world

ANTIHISTAMINE = "antihistamine (e.g. diphenhydramine)"
ANTIPYRETIC = "antipyretic (e.g. paracetamol/acetaminophen)"
OCRELIZUMAB = shipped_catalog().get_therapy("ocrelizumab")


@pytest.fixture
def world() -> World:
    return build_world()


def test_the_order_stores_the_physicians_premedication_picks(world: World) -> None:
    order = world.centre.records.add_order(
        actor_for(world, Role.PHYSICIAN),
        patient_id=world.ids["other_patient"],
        therapy_id="ocrelizumab",
        start_date=NOW.date() + timedelta(days=7),
        premedications={ANTIHISTAMINE: "cetirizine", ANTIPYRETIC: "none"},
        draft=True,
    )
    stored = world.centre.queries.get_order(actor_for(world, Role.PHYSICIAN), order.id)
    assert stored.premedications == ((ANTIHISTAMINE, "cetirizine"), (ANTIPYRETIC, "none"))


@pytest.mark.parametrize(
    ("picked", "reason"),
    [
        ({ANTIHISTAMINE: "none"}, "a required premedication cannot be left out"),
        ({ANTIHISTAMINE: "paracetamol"}, "'paracetamol' is not one of diphenhydramine, cetirizine"),
        ({"an opioid": "morphine"}, "not a premedication of ocrelizumab's protocols"),
    ],
)
def test_a_pick_outside_the_protocols_lists_is_refused_naming_it(
    picked: dict[str, str], reason: str
) -> None:
    with pytest.raises(InvalidCommand) as refused:
        checked_premedications(OCRELIZUMAB, picked)
    name = next(iter(picked))
    assert refused.value.field == f"premedication:{name}"
    assert reason in refused.value.message


def test_the_chair_offers_the_ordered_drug_first() -> None:
    protocol = shipped_catalog().get_protocol("ocrelizumab-600-standard")
    antihistamine = next(p for p in protocol.premedications if p.drug == ANTIHISTAMINE)
    choices = premedication_choices(antihistamine, shipped_formulary())
    assert [c.drug for c in choices] == ["diphenhydramine", "cetirizine"]
    assert [c.drug for c in ordered_first(choices, "cetirizine")] == [
        "cetirizine",
        "diphenhydramine",
    ]
    first = ordered_first(choices, "cetirizine")[0]
    assert (first.dose, first.route) == ("10 mg", "PO")
    assert ordered_first(choices, None) == choices


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("+41 79 123 45 67", "+41 79 123 45 67"),
        ("  (030) 1234-5678 ", "(030) 1234-5678"),
        ("anna.muster@example.org", "anna.muster@example.org"),
        ("", None),
        (None, None),
    ],
)
def test_a_reminder_contact_is_a_phone_number_or_an_email(
    typed: str | None, kept: str | None
) -> None:
    assert checked_reminder_contact(typed) == kept


@pytest.mark.parametrize(
    "typed", ["12345", "+1 234 567 890 123 456", "call me", "anna@", "anna@example", "a@b@c.org"]
)
def test_a_bad_reminder_contact_is_refused_naming_the_field(typed: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        checked_reminder_contact(typed)
    assert refused.value.field == "reminder_contact"


@given(st.text(max_size=300))
def test_a_contact_is_kept_trimmed_or_refused_never_changed_otherwise(typed: str) -> None:
    try:
        kept = checked_reminder_contact(typed)
    except InvalidCommand as error:
        refused_field = error.field
    else:
        assert kept is None or kept == " ".join(typed.split())
        return
    assert refused_field == "reminder_contact"


def test_registration_stores_and_edits_the_contact(world: World) -> None:
    nurse = actor_for(world, Role.NURSE)
    patient = world.centre.records.add_patient(
        nurse, display_name="Synthetic Patient 09", reminder_contact=" +41 79 123 45 67"
    )
    assert patient.reminder_contact == "+41 79 123 45 67"
    with pytest.raises(InvalidCommand):
        world.centre.records.update_patient(nurse, patient.id, {"reminder_contact": "nope"})
    assert world.centre.queries.get_patient(nurse, patient.id).reminder_contact == (
        "+41 79 123 45 67"
    )
    changed = world.centre.records.update_patient(
        nurse, patient.id, {"reminder_contact": "p09@example.org"}
    )
    assert changed.reminder_contact == "p09@example.org"


def test_the_json_api_takes_the_contact_and_the_premedication_picks(world: World) -> None:
    bad = world.request(
        Role.NURSE, "POST", "/api/patients", json={"display_name": "X", "reminder_contact": "?"}
    )
    assert bad.status_code == 422
    assert "reminder_contact" in bad.text
    made = world.request(
        Role.NURSE,
        "POST",
        "/api/patients",
        json={"display_name": "Synthetic Api", "reminder_contact": "api@example.org"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["reminder_contact"] == "api@example.org"
    order = world.request(
        Role.PHYSICIAN,
        "POST",
        "/api/orders",
        json={
            "patient_id": made.json()["id"],
            "therapy_id": "ocrelizumab",
            "start_date": (NOW.date() + timedelta(days=7)).isoformat(),
            "premedications": {ANTIHISTAMINE: "cetirizine"},
        },
    )
    assert order.status_code == 201, order.text
    assert order.json()["premedications"] == {ANTIHISTAMINE: "cetirizine"}
    refused = world.request(
        Role.PHYSICIAN,
        "POST",
        "/api/orders",
        json={
            "patient_id": made.json()["id"],
            "therapy_id": "ocrelizumab",
            "start_date": (NOW.date() + timedelta(days=7)).isoformat(),
            "premedications": {ANTIHISTAMINE: "none"},
        },
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == f"premedication:{ANTIHISTAMINE}"
