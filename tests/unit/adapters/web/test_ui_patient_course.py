"""The patient page's course panels and clinical forms, the board's course flags and the chairside
refusal of a dose blocked by its pre-treatment gates, over a TestClient on the synthetic world.

The world (tests/e2e/api/world.py): patient 01 is on ocrelizumab from 24 weeks before NOW with
doses 1-2 recorded as given elsewhere, dose 3 infusing today, first-dose screening on file and
no active infection today. Patients added here are synthetic too.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from msinfusion.application.records import ClinicalEntryKind, Role
from tests.e2e.api.world import NOW, World, actor_for, build_world, identity_fields
from tests.unit.adapters.web.test_ui_routes import page_fields, sign_in

TODAY = NOW.date().isoformat()


@pytest.fixture
def world() -> World:
    return build_world()


def entries(world: World, patient_id: str) -> list[Any]:
    return world.centre.clinical.list_entries(actor_for(world, Role.NURSE), patient_id)


def gate_row(html: str, gate_id: str) -> str:
    row = re.search(rf'<tr class="gate-row[^"]*" data-gate="{gate_id}">.*?</tr>', html, re.DOTALL)
    assert row, f"no {gate_id} row in the gates table"
    return row.group(0)


def new_patient_with_positive_anti_hbc(world: World, *, book: bool = False) -> str:
    """A synthetic patient starting ocrelizumab today whose anti-HBc is positive (dossier A 1.1:
    'liver specialist before and during therapy', a gate the label lets a physician override);
    everything else of the first-dose screening passes. ``book``: dose 1 is on today's board
    (booked before the result, as a booking with a failed gate is refused)."""
    centre = world.centre
    nurse, physician = actor_for(world, Role.NURSE), actor_for(world, Role.PHYSICIAN)
    patient = centre.records.add_patient(
        nurse, display_name="Synthetic Patient 03", height_cm=165, weight_kg=60, synthetic=True
    )
    order = centre.records.add_order(
        physician, patient_id=patient.id, therapy_id="ocrelizumab", start_date=NOW.date()
    )
    if book:
        chair = centre.records.add_chair(actor_for(world, Role.ADMIN), name="Chair 2")
        centre.records.book_appointment(
            nurse,
            patient_id=patient.id,
            chair_id=chair.id,
            protocol_id="ocrelizumab-300-initial",
            dose_number=1,
            starts_at=NOW + timedelta(hours=1),
            order_id=order.id,
        )
    screened = (NOW.date() - timedelta(days=7)).isoformat()
    for lab in (
        {"test": "hbsag", "on": screened, "positive": False},
        {"test": "anti_hbc", "on": screened, "positive": True},
        {"test": "serum_immunoglobulins", "on": screened, "abnormal": False},
        *(
            {"test": t, "on": screened, "abnormal": False}
            for t in ("alt", "ast", "alp", "bilirubin")
        ),
    ):
        centre.clinical.record(nurse, patient.id, "lab", lab)
    centre.clinical.record(nurse, patient.id, "profile", {"vaccination_history_reviewed": True})
    centre.clinical.record(
        nurse, patient.id, "finding", {"name": "active_infection", "on": TODAY, "present": False}
    )
    return patient.id


def test_the_patient_page_lists_calendar_gates_monitoring_risks_and_entries(world: World) -> None:
    sign_in(world, Role.NURSE)
    page = world.client.get(f"/patients/{world.ids['patient']}")
    assert page.status_code == 200, page.text
    html = page.text
    # Calendar: dose 3 started today in the session counts as given; dose 4 is next.
    assert "<td>given on 2026-03-02</td>" in html
    assert "Next dose: <strong>dose 4 · Maintenance</strong>" in html
    assert 'data-testid="gates-on">2026-08-02<' in html  # earliest: 5 months after dose 3
    # Gates of dose 4: the same-day infection check is missing for that date and would block
    # the start (words and a symbol, not colour alone).
    infection = gate_row(html, "active_infection")
    assert "MISSING" in infection
    assert "active_infection not assessed on 2026-08-02" in infection
    assert "<strong>blocks</strong>" in infection
    assert "not overridable" in infection
    assert 'href="https://www.ocrevus.com/hcp/dosing/administration.html"' in infection
    assert "Gates support the prescriber's decision; they do not replace it." in html
    assert 'data-testid="missing"' in html  # to record before the start, not yet urgent
    assert 'data-testid="blocked"' not in html  # nothing fails
    # Monitoring: the baseline immunoglobulins are on file.
    monitoring = re.search(r'data-testid="monitoring".*?</table>', html, re.DOTALL)
    assert monitoring
    assert "Quantitative serum immunoglobulins" in monitoring.group(0)
    assert "done</span>" in monitoring.group(0)
    # Risks: anti-CD20 repletion window from the US label (unverified in the dossier).
    repletion = re.search(r'<p data-testid="repletion">.*?</p>', html, re.DOTALL)
    assert repletion
    assert "Last dose 2026-03-02: <strong>0 weeks ago</strong>" in repletion.group(0)
    assert "Median B-cell repletion 72 weeks" in repletion.group(0)
    assert "range 27 to 175 weeks (2026-09-07 to 2029-07-09)" in repletion.group(0)
    assert 'class="tag unverified"' in repletion.group(0)
    # Entries and flags: nothing flagged (no failure, dose 4 not yet due).
    assert "hbsag: negative" in html
    assert "active_infection: absent" in html
    assert "No overdue or abnormal monitoring" in html


def test_the_page_shows_the_natalizumab_pml_risk_with_its_source(world: World) -> None:
    centre, nurse = world.centre, actor_for(world, Role.NURSE)
    patient = centre.records.add_patient(nurse, display_name="Synthetic Patient 04", synthetic=True)
    centre.records.add_order(
        actor_for(world, Role.PHYSICIAN),
        patient_id=patient.id,
        therapy_id="natalizumab",
        start_date=NOW.date(),
    )
    centre.clinical.record(
        nurse,
        patient.id,
        "lab",
        {"test": "anti_jcv", "on": TODAY, "positive": True, "value": 2.0, "assay": "STRATIFY JCV"},
    )
    centre.clinical.record(nurse, patient.id, "profile", {"prior_immunosuppressant": False})
    sign_in(world, Role.NURSE)
    html = world.client.get(f"/patients/{patient.id}").text
    pml = re.search(r'<p data-testid="pml">.*?</p>', html, re.DOTALL)
    assert pml
    # Table A: anti-JCV positive, no prior IS, index 2.0 > 1.5, <= 24 months: about 1.2/1000.
    assert "<strong>1.2 per 1000 patients</strong>" in pml.group(0)
    assert "positive-no-is-index-high; index &gt; 1.5; &lt;= 24 months" in pml.group(0)
    assert 'class="tag unverified"' in pml.group(0)
    assert 'href="https://doi.org/10.1007/s13365-016-0427-6"' in html
    # Dose 1 may be given today: the missing baseline MRI and TOUCH checks are urgent.
    assert "Needed before the dose can be started:" in html
    assert "natalizumab: dose 1 needs natalizumab_baseline_mri" in html  # the patient's flags


def test_a_lab_recorded_from_the_form_is_stored_and_listed(world: World) -> None:
    token = sign_in(world, Role.NURSE)
    patient_id = world.ids["patient"]
    before = entries(world, patient_id)
    answer = world.client.post(
        f"/patients/{patient_id}/clinical/lab",
        data={
            "csrf_token": token,
            "test": "cbc_diff",
            "on": TODAY,
            "value": "4.5",
            "positive": "",
            "abnormal": "no",
            "assay": "",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/patients/{patient_id}?recorded=lab#entries"
    ids_before = {e.id for e in before}
    added = [e for e in entries(world, patient_id) if e.id not in ids_before]
    assert len(added) == 1
    entry = added[0]
    assert entry.kind is ClinicalEntryKind.LAB
    assert dict(entry.data) == {"test": "cbc_diff", "on": TODAY, "value": 4.5, "abnormal": False}
    page = world.client.get(answer.headers["location"]).text
    assert "Recorded: lab result." in page
    row = re.search(
        rf'<tr class="entry kind-lab" data-entry="{entry.id}">.*?</tr>', page, re.DOTALL
    )
    assert row
    assert "cbc_diff: value 4.5, normal" in row.group(0)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"test": "cbc_diff", "on": TODAY, "value": "4,5"}, "value", "value must be a number"),
        (
            {"test": "cbc_diff", "on": TODAY},
            "value",
            "a result needs a value, positive or abnormal",
        ),
        ({"test": "sodium", "on": TODAY, "value": "140"}, "test", "test must be one of"),
        ({"test": "alt", "on": "2026-03-03", "abnormal": "no"}, "on", "on is in the future"),
        ({"test": "alt", "on": "03/02/2026", "abnormal": "no"}, "on", "on must be an ISO date"),
    ],
)
def test_a_bad_lab_form_is_a_422_naming_the_field_and_stores_nothing(
    world: World, fields: dict[str, str], field: str, message: str
) -> None:
    token = sign_in(world, Role.NURSE)
    patient_id = world.ids["patient"]
    before = len(entries(world, patient_id))
    answer = world.client.post(
        f"/patients/{patient_id}/clinical/lab", data={"csrf_token": token, **fields}
    )
    assert answer.status_code == 422
    error = re.search(
        r'<p class="alert" role="alert" id="lab-error".*?</p>', answer.text, re.DOTALL
    )
    assert error, "the message is shown beside the lab form"
    assert f'<span data-testid="error-field">{field}</span>' in error.group(0)
    assert message in error.group(0)
    assert "Nothing was stored." in error.group(0)
    form = re.search(r'<form[^>]*data-form="lab".*?</form>', answer.text, re.DOTALL)
    assert form
    assert 'aria-invalid="true" aria-describedby="lab-error"' in form.group(0)
    assert f'value="{fields["on"]}"' in form.group(0)  # what was typed is kept
    assert len(entries(world, patient_id)) == before


def test_findings_vaccinations_profile_and_doses_given_elsewhere_are_recorded(
    world: World,
) -> None:
    token = sign_in(world, Role.NURSE)
    patient_id = world.ids["patient"]
    path = f"/patients/{patient_id}/clinical"
    latest: dict[ClinicalEntryKind, dict[str, Any]] = {}
    for kind, fields in (
        ("finding", {"name": "active_infection", "on": TODAY, "present": "yes"}),
        ("vaccination", {"name": "influenza (inactivated)", "on": "2026-02-01", "live": "no"}),
        ("profile", {"can_become_pregnant": "no", "prior_immunosuppressant": "", "on": TODAY}),
    ):
        known = {e.id for e in entries(world, patient_id)}
        sent = world.client.post(
            f"{path}/{kind}", data={"csrf_token": token, **fields}, follow_redirects=False
        )
        assert sent.status_code == 303, sent.text
        (added,) = [e for e in entries(world, patient_id) if e.id not in known]
        latest[added.kind] = dict(added.data)
    assert latest[ClinicalEntryKind.FINDING] == {
        "name": "active_infection",
        "on": TODAY,
        "present": True,
    }
    assert latest[ClinicalEntryKind.VACCINATION] == {
        "name": "influenza (inactivated)",
        "on": "2026-02-01",
        "live": False,
    }
    assert latest[ClinicalEntryKind.PROFILE] == {"can_become_pregnant": False}
    page = world.client.get(f"/patients/{patient_id}").text
    assert "influenza (inactivated) (non-live vaccine)" in page
    assert "can become pregnant: no" in page
    # Patient 02's dose 3 given elsewhere before its earliest date (5 months after dose 2 on
    # 2025-09-29, dossier Q1) is refused with the label's interval; then on a good date.
    nurse = actor_for(world, Role.NURSE)
    other = world.centre.queries.get_appointment(nurse, world.ids["spare_appointment"]).patient_id
    order_id = world.centre.queries.list_orders(nurse, patient_id=other)[0].id
    dose_3 = {"csrf_token": token, "order_id": order_id, "dose_number": "3"}
    early = world.client.post(
        f"/patients/{other}/clinical/given-dose", data={**dose_3, "on": "2026-02-01"}
    )
    assert early.status_code == 422
    assert "dose 3 on 2026-02-01 is before its earliest date 2026-02-28" in early.text
    given = world.client.post(
        f"/patients/{other}/clinical/given-dose",
        data={**dose_3, "on": "2026-02-28", "mg_per_m2": ""},
        follow_redirects=False,
    )
    assert given.status_code == 303, given.text
    page = world.client.get(f"/patients/{other}").text
    assert f"dose 3 of order {order_id}, given elsewhere" in page
    assert "<td>given on 2026-02-28</td>" in page
    bad_number = world.client.post(
        f"{path}/given-dose",
        data={"csrf_token": token, "order_id": world.ids["order"], "dose_number": "four"},
    )
    assert bad_number.status_code == 422
    assert '<span data-testid="error-field">dose_number</span>' in bad_number.text


def test_a_retracted_entry_is_struck_through_and_a_retraction_needs_a_reason(
    world: World,
) -> None:
    token = sign_in(world, Role.NURSE)
    patient_id = world.ids["patient"]
    finding = next(e for e in entries(world, patient_id) if e.kind is ClinicalEntryKind.FINDING)
    path = f"/patients/{patient_id}/clinical/retraction"
    before = len(entries(world, patient_id))
    no_reason = world.client.post(
        path, data={"csrf_token": token, "entry_id": finding.id, "reason": " "}
    )
    assert no_reason.status_code == 422
    row = re.search(
        rf'<tr class="entry[^"]*" data-entry="{finding.id}">.*?</tr>', no_reason.text, re.DOTALL
    )
    assert row
    assert '<span data-testid="error-field">reason</span>' in row.group(0)
    assert len(entries(world, patient_id)) == before
    world.clock.advance(timedelta(minutes=5))
    done = world.client.post(
        path,
        data={"csrf_token": token, "entry_id": finding.id, "reason": "wrong patient"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    page = world.client.get(f"/patients/{patient_id}").text
    row = re.search(rf'<tr class="entry[^"]*" data-entry="{finding.id}">.*?</tr>', page, re.DOTALL)
    assert row
    assert "retracted" in row.group(0)
    assert (
        '<del>active_infection: absent</del> <span class="tag">retracted</span> wrong patient'
        in (row.group(0))
    )
    assert 'action="/patients/' not in row.group(0)  # no second retraction offered
    # Newest first: the retraction heads the list.
    first = re.search(r'<tr class="entry kind-([a-z-]+)', page)
    assert first
    assert first.group(1) == "retraction"


def test_a_nurse_sees_no_override_form_and_is_refused_by_the_server(world: World) -> None:
    patient_id = new_patient_with_positive_anti_hbc(world)
    token = sign_in(world, Role.NURSE)
    page = world.client.get(f"/patients/{patient_id}").text
    anti_hbc = gate_row(page, "hbv_anti_hbc")
    assert "FAIL" in anti_hbc
    assert "liver specialist before and during therapy" in anti_hbc
    assert "a physician may override" in anti_hbc
    assert 'data-testid="blocked"' in page  # the next-dose banner names the failed gate
    assert (
        "<code>hbv_anti_hbc</code> fail: anti_hbc positive on 2026-02-23: liver specialist "
        "before and during therapy"
    ) in page
    assert "clinical/override" not in page
    assert "Only a physician may record a justified override" in page
    before = len(entries(world, patient_id))
    refused = world.client.post(
        f"/patients/{patient_id}/clinical/override",
        data={
            "csrf_token": token,
            "gate_id": "hbv_anti_hbc",
            "on": TODAY,
            "justification": "hepatology consulted",
        },
    )
    assert refused.status_code == 403
    assert "forbidden" in refused.text
    assert len(entries(world, patient_id)) == before


def test_a_physician_override_is_recorded_listed_and_clears_the_banner(world: World) -> None:
    patient_id = new_patient_with_positive_anti_hbc(world)
    token = sign_in(world, Role.PHYSICIAN)
    page = world.client.get(f"/patients/{patient_id}").text
    form = re.search(r'<form[^>]*data-form="override".*?</form>', page, re.DOTALL)
    assert form
    assert re.findall(r'<option value="([a-z_]+)"', form.group(0)) == ["hbv_anti_hbc"]
    assert f'name="on" required value="{TODAY}"' in form.group(0)
    empty = world.client.post(
        f"/patients/{patient_id}/clinical/override",
        data={"csrf_token": token, "gate_id": "hbv_anti_hbc", "on": TODAY, "justification": ""},
    )
    assert empty.status_code == 422
    assert '<span data-testid="error-field">justification</span>' in empty.text
    assert not any(e.kind is ClinicalEntryKind.OVERRIDE for e in entries(world, patient_id))
    done = world.client.post(
        f"/patients/{patient_id}/clinical/override",
        data={
            "csrf_token": token,
            "gate_id": "hbv_anti_hbc",
            "on": TODAY,
            "justification": "hepatology consulted; prophylaxis started",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    page = world.client.get(f"/patients/{patient_id}").text
    anti_hbc = gate_row(page, "hbv_anti_hbc")
    physician = world.user_ids[Role.PHYSICIAN]
    assert (
        f"overridden on {TODAY} by {physician}: hepatology consulted; prophylaxis started"
        in anti_hbc
    )
    assert "<strong>blocks</strong>" not in anti_hbc
    assert 'data-testid="blocked"' not in page
    assert "override of gate hbv_anti_hbc for the dose on 2026-03-02" in page


def test_the_board_flags_a_patient_whose_next_dose_is_blocked(world: World) -> None:
    sign_in(world, Role.NURSE)
    clean = world.client.get("/ui/board").text
    assert 'data-testid="course-flags"' not in clean  # patient 01: nothing to flag today
    patient_id = new_patient_with_positive_anti_hbc(world, book=True)
    board = world.client.get("/ui/board").text
    flags = re.findall(
        r'<div class="course-flags" data-testid="course-flags">.*?</div>', board, re.DOTALL
    )
    assert len(flags) == 1
    assert f'href="/patients/{patient_id}#flags"' in flags[0]
    assert "<li>ocrelizumab: next dose blocked by hbv_anti_hbc</li>" in flags[0]
    assert 'title="ocrelizumab: next dose blocked by hbv_anti_hbc"' in flags[0]
    patient_page = world.client.get(f"/patients/{patient_id}").text
    top = re.search(r'<section class="panel" id="flags".*?</section>', patient_page, re.DOTALL)
    assert top
    assert "ocrelizumab: next dose blocked by hbv_anti_hbc" in top.group(0)


def _spare_mrn(world: World) -> str:
    """The MRN the nurse types at check-in for the spare appointment's patient."""
    return identity_fields(world, world.ids["other_patient"])["confirmed_identifier"]


