"""Bulk Data ``$export`` of the whole centre: time and size, against a raw JSON dump.

Two centres, in memory:

1. the demo centre (``application.demo.load_demo``: 10 patients, the day's sessions at every
   stage, their course histories and screening results);
2. a generated centre of ``GENERATED`` sessions: the FHIR test world (``tests/e2e/fhir``) with
   its completed infusion copied, event for event, into that many further sessions, each of
   its own synthetic patient (19 stored events each: check-in, premedications — one charted
   late —, a full vital-sign set, a device reading, the rate ladder, a moderate reaction with
   rescue medication, completion, discharge).

For each: the kick-off ``GET /fhir/$export`` (``Prefer: respond-async``; the job runs in the
request: bulk.py) and the download of every NDJSON file, as the nurse through the FastAPI
TestClient, timed once (``benchmark.pedantic``, one round: the export is the whole record, and
the 10,000-session one takes minutes). The
reference, in the same run: ``json.dumps`` of the same rows as stored (every stream's event
dicts and every patient, order, appointment and clinical entry as plain dicts) — what a bare
dump of the store costs, with no folding, no FHIR mapping and no validation. Reported: seconds,
resources, bytes, and the ratios export/reference of time and size.

With ``--benchmark-disable`` (the smoke run) the generated centre has ``SMOKE_SESSIONS``
sessions. Run with ``make bench``; results go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

from pytest_benchmark.fixture import BenchmarkFixture

from msinfusion.application.demo import load_demo
from msinfusion.application.queries import to_json
from msinfusion.application.records import PatientIdentifier, Role
from tests.e2e.api.world import NOW, World, build_world
from tests.e2e.fhir.world import build_fhir_world

GENERATED = 10_000
SMOKE_SESSIONS = 20
ASYNC = {"Prefer": "respond-async"}
BASE = "https://testserver"


def _generate(world: World, template_session: str, template_patient: str, count: int) -> None:
    """``count`` copies of the template session, each with a synthetic patient of its own."""
    with world.uow_factory() as uow:
        events = uow.events.read(template_session)
        summary = uow.sessions.get(template_session)
        patient = uow.patients.get(template_patient)
        for n in range(count):
            patient_id, session_id = f"patient-gen-{n:05d}", f"session-gen-{n:05d}"
            uow.patients.add(
                replace(
                    patient,
                    id=patient_id,
                    display_name=f"Synthetic Patient G{n:05d}",
                    identifiers=(
                        PatientIdentifier(system="urn:msinfusion:bench:mrn", value=f"G{n:05d}"),
                    ),
                    allergies=(),
                )
            )
            copied = [dict(e) for e in events]
            copied[0] = {
                **copied[0],
                "patient_id": patient_id,
                "command": {**copied[0]["command"], "patient_id": patient_id},
            }
            uow.events.append(session_id, copied, expected_version=0)
            uow.sessions.add(replace(summary, session_id=session_id, patient_id=patient_id))
        uow.commit()


def _raw_dump(world: World) -> tuple[float, int]:
    """The reference: ``json.dumps`` of the stored rows (seconds, bytes)."""
    started = time.perf_counter()
    with world.uow_factory() as uow:
        rows: list[Any] = []
        for stream in uow.events.list_streams():
            rows.extend(uow.events.read(stream))
        for patient in uow.patients.list():
            rows.append(to_json(patient))
            rows.extend(to_json(e) for e in uow.clinical_entries.list_for_patient(patient.id))
        rows.extend(to_json(o) for o in uow.orders.list())
        rows.extend(to_json(a) for a in uow.appointments.list())
    size = sum(len(json.dumps(r, separators=(",", ":")).encode()) + 1 for r in rows)
    return time.perf_counter() - started, size


def _export(world: World) -> tuple[float, int, int]:
    """The kick-off and every file's download (seconds, resources, bytes)."""
    started = time.perf_counter()
    kicked = world.request(Role.NURSE, "GET", "/fhir/$export", headers=ASYNC)
    assert kicked.status_code == 202, kicked.text
    status = kicked.headers["content-location"].removeprefix(BASE)
    manifest = world.request(Role.NURSE, "GET", status).json()
    size = 0
    for output in manifest["output"]:
        size += len(world.request(Role.NURSE, "GET", output["url"].removeprefix(BASE)).content)
    elapsed = time.perf_counter() - started
    return elapsed, sum(o["count"] for o in manifest["output"]), size


def _measure(benchmark: BenchmarkFixture, world: World, label: str, sessions: int) -> None:
    raw_s, raw_bytes = _raw_dump(world)
    export_s, resources, export_bytes = benchmark.pedantic(
        _export, args=(world,), rounds=1, iterations=1
    )
    found = {
        f"{label}_sessions": sessions,
        f"{label}_export_s": round(export_s, 3),
        f"{label}_resources": resources,
        f"{label}_export_bytes": export_bytes,
        f"{label}_raw_dump_s": round(raw_s, 4),
        f"{label}_raw_bytes": raw_bytes,
        f"{label}_time_ratio": round(export_s / raw_s, 1),
        f"{label}_size_ratio": round(export_bytes / raw_bytes, 2),
        f"{label}_ms_per_resource": round(1000 * export_s / max(resources, 1), 3),
    }
    benchmark.extra_info.update(found)
    print()
    print(
        f"[{label}] {sessions} sessions: $export {export_s:.2f} s, {resources} resources, "
        f"{export_bytes / 1e6:.2f} MB; raw json.dumps {raw_s:.3f} s, {raw_bytes / 1e6:.2f} MB; "
        f"time x{export_s / raw_s:.0f}, size x{export_bytes / raw_bytes:.2f}"
    )


def _sessions(world: World) -> int:
    with world.uow_factory() as uow:
        return len([s for s in uow.sessions.list() if s.version > 0])


def test_export_the_demo_centre(benchmark: BenchmarkFixture) -> None:
    world = build_world(clinical=False)
    world.clock.now = NOW
    load_demo(world.centre, now=NOW, seed=2026, new_password=lambda: "demo password 1")
    _measure(benchmark, world, "demo", _sessions(world))


def test_export_a_generated_centre(benchmark: BenchmarkFixture) -> None:
    count = SMOKE_SESSIONS if benchmark.disabled else GENERATED
    fhir = build_fhir_world()
    _generate(fhir.api, fhir.ids["session_a"], fhir.ids["patient_a"], count)
    _measure(benchmark, fhir.api, "generated", _sessions(fhir.api))


def test_the_generated_copies_export_like_their_template() -> None:
    """The generator is faithful: a copy's resources are its template's, renamed."""
    fhir = build_fhir_world()
    _generate(fhir.api, fhir.ids["session_a"], fhir.ids["patient_a"], 1)
    template = fhir.get(Role.NURSE, f"/fhir/MedicationAdministration/{fhir.ids['session_a']}")
    copy = fhir.get(Role.NURSE, "/fhir/MedicationAdministration/session-gen-00000")
    expected = json.loads(
        template.text.replace(fhir.ids["session_a"], "session-gen-00000").replace(
            fhir.ids["patient_a"], "patient-gen-00000"
        )
    )
    found = copy.json()
    expected.pop("request", None)  # the copy has no appointment, so no order
    assert found == expected
