"""Login limits (issue 20): atomic, per account and address, per address, per account; trusted
proxies; login CSRF; device accounts never sign in with a password."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from msinfusion.adapters.web import Settings
from msinfusion.application.records import Role
from msinfusion.errors import AuthenticationFailed, TooManyAttempts
from tests.e2e.api.security_worlds import CountingHasher, WorldMaker
from tests.e2e.api.world import NOW, PASSWORD, World


def _login(
    world: World,
    username: str = "nurse1",
    password: str = PASSWORD,
    headers: dict[str, str] | None = None,
) -> object:
    body = {"username": username, "password": password}
    return world.client.post("/api/auth/login", json=body, headers=headers or {})


def _status(response: object) -> int:
    return int(response.status_code)  # type: ignore[attr-defined]


def test_a_race_of_40_wrong_passwords_makes_at_most_5_password_checks(
    make_world: WorldMaker,
) -> None:
    hasher = CountingHasher(delay_s=0.02)
    world = make_world(hasher=hasher)
    hasher.checks = 0
    outcomes: list[str] = []
    start = threading.Barrier(40)

    def guess() -> None:
        start.wait()
        try:
            world.centre.accounts.login("nurse1", "wrong password!", at=NOW, remote_addr="10.9.9.9")
        except TooManyAttempts:
            outcomes.append("paused")
        except AuthenticationFailed:
            outcomes.append("denied")

    threads = [threading.Thread(target=guess) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert hasher.checks <= 5
    assert outcomes.count("denied") == hasher.checks
    assert outcomes.count("paused") == 40 - hasher.checks


def test_concurrent_http_logins_are_limited_too(make_world: WorldMaker) -> None:
    hasher = CountingHasher(delay_s=0.02)
    world = make_world(hasher=hasher)
    hasher.checks = 0
    statuses: list[int] = []
    start = threading.Barrier(20)

    def guess() -> None:
        start.wait()
        statuses.append(_status(_login(world, password="wrong password!")))

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert hasher.checks <= 5
    assert sorted(set(statuses)) == [401, 429]


def test_one_address_failing_50_times_locks_out_nobody_elsewhere(make_world: WorldMaker) -> None:
    world = make_world()
    accounts = world.centre.accounts
    for i in range(50):
        with contextlib.suppress(AuthenticationFailed):
            accounts.login(f"nobody{i}", "wrong password!", at=NOW, remote_addr="10.6.6.6")
    try:
        accounts.login("nurse1", PASSWORD, at=NOW, remote_addr="10.6.6.6")
        raise AssertionError("the spraying address must be paused")
    except TooManyAttempts:
        pass
    assert accounts.login("nurse1", PASSWORD, at=NOW, remote_addr="10.1.1.1").username == "nurse1"
    assert accounts.login("admin1", PASSWORD, at=NOW, remote_addr="10.1.1.2").username == "admin1"


def test_others_failing_on_the_admin_account_do_not_lock_the_admin_out(
    make_world: WorldMaker,
) -> None:
    world = make_world()
    accounts = world.centre.accounts
    accounts.login("admin1", PASSWORD, at=NOW, remote_addr="10.0.0.5")  # the admin's desk
    for address in range(30):  # 150 failures from 30 addresses: past the account's 100
        for _ in range(5):
            with contextlib.suppress(AuthenticationFailed, TooManyAttempts):
                accounts.login("admin1", "wrong password!", at=NOW, remote_addr=f"10.7.0.{address}")
    assert accounts.login("admin1", PASSWORD, at=NOW, remote_addr="10.0.0.5").username == "admin1"
    try:  # a new address is held back once the account has had 100 failures
        accounts.login("admin1", PASSWORD, at=NOW, remote_addr="10.8.0.1")
        raise AssertionError("guessing from many addresses must be limited per account")
    except TooManyAttempts:
        pass


def test_a_success_hands_back_its_reservation(make_world: WorldMaker) -> None:
    world = make_world()
    for _ in range(20):
        assert _status(_login(world)) == 200
    for _ in range(5):
        assert _status(_login(world, password="wrong password!")) == 401
    assert _status(_login(world)) == 429
    world.clock.advance(timedelta(minutes=15))
    assert _status(_login(world)) == 200


def test_forwarded_addresses_count_only_from_trusted_proxies(make_world: WorldMaker) -> None:
    world = make_world(settings=Settings(trusted_proxies=("testclient",)))
    # TestClient's peer is "testclient": trusted here, so each forwarded caller is itself.
    for _ in range(5):
        wrong = _login(world, password="wrong password!", headers={"X-Forwarded-For": "10.2.0.1"})
        assert _status(wrong) == 401
    assert _status(_login(world, headers={"X-Forwarded-For": "10.2.0.1"})) == 429
    assert _status(_login(world, headers={"X-Forwarded-For": "10.2.0.2"})) == 200
    audit = world.centre.queries.list_audit(
        world.centre.accounts.get_principal(world.user_ids[Role.ADMIN]).acting(NOW, "t"),
        resource_type="user",
    )
    assert {"10.2.0.1", "10.2.0.2"} <= {e.remote_addr for e in audit}


def test_forwarded_addresses_from_anyone_else_are_ignored(make_world: WorldMaker) -> None:
    world = make_world()  # no trusted proxies: the header is the caller's own claim
    for i in range(5):
        spoofed = {"X-Forwarded-For": f"10.3.0.{i}"}
        assert _status(_login(world, password="wrong password!", headers=spoofed)) == 401
    assert _status(_login(world, headers={"X-Forwarded-For": "10.3.0.99"})) == 429


def test_trusted_proxies_come_from_the_environment() -> None:
    settings = Settings.from_env({"MSINFUSION_TRUSTED_PROXIES": "10.0.0.2, 192.168.0.0/16"})
    assert settings.trusted_proxies == ("10.0.0.2", "192.168.0.0/16")
    with pytest.raises(ValueError, match="MSINFUSION_TRUSTED_PROXIES"):
        Settings.from_env({"MSINFUSION_TRUSTED_PROXIES": "proxy.example"})


def test_serve_passes_the_trusted_proxies_to_uvicorn(monkeypatch: object) -> None:
    import uvicorn

    from msinfusion.entrypoints import server_cli

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))  # type: ignore[attr-defined]
    settings = replace(Settings(), trusted_proxies=("10.0.0.2",))
    server_cli._run(object(), "127.0.0.1", 8000, settings)  # type: ignore[arg-type]
    assert seen["proxy_headers"] is True
    assert seen["forwarded_allow_ips"] == "10.0.0.2"
    server_cli._run(object(), "127.0.0.1", 8000, Settings())  # type: ignore[arg-type]
    assert seen["proxy_headers"] is False


def test_the_login_form_refuses_cross_site_and_tokenless_posts(make_world: WorldMaker) -> None:
    world = make_world()
    form = {"username": "nurse1", "password": PASSWORD}
    assert world.client.post("/login", data=form, follow_redirects=False).status_code == 403
    page = world.client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    cross = world.client.post(
        "/login",
        data={**form, "csrf_token": token},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        follow_redirects=False,
    )
    assert cross.status_code == 403
    assert "msinfusion_session" not in world.client.cookies
    page = world.client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    good = world.client.post("/login", data={**form, "csrf_token": token}, follow_redirects=False)
    assert good.status_code == 303
    assert world.client.cookies.get("msinfusion_session")


def test_the_json_login_refuses_cross_site_posts(make_world: WorldMaker) -> None:
    world = make_world()
    cross = _login(world, headers={"Origin": "https://evil.example"})
    assert _status(cross) == 403
    assert _status(_login(world, headers={"Origin": "https://testserver"})) == 200


def test_device_accounts_never_sign_in_with_a_password(make_world: WorldMaker) -> None:
    world = make_world()
    assert _status(_login(world, "device1")) == 401
    page = world.client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    ui = world.client.post(
        "/login",
        data={"username": "device1", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert ui.status_code == 401
