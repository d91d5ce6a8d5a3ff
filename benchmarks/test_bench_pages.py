"""Load times of the pages of issue 18 on the demo centre and on a centre with 10,000 patients.

Each centre is a SQLite file in ``tmp_path`` (WAL, ``synchronous=FULL``) filled by
``msinfusion.application.demo.load_demo`` (10 patients, 6 chairs, a day under way); the large one
gets 10,000 more synthetic patients (each with an MRN and its ``patient.create`` audit entry,
written in one transaction, as a registration desk would over years). Every page is fetched
through the FastAPI TestClient by a signed-in user of the role that uses it: the time is the
server's whole answer (authentication, the audited reads, rendering), not the browser's paint.

Times are medians of ``ROUNDS`` fetches after one warm-up, and are reported as a ratio to the
sign-in page (``GET /login``: a template and no database read) measured in the same run, so
that runs on a loaded machine stay comparable. With ``--benchmark-disable`` (the smoke run) the
large centre has ``SMOKE_PATIENTS`` patients and every page is fetched twice.
Run with ``make bench``; results go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from msinfusion.adapters.storage.engine import sqlite_url
from msinfusion.adapters.web import Settings, create_app
from msinfusion.adapters.web.passwords import Argon2Hasher
from msinfusion.application.centre import Centre
from msinfusion.application.demo import DemoCentre, load_demo
from msinfusion.application.records import AuditEntry, Patient, PatientIdentifier, Role
from msinfusion.bootstrap import build_centre, build_unit_of_work_factory
from tests.e2e.api.world import TestClient  # imported there without starlette's httpx2 warning

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ZONE = "Europe/Zurich"
ROUNDS = 15
SMOKE_ROUNDS = 2
LARGE = 10_000
SMOKE_PATIENTS = 200
REFERENCE = "/login"


class FixedClock:
    def __call__(self) -> datetime:
        return NOW


def add_patients(centre: Centre, count: int) -> None:
    """``count`` synthetic patients with an MRN and their audit entry, in one transaction."""
    with centre.access.uow_factory() as uow:
        for number in range(1, count + 1):
            patient_id = f"patient-bench-{number:06d}"
            uow.patients.add(
                Patient(
                    id=patient_id,
                    display_name=f"Synthetic Bench {number:05d}",
                    date_of_birth=date(1950 + number % 50, 1 + number % 12, 1 + number % 28),
                    height_cm=Decimal(150 + number % 40),
                    weight_kg=Decimal(50 + number % 45),
                    identifiers=(PatientIdentifier(system="MRN", value=f"B-{number:06d}"),),
                    synthetic=True,
                )
            )
            uow.audit.record(
                AuditEntry(
                    at=NOW,
                    user_id=None,
                    action="patient.create",
                    resource_type="patient",
                    resource_id=patient_id,
                    remote_addr=None,
                    outcome="ok",
                )
            )
        uow.commit()


def _centre(path: Path, extra_patients: int) -> tuple[Centre, DemoCentre, Settings]:
    settings = Settings(centre_timezone=ZONE, cookie_secure=False)
    factory = build_unit_of_work_factory(sqlite_url(path))
    centre = build_centre(
        settings, uow_factory=factory, hasher=Argon2Hasher.fast(), clock=FixedClock()
    )
    demo = load_demo(centre, now=NOW)
    add_patients(centre, extra_patients)
    return centre, demo, settings


def _client(app: object, demo: DemoCentre, role: Role) -> TestClient:
    user = next(u for u in demo.users if u.role is role)
    client = TestClient(app)  # type: ignore[arg-type]  # a FastAPI app
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "the sign-in form has no CSRF token"
    answer = client.post(
        "/login",
        data={
            "username": user.username,
            "password": user.password,
            "next": "/",
            "csrf_token": token.group(1),
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def _pages(centre: Centre, demo: DemoCentre) -> list[tuple[str, Role, str]]:
    """(page, role, path) for every page of issue 18, on the demo centre's own records."""
    nurse = next(u for u in demo.users if u.role is Role.NURSE)
    actor = centre.accounts.login(nurse.username, nurse.password, at=NOW, remote_addr="bench")
    acting = actor.acting(NOW, "bench")
    demo_patients = [
        p
        for p in centre.queries.list_patients(acting)
        if p.id.startswith("patient-bench-") is False
    ]
    patient = min(demo_patients, key=lambda p: p.display_name)
    order = centre.queries.list_orders(acting, patient_id=patient.id)[0]
    board = centre.queries.get_board(acting, NOW.date(), Settings(centre_timezone=ZONE).zone)
    rows = [row.to_json_dict(UTC) for row in board]
    session = next(row["session_id"] for row in rows if row.get("session_id"))
    return [
        ("/patients/new", Role.NURSE, "/patients/new"),
        ("/orders/new", Role.PHYSICIAN, f"/orders/new?patient_id={patient.id}"),
        ("/orders/{id}", Role.PHYSICIAN, f"/orders/{order.id}"),
        ("/appointments/new", Role.SCHEDULER, f"/appointments/new?order_id={order.id}"),
        ("/appointments/series", Role.SCHEDULER, f"/appointments/series?order_id={order.id}"),
        ("/admin/audit?patient=…", Role.ADMIN, f"/admin/audit?patient={patient.id}"),
        ("/admin/audit?action=…", Role.ADMIN, "/admin/audit?action=patient.create"),
        ("/pharmacy", Role.PHARMACIST, "/pharmacy"),
        ("/admin/users", Role.ADMIN, "/admin/users"),
        ("/admin/audit", Role.ADMIN, "/admin/audit"),
        ("/sessions/{id}/record", Role.NURSE, f"/sessions/{session}/record"),
    ]


