"""Patient-page form fields to clinical entry items: shape only, each error naming its field."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from msinfusion.adapters.web.ui.clinical_forms import FORM_READERS, item_from_form
from msinfusion.errors import InvalidCommand


def test_a_lab_form_keeps_what_was_answered_and_reads_numbers_and_words() -> None:
    item = item_from_form(
        "lab",
        {
            "test": "anti_jcv",
            "on": "2026-03-02",
            "value": " 2.05 ",
            "positive": "positive",
            "abnormal": "",
            "assay": "STRATIFY JCV",
            "csrf_token": "ignored",
            "recorded_by": "someone else",  # not a lab field: never passed on
        },
    )
    assert item == {
        "test": "anti_jcv",
        "on": "2026-03-02",
        "assay": "STRATIFY JCV",
        "value": 2.05,
        "positive": True,
    }
    assert item_from_form("lab", {"test": "lvef_pct", "on": "2026-03-02", "value": "55"}) == {
        "test": "lvef_pct",
        "on": "2026-03-02",
        "value": 55,
    }
    assert item_from_form("lab", {"test": "alt", "abnormal": "yes"})["abnormal"] is True


@pytest.mark.parametrize(
    ("kind", "fields", "field"),
    [
        ("lab", {"value": "4,5"}, "value"),
        ("lab", {"value": "NaN"}, "value"),
        ("lab", {"positive": "maybe"}, "positive"),
        ("finding", {"present": "perhaps"}, "present"),
        ("vaccination", {"live": "true"}, "live"),
        ("profile", {"can_become_pregnant": "y"}, "can_become_pregnant"),
        ("given-dose", {"dose_number": "2.5"}, "dose_number"),
        ("given-dose", {"mg_per_m2": "twelve"}, "mg_per_m2"),
    ],
)
def test_a_malformed_field_is_refused_by_name(
    kind: str, fields: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidCommand) as refused:
        item_from_form(kind, fields)
    assert refused.value.field == field


def test_profile_answers_are_only_those_given_and_unknown_clears() -> None:
    item = item_from_form(
        "profile",
        {
            "can_become_pregnant": "no",
            "prior_immunosuppressant": "unknown",
            "vaccination_history_reviewed": "",
            "relapse_onset": "",
            "on": "2026-03-02",
        },
    )
    assert item == {
        "can_become_pregnant": False,
        "prior_immunosuppressant": None,
        "on": "2026-03-02",
    }


def test_the_other_forms_pass_their_own_fields_only() -> None:
    assert item_from_form(
        "given-dose", {"order_id": "order-1", "dose_number": "3", "on": "2026-02-28"}
    ) == {"order_id": "order-1", "on": "2026-02-28", "dose_number": 3}
    assert item_from_form(
        "override",
        {"gate_id": "hbv_anti_hbc", "on": "2026-03-02", "justification": " ok ", "x": "y"},
    ) == {"gate_id": "hbv_anti_hbc", "on": "2026-03-02", "justification": "ok"}
    assert item_from_form("retraction", {"entry_id": "entry-1", "reason": "  "}) == {
        "entry_id": "entry-1"
    }
    assert set(FORM_READERS) == {
        "lab",
        "finding",
        "vaccination",
        "profile",
        "given-dose",
        "override",
        "retraction",
        "programme-form",
    }
    assert item_from_form(
        "programme-form",
        {
            "form": "touch-pre-infusion-checklist",
            "order_id": "order-1",
            "dose_number": "3",
            "on": "2026-03-02",
            "infused": "",
            "answer_authorized": "yes",
            "answer_immune_medicine": "no",
            "answer_immune_condition": "",
            "other": "x",
        },
    ) == {
        "form": "touch-pre-infusion-checklist",
        "order_id": "order-1",
        "on": "2026-03-02",
        "dose_number": 3,
        "answers": {"authorized": True, "immune_medicine": False},
    }


@given(st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-1e6, max_value=1e6))
def test_a_lab_value_reads_back_as_the_number_typed(value: Decimal) -> None:
    typed = str(value)
    read = item_from_form("lab", {"value": typed})["value"]
    assert isinstance(read, int | float)
    assert not isinstance(read, bool)
    assert Decimal(str(read)) == Decimal(typed)
