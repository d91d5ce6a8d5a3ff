"""A generated centre for the worklist and ledger tests: synthetic patients on each infused
therapy with hand-chosen dose histories (NOW = 2026-03-02, tests/e2e/api/world.py).

Shared by the unit, API and benchmark tests (``generate`` scales it to any size)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from msinfusion.adapters.web import Settings
from msinfusion.application.records import Role
from tests.e2e.api.world import World, actor_for, build_world

ALEMTUZUMAB_START = date(2025, 12, 1)
NATALIZUMAB_START = date(2026, 1, 5)
MITOXANTRONE_START = date(2025, 12, 2)
OCRELIZUMAB_START = date(2026, 2, 16)


@dataclass
class Centre:
    world: World
    patients: dict[str, str]
    orders: dict[str, str]


def _patient(world: World, name: str, **values: Any) -> str:
    patient = world.centre.records.add_patient(
        actor_for(world, Role.NURSE), display_name=name, synthetic=True, **values
    )
    return str(patient.id)


def _order(world: World, patient_id: str, therapy_id: str, start: date, **options: str) -> str:
    order = world.centre.records.add_order(
        actor_for(world, Role.PHYSICIAN),
        patient_id=patient_id,
        therapy_id=therapy_id,
        start_date=start,
        options=tuple(options.items()),
    )
    return str(order.id)


def given(world: World, patient_id: str, order_id: str, days: list[date]) -> None:
    nurse = actor_for(world, Role.NURSE)
    for number, day in enumerate(days, start=1):
        world.centre.clinical.record(
            nurse,
            patient_id,
            "given-dose",
            {"order_id": order_id, "dose_number": number, "on": day.isoformat()},
        )


def alemtuzumab_patient(world: World, name: str, *, sex: str = "male") -> tuple[str, str]:
    """Course 1 given 2025-12-01 to 12-05; no monitoring result recorded."""
    patient_id = _patient(world, name, sex=sex)
    order_id = _order(world, patient_id, "alemtuzumab", ALEMTUZUMAB_START)
    given(world, patient_id, order_id, [ALEMTUZUMAB_START + timedelta(days=k) for k in range(5)])
    return patient_id, order_id


def natalizumab_patient(world: World, name: str) -> tuple[str, str]:
    """Doses 1 and 2 given 2026-01-05 and 02-02 (every 4 weeks): dose 3 is due today."""
    patient_id = _patient(world, name)
    order_id = _order(world, patient_id, "natalizumab", NATALIZUMAB_START)
    given(world, patient_id, order_id, [NATALIZUMAB_START, NATALIZUMAB_START + timedelta(weeks=4)])
    return patient_id, order_id


def mitoxantrone_patient(world: World, name: str) -> tuple[str, str]:
    """Dose 1 given 2025-12-02; dose 2 is due 3 months later (2026-03-02)."""
    patient_id = _patient(world, name)
    order_id = _order(world, patient_id, "mitoxantrone", MITOXANTRONE_START)
    given(world, patient_id, order_id, [MITOXANTRONE_START])
    return patient_id, order_id


def ocrelizumab_patient(world: World, name: str) -> tuple[str, str]:
    """Dose 1 (300 mg) given 2026-02-16; dose 2 is due day 15 (2026-03-02)."""
    patient_id = _patient(world, name)
    order_id = _order(world, patient_id, "ocrelizumab", OCRELIZUMAB_START)
    given(world, patient_id, order_id, [OCRELIZUMAB_START])
    return patient_id, order_id


def build(jurisdiction: str | None = "US") -> Centre:
    world = build_world(settings=Settings(jurisdiction=jurisdiction), clinical=False)
    patients: dict[str, str] = {}
    orders: dict[str, str] = {}
    for therapy, make in (
        ("alemtuzumab", alemtuzumab_patient),
        ("natalizumab", natalizumab_patient),
        ("mitoxantrone", mitoxantrone_patient),
        ("ocrelizumab", ocrelizumab_patient),
    ):
        patients[therapy], orders[therapy] = make(world, f"Synthetic {therapy.title()} 01")
    return Centre(world=world, patients=patients, orders=orders)


MAKERS = (alemtuzumab_patient, natalizumab_patient, mitoxantrone_patient)


def generate(patients: int, jurisdiction: str | None = "US") -> World:
    """A centre of ``patients`` active patients, the three therapies in turn."""
    world = build_world(settings=Settings(jurisdiction=jurisdiction), clinical=False)
    for k in range(patients):
        MAKERS[k % len(MAKERS)](world, f"Synthetic Patient {k:05d}")
    return world