def _median_ms(fetch: Callable[[], object], rounds: int) -> float:
    fetch()  # warm-up: templates compiled, caches filled
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        fetch()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds) * 1000


@pytest.mark.parametrize("size", ["demo", "large"])
def test_page_load_times_as_ratios_to_the_sign_in_page(
    benchmark: BenchmarkFixture, tmp_path: Path, size: str
) -> None:
    smoke = benchmark.disabled
    extra = 0 if size == "demo" else (SMOKE_PATIENTS if smoke else LARGE)
    rounds = SMOKE_ROUNDS if smoke else ROUNDS
    built = time.perf_counter()
    centre, demo, settings = _centre(tmp_path / f"{size}.db", extra)
    built_s = time.perf_counter() - built
    app = create_app(centre, settings=settings)
    clients = {role: _client(app, demo, role) for role in Role if role is not Role.DEVICE}
    anonymous = TestClient(app)

    def get(client: TestClient, path: str) -> Callable[[], object]:
        def fetch() -> object:
            answer = client.get(path)
            assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text[:300]}"
            return answer

        return fetch

    reference = _median_ms(get(anonymous, REFERENCE), rounds)
    rows = []
    for page, role, path in _pages(centre, demo):
        ms = _median_ms(get(clients[role], path), rounds)
        rows.append((page, role.value, ms, ms / reference))
    patients = demo.patients + extra
    print(
        f"\n[{size}: {patients} patients, built in {built_s:.1f} s] {REFERENCE} {reference:.1f} ms"
    )
    for page, role, ms, ratio in rows:
        print(f"  {page:<24} {role:<10} {ms:7.1f} ms  {ratio:5.1f}x {REFERENCE}")
    benchmark.extra_info.update(
        {"patients": patients, "reference_ms": round(reference, 2)}
        | {f"{page} ms": round(ms, 2) for page, _, ms, _ in rows}
        | {f"{page} ratio": round(ratio, 2) for page, _, _, ratio in rows}
    )
    pharmacy = get(clients[Role.PHARMACIST], "/pharmacy")
    benchmark.pedantic(pharmacy, rounds=1, iterations=1)
