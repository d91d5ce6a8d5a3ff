"""Registration, order, booking and admin pages over a TestClient: bad input answers 422 naming
the field and stores nothing; roles that may not act are refused; duplicates need confirming;
signing needs the right password; booking refusals answer with their rule."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from msinfusion.application.records import OrderStatus, Role
from tests.e2e.api.world import NOW, PASSWORD, World, build_world
from tests.unit.adapters.web.test_ui_routes import sign_in


@pytest.fixture
def world() -> World:
    return build_world()


def _patients(world: World) -> int:
    return len(world.centre.queries.list_patients(_system(world)))


def _system(world: World):  # type: ignore[no-untyped-def]
    from msinfusion.application.accounts import principal_of

    with world.uow_factory() as uow:
        user = uow.users.get(world.user_ids[Role.NURSE])
    return principal_of(user).acting(NOW, "test")


def _register(world: World, token: str, **extra: str):  # type: ignore[no-untyped-def]
    data = {
        "csrf_token": token,
        "display_name": "Synthetic Registered",
        "date_of_birth": "1985-04-03",
        "sex": "female",
        "height_cm": "170",
        "weight_kg": "65",
        "identifier_system_0": "MRN",
        "identifier_value_0": "MRN-9001",
        "allergy_substance_0": "penicillin",
        "allergy_severity_0": "severe",
        **extra,
    }
    return world.client.post("/patients/new", data=data, follow_redirects=False)


def test_register_search_and_edit_a_patient(world: World) -> None:
    token = sign_in(world, Role.NURSE)
    form = world.client.get("/patients/new")
    assert form.status_code == 200
    assert 'name="identifier_value_0"' in form.text
    answer = _register(world, token)
    assert answer.status_code == 303, answer.text
    patient_id = answer.headers["location"].rsplit("/", 1)[1]
    patient = world.centre.queries.get_patient(_system(world), patient_id)
    assert patient.identifiers[0].value == "MRN-9001"
    assert patient.allergies[0].severity == "severe"
    for query in ("registered synthetic", "1985-04-03", "03.04.1985", "mrn-9001"):
        found = world.client.get("/patients/search", params={"q": query})
        assert f"/patients/{patient_id}" in found.text, query
    edited = world.client.post(
        f"/patients/{patient_id}/edit",
        data={"csrf_token": token, "display_name": "Synthetic Edited", "weight_kg": "70"},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    patient = world.centre.queries.get_patient(_system(world), patient_id)
    assert patient.display_name == "Synthetic Edited"
    assert patient.identifiers == ()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("display_name", ""),
        ("date_of_birth", "03/04/1985x"),
        ("height_cm", "tall"),
        ("weight_kg", "9000"),
        ("allergy_severity_0", "deadly"),
        ("identifier_value_0", ""),
        ("sex", "robot"),
    ],
)
def test_bad_registration_input_names_the_field_and_stores_nothing(
    world: World, field: str, value: str
) -> None:
    token = sign_in(world, Role.NURSE)
    before = _patients(world)
    answer = _register(world, token, **{field: value})
    assert answer.status_code == 422
    assert f'data-testid="error-field">{field}<' in answer.text
    assert _patients(world) == before


def test_duplicate_name_and_birth_date_needs_confirmation(world: World) -> None:
    token = sign_in(world, Role.NURSE)
    assert _register(world, token).status_code == 303
    before = _patients(world)
    again = _register(
        world,
        token,
        display_name="registered  SYNTHETIC",
        identifier_value_0="",
        identifier_system_0="",
    )
    assert again.status_code == 409
    assert 'data-testid="duplicates"' in again.text
    assert "register anyway" in again.text
    assert _patients(world) == before
    confirmed = _register(
        world,
        token,
        display_name="registered  SYNTHETIC",
        identifier_value_0="",
        identifier_system_0="",
        confirm_duplicate="yes",
    )
    assert confirmed.status_code == 303
    assert _patients(world) == before + 1


def _draft(world: World, token: str, therapy: str = "ocrelizumab"):  # type: ignore[no-untyped-def]
    return world.client.post(
        "/orders/new",
        data={
            "csrf_token": token,
            "patient_id": world.ids["other_patient"],
            "therapy_id": therapy,
            "start_date": (NOW.date() + timedelta(days=7)).isoformat(),
            "indication": "relapsing MS",
        },
        follow_redirects=False,
    )


def test_physician_drafts_and_signs_with_the_password(world: World) -> None:
    token = sign_in(world, Role.PHYSICIAN)
    page = world.client.get("/orders/new", params={"patient_id": world.ids["other_patient"]})
    assert page.status_code == 200
    assert 'data-testid="order-check"' in page.text
    check = world.client.get(
        "/orders/new/check",
        params={
            "patient_id": world.ids["other_patient"],
            "therapy_id": "natalizumab",
            "start_date": "2026-03-09",
            "option_interval": "6w",
        },
    )
    assert "option:acknowledge_off_label" in check.text
    answer = _draft(world, token)
    assert answer.status_code == 303, answer.text
    order_id = answer.headers["location"].rsplit("/", 1)[1]
    order = world.centre.queries.get_order(_system(world), order_id)
    assert order.status is OrderStatus.DRAFT
    assert not order.active
    shown = world.client.get(f"/orders/{order_id}")
    assert "draft (not signed)" in shown.text
    assert "Dose 2 (day 15)" in shown.text
    wrong = world.client.post(
        f"/orders/{order_id}/sign", data={"csrf_token": token, "password": "not mine at all"}
    )
    assert wrong.status_code == 401
    assert 'data-testid="error-field">password<' in wrong.text
    assert world.centre.queries.get_order(_system(world), order_id).status is OrderStatus.DRAFT
    signed = world.client.post(
        f"/orders/{order_id}/sign",
        data={"csrf_token": token, "password": PASSWORD},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    order = world.centre.queries.get_order(_system(world), order_id)
    assert order.status is OrderStatus.SIGNED
    assert order.active
    page = world.client.get(f"/orders/{order_id}")
    assert 'data-testid="signed-by">by physician1' in page.text
    held = world.client.post(
        f"/orders/{order_id}/status", data={"csrf_token": token, "status": "on-hold", "reason": ""}
    )
    assert held.status_code == 422
    assert 'data-testid="error-field">reason<' in held.text
    held = world.client.post(
        f"/orders/{order_id}/status",
        data={"csrf_token": token, "status": "on-hold", "reason": "infection"},
        follow_redirects=False,
    )
    assert held.status_code == 303
    assert world.centre.queries.get_order(_system(world), order_id).status is OrderStatus.ON_HOLD
    page = world.client.get(f"/orders/{order_id}")
    assert 'name="discontinued_on"' in page.text
    # The order starts on 2026-03-09, after the centre's today: no stop day can be given yet.
    for stopped_on, status_code, why in (
        ("soon", 422, "must be a date"),
        ("2026-03-08", 422, "from the order&#39;s start (2026-03-09) to today"),
        ("", 303, ""),
    ):
        stopped = world.client.post(
            f"/orders/{order_id}/status",
            data={
                "csrf_token": token,
                "status": "discontinued",
                "reason": "pregnancy planned",
                "discontinued_on": stopped_on,
            },
            follow_redirects=False,
        )
        assert stopped.status_code == status_code, stopped.text
        if status_code == 422:
            assert 'data-testid="error-field">discontinued_on<' in stopped.text
            assert why in stopped.text
            order = world.centre.queries.get_order(_system(world), order_id)
            assert order.status is OrderStatus.ON_HOLD  # nothing stored by a refused form
    order = world.centre.queries.get_order(_system(world), order_id)
    assert order.status is OrderStatus.DISCONTINUED
    assert order.discontinued_on is None  # the follow-up counts from the last dose given


def test_bad_order_input_names_the_field(world: World) -> None:
    token = sign_in(world, Role.PHYSICIAN)
    before = len(world.centre.queries.list_orders(_system(world)))
    for data, field in (
        ({"indication": ""}, "indication"),
        ({"start_date": "soon"}, "start_date"),
        ({"therapy_id": "rituximab"}, "option:regimen"),
    ):
        answer = world.client.post(
            "/orders/new",
            data={
                "csrf_token": token,
                "patient_id": world.ids["other_patient"],
                "therapy_id": "ocrelizumab",
                "start_date": "2026-03-09",
                "indication": "relapsing MS",
                **data,
            },
        )
        assert answer.status_code == 422, (field, answer.status_code)
        assert f'data-testid="error-field">{field}<' in answer.text
    assert len(world.centre.queries.list_orders(_system(world))) == before


def test_a_nurse_cannot_sign_an_order(world: World) -> None:
    token = sign_in(world, Role.PHYSICIAN)
    order_id = _draft(world, token).headers["location"].rsplit("/", 1)[1]
    token = sign_in(world, Role.NURSE)
    page = world.client.get(f"/orders/{order_id}")
    assert "Sign order" not in page.text
    answer = world.client.post(
        f"/orders/{order_id}/sign", data={"csrf_token": token, "password": PASSWORD}
    )
    assert answer.status_code == 403
    assert world.centre.queries.get_order(_system(world), order_id).status is OrderStatus.DRAFT
    assert world.client.get("/orders/new").status_code == 403


def _signed_order(world: World) -> str:
    token = sign_in(world, Role.PHYSICIAN)
    order_id = _draft(world, token).headers["location"].rsplit("/", 1)[1]
    world.client.post(f"/orders/{order_id}/sign", data={"csrf_token": token, "password": PASSWORD})
    return order_id


def test_scheduler_books_day_1_and_15_and_a_double_booking_is_refused(world: World) -> None:
    order_id = _signed_order(world)
    token = sign_in(world, Role.SCHEDULER)
    page = world.client.get("/appointments/new", params={"order_id": order_id})
    assert page.status_code == 200
    assert 'data-testid="chair-time"' in page.text
    start = NOW.date() + timedelta(days=7)

    def book(dose: int, on: date, at: str = "09:00"):  # type: ignore[no-untyped-def]
        return world.client.post(
            "/appointments/new",
            data={
                "csrf_token": token,
                "order_id": order_id,
                "dose_number": str(dose),
                "protocol_id": "ocrelizumab-300-initial",
                "day": on.isoformat(),
                "time": at,
                "chair_id": world.ids["chair"],
            },
            follow_redirects=False,
        )

    assert book(1, start).status_code == 303
    again = book(1, start, "13:00")
    assert again.status_code == 409
    assert "(duplicate)" in again.text
    second = book(2, start + timedelta(days=14))
    assert second.status_code == 303, second.text
    occupied = world.client.get(
        "/appointments/new/preview",
        params={
            "order_id": order_id,
            "dose_number": "3",
            "day": start.isoformat(),
            "time": "10:00",
            "chair_id": world.ids["chair"],
        },
    )
    assert "Chair occupied" in occupied.text


def test_unsigned_order_is_not_booked(world: World) -> None:
    token = sign_in(world, Role.PHYSICIAN)
    order_id = _draft(world, token).headers["location"].rsplit("/", 1)[1]
    with pytest.raises(Exception, match="only a signed order is booked"):
        world.centre.records.book_appointment(
            _system(world),
            patient_id=world.ids["other_patient"],
            chair_id=world.ids["chair"],
            protocol_id="ocrelizumab-300-initial",
            dose_number=1,
            starts_at=NOW + timedelta(days=7),
            order_id=order_id,
        )


def test_admin_pages_are_for_admins_and_manage_users(world: World) -> None:
    sign_in(world, Role.SCHEDULER)
    assert world.client.get("/admin/users").status_code == 403
    assert world.client.get("/admin/audit").status_code == 403
    token = sign_in(world, Role.ADMIN)
    page = world.client.get("/admin/users")
    assert page.status_code == 200
    assert 'href="/admin/audit"' in page.text
    bad = world.client.post(
        "/admin/users", data={"csrf_token": token, "username": "X!", "role": "nurse"}
    )
    assert bad.status_code == 422
    assert 'data-testid="error-field">username<' in bad.text
    made = world.client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "nurse9",
            "role": "nurse",
            "display_name": "Nurse Nine",
        },
    )
    assert made.status_code == 200
    assert 'data-testid="shown-password"' in made.text
    admin_id = world.user_ids[Role.ADMIN]
    last = world.client.post(
        f"/admin/users/{admin_id}/active", data={"csrf_token": token, "active": "no"}
    )
    assert last.status_code == 422
    assert "last active administrator" in last.text
    audit = world.client.get("/admin/audit", params={"action": "user"})
    assert "user.create" in audit.text
    exported = world.client.get("/admin/audit", params={"action": "user", "format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    assert "user.create" in exported.text
    assert "admin1" in exported.text


def test_navigation_follows_the_role(world: World) -> None:
    sign_in(world, Role.SCHEDULER)
    nav = re.search(r'<nav aria-label="Main">.*?</nav>', world.client.get("/patients").text, re.S)
    assert nav
    assert 'href="/appointments/new"' in nav.group(0)
    assert 'href="/admin/users"' not in nav.group(0)
    assert 'href="/orders/new"' not in nav.group(0)
    page = world.client.get("/patients")
    assert 'data-idle-signout-s="900"' in page.text


def test_reschedule_and_cancel_need_a_reason(world: World) -> None:
    token = sign_in(world, Role.SCHEDULER)
    spare = world.ids["spare_appointment"]
    page = world.client.get(f"/appointments/{spare}")
    assert page.status_code == 200
    assert "Reschedule" in page.text
    moved = world.client.post(
        f"/appointments/{spare}/reschedule",
        data={
            "csrf_token": token,
            "day": (NOW.date() + timedelta(days=2)).isoformat(),
            "time": "09:00",
            "chair_id": world.ids["chair"],
            "reason": "",
        },
    )
    assert moved.status_code == 422
    assert 'data-testid="error-field">reason<' in moved.text
    moved = world.client.post(
        f"/appointments/{spare}/reschedule",
        data={
            "csrf_token": token,
            "day": (NOW.date() + timedelta(days=2)).isoformat(),
            "time": "09:00",
            "chair_id": world.ids["chair"],
            "reason": "patient asked",
        },
        follow_redirects=False,
    )
    assert moved.status_code == 303, moved.text
    stored = world.centre.queries.get_appointment(_system(world), spare)
    assert stored.status_reason == "patient asked"
    cancelled = world.client.post(
        f"/appointments/{spare}/cancel",
        data={"csrf_token": token, "reason": "no transport"},
        follow_redirects=False,
    )
    assert cancelled.status_code == 303
    stored = world.centre.queries.get_appointment(_system(world), spare)
    assert stored.status.value == "cancelled"
    assert stored.status_reason == "no transport"
