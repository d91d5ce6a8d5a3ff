"""Sign-in by cookie with CSRF, bearer tokens, login rate limiting and the audit trail."""

from __future__ import annotations

from datetime import timedelta

from msinfusion.application.records import Role
from tests.e2e.api.world import PASSWORD, World


def _login(world: World, username: str = "nurse1", password: str = PASSWORD) -> object:
    return world.client.post("/api/auth/login", json={"username": username, "password": password})


def test_login_sets_a_secure_httponly_samesite_cookie_and_a_csrf_cookie(world: World) -> None:
    response = _login(world)
    assert response.status_code == 200  # type: ignore[attr-defined]
    cookies = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    session = next(c for c in cookies if c.startswith("msinfusion_session="))
    csrf = next(c for c in cookies if c.startswith("msinfusion_csrf="))
    for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert flag.lower() in session.lower()
    assert "httponly" not in csrf.lower()
    assert "secure" in csrf.lower()
    assert response.json()["role"] == "nurse"  # type: ignore[attr-defined]


def test_cookie_reads_need_no_csrf_but_writes_do(world: World) -> None:
    token = _login(world).json()["csrf_token"]  # type: ignore[attr-defined]
    before = world.client.get("/api/patients")
    assert before.status_code == 200
    body = {"display_name": "Synthetic Patient 03"}
    missing = world.client.post("/api/patients", json=body)
    assert missing.status_code == 403
    assert missing.json()["error"] == "csrf-failed"
    forged = world.client.post("/api/patients", json=body, headers={"X-CSRF-Token": "guess"})
    assert forged.status_code == 403
    assert world.client.get("/api/patients").json() == before.json()
    good = world.client.post("/api/patients", json=body, headers={"X-CSRF-Token": token})
    assert good.status_code == 201


def test_bearer_tokens_need_no_csrf(world: World) -> None:
    response = world.request(Role.NURSE, "POST", "/api/patients", json={"display_name": "S"})
    assert response.status_code == 201


def test_logout_ends_the_session_server_side(world: World) -> None:
    response = _login(world)
    token = response.json()["csrf_token"]  # type: ignore[attr-defined]
    stolen = world.client.cookies.get("msinfusion_session")
    assert world.client.post("/api/auth/logout", headers={"X-CSRF-Token": token}).status_code == 204
    assert stolen
    assert world.client.get("/api/auth/me").status_code == 401  # the cookie is gone
    world.client.cookies.set("msinfusion_session", stolen)  # replaying it does not help
    assert world.client.get("/api/auth/me").status_code == 401


def test_sessions_expire_when_idle(world: World) -> None:
    _login(world)
    assert world.client.get("/api/auth/me").status_code == 200
    world.clock.advance(timedelta(minutes=31))
    assert world.client.get("/api/auth/me").status_code == 401


def test_login_failures_are_limited_per_user_and_address(world: World) -> None:
    for _ in range(5):
        assert _login(world, password="wrong password").status_code == 401  # type: ignore[attr-defined]
    paused = _login(world)  # the right password no longer helps while paused
    assert paused.status_code == 429  # type: ignore[attr-defined]
    assert paused.json()["error"] == "too-many-attempts"  # type: ignore[attr-defined]
    assert int(paused.headers["retry-after"]) == 15 * 60  # type: ignore[attr-defined]
    assert _login(world, "physician1").status_code == 200  # type: ignore[attr-defined]
    world.clock.advance(timedelta(minutes=15))
    assert _login(world).status_code == 200  # type: ignore[attr-defined]


def test_unknown_user_and_wrong_password_look_the_same(world: World) -> None:
    unknown = _login(world, "nobody", "whatever it is")
    wrong = _login(world, "nurse1", "whatever it is")
    assert unknown.status_code == wrong.status_code == 401  # type: ignore[attr-defined]
    assert unknown.json() == wrong.json()  # type: ignore[attr-defined]


def test_a_revoked_token_and_a_deactivated_user_are_refused(world: World) -> None:
    token = world.request(  # a token only for oneself (issue 20)
        Role.VIEWER,
        "POST",
        f"/api/users/{world.user_ids[Role.VIEWER]}/tokens",
        json={"label": "ci"},
    ).json()
    assert token["token"].startswith("msi_")
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert world.client.get("/api/catalog", headers=headers).status_code == 200
    listed = world.request(Role.ADMIN, "GET", "/api/tokens").json()
    assert all("hash" not in key for entry in listed for key in entry)
    world.request(Role.ADMIN, "POST", f"/api/tokens/{token['id']}/revoke")
    assert world.client.get("/api/catalog", headers=headers).status_code == 401
    world.request(
        Role.ADMIN, "PATCH", f"/api/users/{world.user_ids[Role.NURSE]}", json={"active": False}
    )
    assert world.request(Role.NURSE, "GET", "/api/catalog").status_code == 401


def test_writes_and_patient_reads_are_audited_without_patient_data(world: World) -> None:
    patient_id = world.ids["patient"]
    world.request(Role.PHYSICIAN, "GET", f"/api/patients/{patient_id}")
    world.request(Role.VIEWER, "PATCH", f"/api/patients/{patient_id}", json={"weight_kg": 80})
    world.request(Role.NURSE, "PATCH", f"/api/patients/{patient_id}", json={"weight_kg": 72})
    world.request(Role.NURSE, "GET", "/api/board?date=2026-03-02")
    entries = world.request(Role.ADMIN, "GET", "/api/audit").json()
    mine = [(e["user_id"], e["action"], e["resource_id"], e["outcome"]) for e in entries]
    assert (world.user_ids[Role.PHYSICIAN], "patient.read", patient_id, "ok") in mine
    assert (world.user_ids[Role.VIEWER], "patient.update", patient_id, "denied") in mine
    assert (world.user_ids[Role.NURSE], "patient.update", patient_id, "ok") in mine
    assert (world.user_ids[Role.NURSE], "board.read", "2026-03-02", "ok") in mine
    last = entries[-1]
    assert last["remote_addr"] == "testclient"
    assert last["at"] == "2026-03-02T10:45:00Z"
    assert "Synthetic" not in str(entries)


def test_session_commands_are_audited_with_their_outcome(world: World) -> None:
    sid = world.ids["session"]
    body = {
        "expected_version": 6,
        "command": {"command": "ChangeRate", "at": "2026-03-02T10:45:00Z", "rate_ml_per_h": 900},
    }
    world.request(Role.NURSE, "POST", f"/api/sessions/{sid}/commands", json=body)
    world.request(
        Role.NURSE, "POST", f"/api/sessions/{sid}/commands", json={**body, "expected_version": 2}
    )
    entries = world.request(Role.ADMIN, "GET", "/api/audit?resource_type=session").json()
    outcomes = [e["outcome"] for e in entries if e["action"] == "session.command.ChangeRate"]
    assert outcomes[-2].startswith("refused:")
    assert outcomes[-1] == "conflict"


def test_only_admins_read_the_audit_trail_and_reading_it_is_audited(world: World) -> None:
    assert world.request(Role.PHYSICIAN, "GET", "/api/audit").status_code == 403
    world.request(Role.ADMIN, "GET", "/api/audit")
    entries = world.request(Role.ADMIN, "GET", "/api/audit?resource_type=audit").json()
    assert [e["action"] for e in entries] == ["audit.read", "audit.read"]
