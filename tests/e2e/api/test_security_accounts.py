"""Account rules (issue 20): tokens only for oneself or a device, audited resets that force a
new password, revocation on password change, NIST passwords, the last admin, device limits,
browser sessions that survive a restart."""

from __future__ import annotations

import pytest

from msinfusion.adapters.web import create_app
from msinfusion.application.records import Role
from tests.e2e.api.security_worlds import WorldMaker
from tests.e2e.api.world import PASSWORD, TestClient, World

NEW_PASSWORD = "a fresh and long passphrase"


def _sign_in(world: World, username: str, password: str = PASSWORD) -> str:
    response = world.client.post(
        "/api/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


def test_an_admin_cannot_issue_a_token_for_a_physician(make_world: WorldMaker) -> None:
    world = make_world()
    physician = world.user_ids[Role.PHYSICIAN]
    refused = world.request(Role.ADMIN, "POST", f"/api/users/{physician}/tokens", json={})
    assert refused.status_code == 403
    audit = world.request(Role.ADMIN, "GET", "/api/audit?resource_type=token").json()
    assert any(e["action"] == "token.create" and e["outcome"] == "denied" for e in audit)
    device = world.user_ids[Role.DEVICE]
    issued = world.request(Role.ADMIN, "POST", f"/api/users/{device}/tokens", json={})
    assert issued.status_code == 201
    own = world.request(Role.PHYSICIAN, "POST", f"/api/users/{physician}/tokens", json={})
    assert own.status_code == 201
    assert own.json()["user_id"] == physician


def test_a_reset_forces_a_new_password_ends_sessions_and_is_shown(make_world: WorldMaker) -> None:
    world = make_world()
    nurse = world.user_ids[Role.NURSE]
    _sign_in(world, "nurse1")
    assert world.client.get("/api/auth/me").status_code == 200
    reset = world.request(
        Role.ADMIN, "PATCH", f"/api/users/{nurse}", json={"password": "temporary pass 2026"}
    )
    assert reset.status_code == 200
    assert reset.json()["must_change_password"] is True
    assert world.client.get("/api/auth/me").status_code == 401  # the old session ended
    assert world.request(Role.NURSE, "GET", "/api/patients").status_code == 401  # token too
    audit = world.request(Role.ADMIN, "GET", "/api/audit?resource_type=user").json()
    assert any(e["action"] == "user.password_reset" and e["resource_id"] == nurse for e in audit)
    csrf = _sign_in(world, "nurse1", "temporary pass 2026")
    me = world.client.get("/api/auth/me").json()
    assert me["must_change_password"] is True
    assert me["password_reset_at"]
    blocked = world.client.get("/api/patients")
    assert blocked.status_code == 403
    assert blocked.json()["error"] == "password-change-required"
    page = world.client.get("/password")
    assert "An administrator reset your password" in page.text
    change = world.client.post(
        "/api/auth/password",
        json={"current_password": "temporary pass 2026", "new_password": NEW_PASSWORD},
        headers={"X-CSRF-Token": csrf},
    )
    assert change.status_code == 204, change.text
    assert world.client.get("/api/patients").status_code == 200


def test_a_password_change_ends_other_sessions_and_tokens(make_world: WorldMaker) -> None:
    world = make_world()
    other = TestClient(world.client.app, base_url="https://testserver")
    other.post("/api/auth/login", json={"username": "nurse1", "password": PASSWORD})
    assert other.get("/api/auth/me").status_code == 200
    csrf = _sign_in(world, "nurse1")
    change = world.client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers={"X-CSRF-Token": csrf},
    )
    assert change.status_code == 204
    assert world.client.get("/api/auth/me").status_code == 200  # this browser stays
    assert other.get("/api/auth/me").status_code == 401
    assert world.request(Role.NURSE, "GET", "/api/auth/me").status_code == 401
    wrong = world.client.post(
        "/api/auth/password",
        json={"current_password": "not my password", "new_password": "another long one 1"},
        headers={"X-CSRF-Token": csrf},
    )
    assert wrong.status_code == 401


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short pw", "at least 12"),
        ("password1234", "commonly used"),
        ("1qaz2wsx3edc", "commonly used"),
        ("aaaaaaaaaaaaaa", "sequence"),
        ("abcdefghijklm", "sequence"),
        ("my msinfusion password", "service's name"),
        ("newuser1 is my name", "user name"),
    ],
)
def test_passwords_follow_nist_800_63b(make_world: WorldMaker, password: str, reason: str) -> None:
    world = make_world()
    body = {"username": "newuser1", "role": "nurse", "password": password}
    response = world.request(Role.ADMIN, "POST", "/api/users", json=body)
    assert response.status_code == 422
    assert reason in response.json()["message"]
    assert response.json()["field"] == "password"


def test_the_last_active_admin_cannot_demote_or_deactivate_themselves(
    make_world: WorldMaker,
) -> None:
    world = make_world()
    admin = world.user_ids[Role.ADMIN]
    for change in ({"role": "nurse"}, {"active": False}):
        refused = world.request(Role.ADMIN, "PATCH", f"/api/users/{admin}", json=change)
        assert refused.status_code == 422, refused.text
        assert "last active administrator" in refused.json()["message"]
    second = world.request(
        Role.ADMIN,
        "POST",
        "/api/users",
        json={"username": "admin2", "role": "admin", "password": "second admin passphrase"},
    )
    assert second.status_code == 201
    demoted = world.request(Role.ADMIN, "PATCH", f"/api/users/{admin}", json={"role": "nurse"})
    assert demoted.status_code == 200


def test_device_accounts_only_post_observations(make_world: WorldMaker) -> None:
    world = make_world()
    for path in ("/api/catalog", "/api/chairs", "/api/patients", "/api/board"):
        assert world.request(Role.DEVICE, "GET", path).status_code == 403, path
    assert world.request(Role.NURSE, "GET", "/api/chairs").status_code == 200


def test_browser_sessions_survive_a_restart(make_world: WorldMaker) -> None:
    world = make_world()
    _sign_in(world, "nurse1")
    cookie = world.client.cookies.get("msinfusion_session")
    assert cookie
    restarted = create_app(world.centre.__class__(**_fresh_services(world)))
    client = TestClient(restarted, base_url="https://testserver")
    client.cookies.set("msinfusion_session", cookie)
    assert client.get("/api/auth/me").json()["username"] == "nurse1"


def _fresh_services(world: World) -> dict[str, object]:
    """The same storage behind new service objects: what a new process builds."""
    from msinfusion.adapters.web import Settings
    from msinfusion.adapters.web.passwords import Argon2Hasher
    from msinfusion.bootstrap import build_centre

    centre = build_centre(
        Settings(), uow_factory=world.uow_factory, hasher=Argon2Hasher.fast(), clock=world.clock
    )
    return {name: getattr(centre, name) for name in centre.__dataclass_fields__}
