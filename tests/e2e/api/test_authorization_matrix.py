"""Every route x every role (and anonymous) against the permission matrix.

The expected outcome comes from ``permissions.is_allowed`` — the one matrix — and the table below
names the action each route needs. A route missing from the table fails ``test_every_route_...``.
A denied role gets 403 ``forbidden``; an allowed role gets neither 401 nor 403 (a 404, 409 or
422 from a repeated write is still "allowed"); anonymous callers get 401 except on public routes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute

from msinfusion.adapters.fhir import router as fhir_router
from msinfusion.application.permissions import Action, is_allowed
from msinfusion.application.records import Role
from tests.e2e.api.world import NOW, PASSWORD, PROTOCOL_ID, World, build_world

PUBLIC = "public"
ANY_USER = "any-user"
Body = Callable[[World], dict[str, Any]] | None


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    need: Action | str
    body: Body = None


def _vitals(w: World) -> dict[str, Any]:
    return {
        "expected_version": 6,
        "command": {"command": "RecordVitals", "at": NOW.isoformat(), "heart_rate_bpm": 72},
    }


def _override(w: World) -> dict[str, Any]:
    return {
        "expected_version": 6,
        "command": {
            "command": "ChangeRate",
            "at": NOW.isoformat(),
            "rate_ml_per_h": 80,
            "override_reason": "physician at the bedside",
        },
    }


def _reaction(w: World) -> dict[str, Any]:
    return {
        "expected_version": 6,
        "command": {
            "command": "RecordReaction",
            "at": NOW.isoformat(),
            "severity": "mild",
            "symptoms": ["itching"],
        },
    }


def _observation(w: World) -> dict[str, Any]:
    return {
        "idempotency_key": "matrix-1",
        "chair": "Chair 1",
        "observed_at": NOW.isoformat(),
        "observations": [{"system": "LOINC", "code": "8867-4", "value": 72, "unit": "/min"}],
    }


def _fhir_heart_rate(w: World) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "identifier": [{"value": "matrix-fhir-1"}],
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/event-location",
                "valueReference": {"display": "Chair 1"},
            }
        ],
        "effectiveDateTime": NOW.isoformat(),
        "valueQuantity": {"value": 72, "system": "http://unitsofmeasure.org", "code": "/min"},
    }


# The FHIR interface (docs/fhir.md "Access"): one row per route and resource type. Where a type
# needs more than one action (docs/fhir.md lists them), the matrix gives those actions the same
# roles and the row names the first. $export needs every type's actions, and READ_PATIENT holds
# for exactly the roles that have them all. Without the header "Prefer: respond-async" an
# allowed kick-off is a 400, and an unknown export job a 404: both still "allowed".
_FHIR_TYPES: tuple[tuple[str, str, Action], ...] = (
    ("Patient", "{patient}", Action.READ_PATIENT),
    ("Practitioner", "{user}", Action.READ_SESSION),
    ("Location", "{chair}", Action.READ_CHAIRS),
    ("MedicationRequest", "{order}", Action.READ_ORDER),
    ("MedicationAdministration", "{session}", Action.READ_SESSION),
    ("Observation", "{session}-heart-rate-1", Action.READ_SESSION),
    ("AllergyIntolerance", "{patient}-allergy-1", Action.READ_PATIENT),
    ("AdverseEvent", "{session}-reaction-1", Action.READ_SESSION),
    ("CarePlan", "{order}", Action.READ_ORDER),
    ("Schedule", "{chair}", Action.READ_CHAIRS),
    ("Slot", "{appointment}", Action.READ_APPOINTMENT),
    ("Appointment", "{appointment}", Action.READ_APPOINTMENT),
    ("Provenance", "{session}-provenance-1", Action.READ_SESSION),
)
FHIR_ROUTES = (
    Route("GET", "/fhir/metadata", PUBLIC),
    *(Route("GET", f"/fhir/{name}", action) for name, _, action in _FHIR_TYPES),
    *(Route("GET", f"/fhir/{name}/{rid}", action) for name, rid, action in _FHIR_TYPES),
    Route(
        "GET",
        "/fhir/MedicationAdministration?_include=MedicationAdministration:request",
        Action.READ_ORDER,
    ),
    Route("GET", "/fhir/Patient/{patient}/$everything", Action.READ_PATIENT),
    Route("GET", "/fhir/$export", Action.READ_PATIENT),
    Route("GET", "/fhir/Patient/$export", Action.READ_PATIENT),
    Route("GET", "/fhir/$export-poll/job-x", Action.READ_PATIENT),
    Route("DELETE", "/fhir/$export-poll/job-x", Action.READ_PATIENT),
    Route("GET", "/fhir/$export-file/job-x/Patient.ndjson", Action.READ_PATIENT),
    Route("POST", "/fhir/Observation", Action.INGEST_OBSERVATIONS, _fhir_heart_rate),
)

ROUTES = (
    *FHIR_ROUTES,
    Route("GET", "/api/health", PUBLIC),
    Route(
        "POST", "/api/auth/login", PUBLIC, lambda w: {"username": "viewer1", "password": PASSWORD}
    ),
    Route("GET", "/api/auth/me", ANY_USER),
    Route("POST", "/api/auth/logout", ANY_USER),
    Route("GET", "/api/catalog", Action.READ_CATALOG),
    Route("GET", f"/api/catalog/{PROTOCOL_ID}", Action.READ_CATALOG),
    Route(
        "GET",
        f"/api/catalog/{PROTOCOL_ID}/plan?start=2026-03-02T10:00:00%2B01:00&dose_number=3",
        Action.READ_CATALOG,
    ),
    Route("GET", "/api/patients", Action.READ_PATIENT),
    Route("POST", "/api/patients", Action.WRITE_PATIENT, lambda w: {"display_name": "Synthetic"}),
    Route("GET", "/api/patients/{patient}", Action.READ_PATIENT),
    Route("PATCH", "/api/patients/{patient}", Action.WRITE_PATIENT, lambda w: {"weight_kg": 71}),
    Route("GET", "/api/chairs", Action.READ_CHAIRS),
    Route("POST", "/api/chairs", Action.MANAGE_CHAIRS, lambda w: {"name": "Chair 9"}),
    Route("PATCH", "/api/chairs/{chair}", Action.MANAGE_CHAIRS, lambda w: {"name": "Chair 1a"}),
    Route("GET", "/api/orders", Action.READ_ORDER),
    Route(
        "POST",
        "/api/orders",
        Action.WRITE_ORDER,
        lambda w: {
            "patient_id": w.ids["patient"],
            "therapy_id": "natalizumab",
            "start_date": "2026-03-02",
        },
    ),
    Route("GET", "/api/orders/{order}", Action.READ_ORDER),
    Route("PATCH", "/api/orders/{order}", Action.WRITE_ORDER, lambda w: {"active": True}),
    Route(
        "POST",
        "/api/orders/{order}/discontinue",
        Action.WRITE_ORDER,
        lambda w: {"discontinued_on": "2026-03-02", "reason": "matrix"},
    ),
    Route("GET", "/api/appointments?date=2026-03-02", Action.READ_APPOINTMENT),
    Route(
        "POST",
        "/api/appointments",
        Action.BOOK_APPOINTMENT,
        lambda w: {
            "patient_id": w.ids["patient"],
            "chair_id": w.ids["chair"],
            "protocol_id": PROTOCOL_ID,
            "dose_number": 3,
            "starts_at": "2026-03-05T08:00:00+01:00",
        },
    ),
    Route("GET", "/api/appointments/{appointment}", Action.READ_APPOINTMENT),
    Route("POST", "/api/appointments/{spare_appointment}/cancel", Action.BOOK_APPOINTMENT),
    Route("GET", "/api/board?date=2026-03-02", Action.READ_BOARD),
    Route("GET", "/api/stream?limit=1", Action.READ_BOARD),
    Route("POST", "/api/sessions", Action.OPEN_SESSION, lambda w: {}),
    Route("GET", "/api/sessions/{session}", Action.READ_SESSION),
    Route("GET", "/api/sessions/{session}/events", Action.READ_SESSION),
    Route("POST", "/api/sessions/{session}/commands", Action.RECORD_VITALS, _vitals),
    Route("POST", "/api/sessions/{session}/commands", Action.RECORD_REACTION, _reaction),
    Route("POST", "/api/sessions/{session}/commands", Action.OVERRIDE_SOFT_LIMIT, _override),
    Route("GET", "/api/users", Action.MANAGE_USERS),
    Route(
        "POST",
        "/api/users",
        Action.MANAGE_USERS,
        lambda w: {"username": "newuser", "role": "viewer", "password": "a long enough pw"},
    ),
    Route("PATCH", "/api/users/{user}", Action.MANAGE_USERS, lambda w: {"display_name": "V"}),
    Route("GET", "/api/tokens", Action.MANAGE_USERS),
    # A token for someone else only to a device account (issue 20); one's own: every person.
    Route("POST", "/api/users/{device}/tokens", Action.MANAGE_USERS, lambda w: {"label": "x"}),
    Route(
        "POST",
        "/api/auth/password",
        Action.CHANGE_OWN_PASSWORD,
        lambda w: {"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    ),
    Route("POST", "/api/tokens/{token}/revoke", Action.MANAGE_USERS),
    Route("GET", "/api/audit", Action.READ_AUDIT),
    Route("GET", "/api/orders/{order}/calendar", Action.READ_COURSE),
    Route("GET", "/api/orders/{order}/calendar?format=ics", Action.READ_COURSE),
    Route(
        "POST",
        "/api/patients/{patient}/course-check",
        Action.READ_COURSE,
        lambda w: {"as_of": "2026-03-02"},
    ),
    Route("GET", "/api/patients/{patient}/clinical-entries", Action.READ_COURSE),
    Route(
        "POST",
        "/api/patients/{patient}/clinical-entries",
        Action.RECORD_CLINICAL,
        lambda w: {"kind": "lab", "item": {"test": "tsh", "on": "2026-03-01", "abnormal": False}},
    ),
    Route(
        "POST",
        "/api/patients/{patient}/clinical-entries",
        Action.OVERRIDE_GATE,
        lambda w: {
            "kind": "override",
            "item": {"gate_id": "hbv_anti_hbc", "on": "2026-03-02", "justification": "hepatology"},
        },
    ),
    Route("GET", "/api/patients/{patient}/courses?as_of=2026-03-02", Action.READ_COURSE),
    Route("GET", "/api/worklist", Action.READ_WORKLIST),
    Route("GET", "/api/worklist?format=csv&therapy=ocrelizumab", Action.READ_WORKLIST),
    Route(
        "POST",
        "/api/worklist/actions",
        Action.MANAGE_WORKLIST,
        lambda w: {
            "action": "resolve",
            "patient_id": w.ids["patient"],
            "item_id": "monitoring:none:2026-03-02",
            "reason": "matrix check",
        },
    ),
    Route("GET", "/api/patients/{patient}/ledger", Action.READ_COURSE),
    Route("GET", "/api/patients/{patient}/ledger?format=csv", Action.READ_COURSE),
    Route(
        "POST",
        "/api/patients/{patient}/tdm",
        Action.RECORD_CLINICAL,
        lambda w: {
            "troughs": [{"at": "2026-03-02T08:00:00+00:00", "trough_ug_per_ml": 20}],
            "target_ug_per_ml": 10,
        },
    ),
    Route("GET", "/api/patients/{patient}/tdm", Action.READ_COURSE),
    Route(
        "POST",
        "/api/patients/{patient}/tdm/apply",
        Action.WRITE_ORDER,
        lambda w: {"recommendation_id": "entry-none", "acknowledge_off_label": True},
    ),
    Route("GET", "/api/tdm/accuracy", Action.READ_COURSE),
    Route(
        "GET",
        "/api/risk/pml?jcv_index=1.2&prior_immunosuppressant=false&months=30",
        Action.READ_CATALOG,
    ),
    Route(
        "POST",
        "/api/schedule/day",
        Action.PLAN_SCHEDULE,
        lambda w: {"date": "2026-03-02", "nurses": 1, "solver": "greedy"},
    ),
    Route(
        "POST",
        "/api/schedule/replan",
        Action.PLAN_SCHEDULE,
        lambda w: {"date": "2026-03-02", "nurses": 1, "solver": "greedy"},
    ),
    Route(
        "GET", "/api/schedule/day.svg?date=2026-03-02&nurses=1&solver=greedy", Action.PLAN_SCHEDULE
    ),
    Route("POST", "/api/observations", Action.INGEST_OBSERVATIONS, _observation),
    Route("GET", "/api/alerts", Action.READ_BOARD),
    Route(
        "POST",
        "/api/sessions/{session}/alerts/{alert}/acknowledge",
        Action.ACKNOWLEDGE_ALERT,
        lambda w: {"note": "seen"},
    ),
    Route("GET", "/api/quarantine?status=held", Action.REVIEW_QUARANTINE),
    Route("GET", "/api/devices/clock-skew", Action.REVIEW_QUARANTINE),
    Route("POST", "/api/quarantine/{quarantine}/replay", Action.REVIEW_QUARANTINE),
)
CALLERS: tuple[Role | None, ...] = (None, *Role)


def _expected_allowed(route: Route, role: Role) -> bool:
    if isinstance(route.need, Action):
        return is_allowed(role, route.need)
    return True


def _send(world: World, route: Route, caller: Role | None) -> Any:
    ids = dict(
        world.ids,
        user=world.user_ids[Role.VIEWER],
        device=world.user_ids[Role.DEVICE],
        alert="alert-1",
        quarantine="quarantine-0",
    )
    path = route.path.format(**ids)
    body = None if route.body is None else route.body(world)
    return world.request(caller, route.method, path, json=body)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path} [{r.need}]")
def test_route_answers_every_role_as_the_matrix_says(route: Route) -> None:
    world = build_world()
    wrong = []
    for caller in CALLERS:
        status = _send(world, route, caller).status_code
        if route.need == PUBLIC:
            ok = status not in (401, 403) and status < 500
        elif caller is None:
            ok = status == 401
        elif _expected_allowed(route, caller):
            ok = status not in (401, 403) and status < 500
        else:
            ok = status == 403
        if not ok:
            wrong.append(f"{caller.value if caller else 'anonymous'} got {status}")
    assert not wrong, f"{route.method} {route.path}: " + "; ".join(wrong)


def test_every_route_is_in_the_matrix_table() -> None:
    app = build_world().client.app
    # From the OpenAPI document: FastAPI >= 0.16x nests included routers in app.routes.
    paths = app.openapi()["paths"]  # type: ignore[attr-defined]
    served = {(method.upper(), path) for path, operations in paths.items() for method in operations}
    assert ("GET", "/api/patients/{patient_id}") in served
    assert len(served) > 40
    covered = set()
    for route in ROUTES:
        template = route.path.split("?")[0]
        for name in (
            "patient",
            "chair",
            "order",
            "appointment",
            "spare_appointment",
            "session",
            "user",
            "device",
            "token",
            "alert",
            "quarantine",
        ):
            template = template.replace("{" + name + "}", "{" + _param(name) + "}")
        covered.add((route.method, template.replace(PROTOCOL_ID, "{protocol_id}")))
    assert served - covered == set()


def test_every_fhir_route_is_in_the_matrix_table() -> None:
    """The FHIR routes are outside the OpenAPI document: each one the app serves (but the
    catch-alls answering 404/405 to anyone) must be matched by a row above."""
    served = [
        (method, route)
        for route in fhir_router.routes
        if isinstance(route, APIRoute)
        and route.path.startswith("/fhir/")
        and "{path:path}" not in route.path
        for method in route.methods
        if method != "HEAD"
    ]
    assert len(served) >= 10
    for method, route in served:
        assert any(
            r.method == method and route.path_regex.match(r.path.split("?")[0]) for r in FHIR_ROUTES
        ), f"{method} {route.path} has no row"


def _param(name: str) -> str:
    return {"spare_appointment": "appointment_id", "device": "user_id"}.get(name, f"{name}_id")


def test_a_denied_request_names_role_and_action_and_changes_nothing(world: World) -> None:
    before = world.request(Role.NURSE, "GET", "/api/patients").json()
    response = world.request(Role.VIEWER, "POST", "/api/patients", json={"display_name": "X"})
    assert response.status_code == 403
    assert response.json() == {
        "error": "forbidden",
        "message": "the role viewer may not write patient",
        "field": None,
    }
    assert world.request(Role.NURSE, "GET", "/api/patients").json() == before


def test_a_nurse_may_start_but_not_override_and_a_physician_may_override(world: World) -> None:
    nurse = world.request(
        Role.NURSE, "POST", f"/api/sessions/{world.ids['session']}/commands", json=_override(world)
    )
    assert nurse.status_code == 403
    assert "override soft limit" in nurse.json()["message"]
    physician = world.request(
        Role.PHYSICIAN,
        "POST",
        f"/api/sessions/{world.ids['session']}/commands",
        json=_override(world),
    )
    assert physician.status_code in (200, 422)