def test_a_start_refused_by_a_gate_shows_each_gate_and_links_to_the_patient(world: World) -> None:
    token = sign_in(world, Role.NURSE)
    spare = world.ids["spare_appointment"]
    answer = world.client.post(
        f"/appointments/{spare}/check-in",
        data={"csrf_token": token, "identifier": _spare_mrn(world)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    path = answer.headers["location"]
    for name, fields in (
        ("RecordAssessment", {"passed": "yes"}),
        ("GivePremedication", {"drug": "methylprednisolone", "dose": "100 mg", "route": "IV"}),
        (
            "GivePremedication",
            {
                "drug": "cetirizine",
                "dose": "10 mg",
                "route": "oral",
                "for_premedication": "antihistamine (e.g. diphenhydramine)",
            },
        ),
    ):
        hidden = page_fields(world.client.get(path).text, name)
        assert world.client.post(f"{path}/commands/{name}", data={**hidden, **fields}).is_success
    # Later the same day the patient has a fever: the infection check fails.
    world.clock.advance(timedelta(minutes=35))
    token = sign_in(world, Role.NURSE)
    appointment = world.centre.queries.get_appointment(actor_for(world, Role.NURSE), spare)
    world.centre.clinical.record(
        actor_for(world, Role.NURSE),
        appointment.patient_id,
        "finding",
        {"name": "active_infection", "on": TODAY, "present": True},
    )
    hidden = page_fields(world.client.get(path).text, "StartInfusion")
    refused = world.client.post(
        f"{path}/commands/StartInfusion", data={**hidden, "rate_ml_per_h": "40"}
    )
    assert refused.status_code == 422, refused.text
    box = re.search(r'data-testid="refusal".*?</div>', refused.text, re.DOTALL)
    assert box
    assert "Not started: a mandatory gate of this dose is not met." in box.group(0)
    assert '<code data-testid="gate">active_infection</code> fail:' in box.group(0)
    assert f'href="/patients/{appointment.patient_id}#record"' in box.group(0)
    assert "Nothing was recorded." in box.group(0)
    events = world.request(Role.NURSE, "GET", f"/api/sessions/{path.rsplit('/', 1)[-1]}/events")
    assert "InfusionStarted" not in {e["type"] for e in events.json()["events"]}


def test_forms_need_the_csrf_token_and_a_known_kind(world: World) -> None:
    token = sign_in(world, Role.NURSE)
    patient_id = world.ids["patient"]
    before = len(entries(world, patient_id))
    forged = world.client.post(
        f"/patients/{patient_id}/clinical/finding",
        data={"csrf_token": "forged", "name": "pml", "on": TODAY, "present": "no"},
    )
    assert forged.status_code == 403
    assert "csrf-failed" in forged.text
    unknown = world.client.post(
        f"/patients/{patient_id}/clinical/diagnosis", data={"csrf_token": token}
    )
    assert unknown.status_code == 404
    assert len(entries(world, patient_id)) == before


def test_a_viewer_reads_the_page_without_forms(world: World) -> None:
    sign_in(world, Role.VIEWER)
    page = world.client.get(f"/patients/{world.ids['patient']}")
    assert page.status_code == 200
    assert 'data-testid="gates"' in page.text
    assert "/clinical/" not in page.text


def test_an_override_the_label_does_not_allow_is_refused_above_the_forms(world: World) -> None:
    token = sign_in(world, Role.PHYSICIAN)
    patient_id = world.ids["patient"]
    page = world.client.get(f"/patients/{patient_id}").text
    assert 'data-form="override"' not in page  # no failed gate the label lets a physician waive
    before = len(entries(world, patient_id))
    answer = world.client.post(
        f"/patients/{patient_id}/clinical/override",
        data={
            "csrf_token": token,
            "gate_id": "active_infection",
            "on": "2026-08-02",
            "justification": "afebrile",
        },
    )
    assert answer.status_code == 422
    record = re.search(
        r'<section class="panel actions-panel" id="record".*?</section>', answer.text, re.DOTALL
    )
    assert record
    assert '<span data-testid="error-field">gate_id</span>' in record.group(0)
    assert "gate_id must name a gate the label lets a physician override" in record.group(0)
    assert len(entries(world, patient_id)) == before
