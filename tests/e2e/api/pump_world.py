"""A centre with one smart pump at Chair 2, its simulated gateway and the PCD-10 listener.

The session at Chair 2 is checked in, assessed and premedicated (the simulated visit's own
commands, charted as they happened) and waits for the nurse's start at ``T0``. The centre,
the simulator and the tests share one clock, moved by hand: pump times are exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, timedelta
from fractions import Fraction
from typing import Any

from msinfusion.adapters.pumps.link import MllpEndpoint, MllpPumpGateway, feed_answerer
from msinfusion.adapters.pumps.simulator import PumpSimulator, mllp_sender
from msinfusion.adapters.web import Settings
from msinfusion.application.pump_records import PumpOrder
from msinfusion.application.records import Role
from msinfusion.catalog import shipped_catalog
from msinfusion.catalog.drug_library import build_library
from msinfusion.session.commands import CheckIn, StartInfusion
from msinfusion.session.simulate import simulate
from tests.e2e.api.world import (
    NOW,
    PROTOCOL_ID,
    World,
    actor_for,
    build_world,
    identified,
    patient_on_course,
)

PUMP = "PUMP-0001"
T0 = NOW + timedelta(hours=1)
"""When the nurse starts the drug at Chair 2."""


@dataclass
class PumpWorld:
    world: World
    simulator: PumpSimulator
    session_id: str
    patient_id: str
    listener_port: int
    gateway_port: int
    version: int

    def at(self, minutes: float) -> None:
        """Move the shared clock to ``T0 + minutes`` and let the pumps run to it."""
        self.world.clock.now = T0 + timedelta(minutes=minutes)
        self.simulator.advance()

    def nurse(self, command: dict[str, Any]) -> Any:
        """A command from the nurse, through the JSON API, at the clock's time."""
        body = {
            "expected_version": self.version,
            "command": {"at": self.world.clock().isoformat(), **command},
        }
        answer = self.world.request(
            Role.NURSE, "POST", f"/api/sessions/{self.session_id}/commands", json=body
        )
        assert answer.status_code == 200, answer.text
        self.version = answer.json()["version"]
        self.send()
        return answer.json()

    def send(self) -> int:
        """One round of the order dispatcher, here and now (the background sender's work,
        done in the test's thread so that what follows sees its outcome)."""
        return self.world.centre.pump_orders.dispatch(now=self.world.clock())

    def refresh(self) -> None:
        self.version = self.world.service.get_version(self.session_id)

    def orders(self) -> list[PumpOrder]:
        nurse = actor_for(self.world, Role.NURSE)
        return self.world.centre.pump_orders.list_for_session(nurse, self.session_id)

    def events(self) -> list[dict[str, Any]]:
        answer = self.world.request(Role.NURSE, "GET", f"/api/sessions/{self.session_id}/events")
        events: list[dict[str, Any]] = answer.json()["events"]
        return events


@contextmanager
def pump_world(
    *, associate: bool = True, gateway: bool = True, uow_factory: Any = None
) -> Iterator[PumpWorld]:
    world = build_world(uow_factory, settings=Settings())  # no pump setting: the chair decides
    centre, clock = world.centre, world.clock
    nurse, physician = actor_for(world, Role.NURSE), actor_for(world, Role.PHYSICIAN)
    from msinfusion.application.audit import system_actor

    chair = centre.records.add_chair(system_actor(NOW), name="Chair 2")
    patient, order = patient_on_course(centre, physician, nurse, "Synthetic Patient 03")
    appointment = centre.records.book_appointment(
        nurse,
        patient_id=patient.id,
        chair_id=chair.id,
        protocol_id=PROTOCOL_ID,
        dose_number=3,
        starts_at=T0 - timedelta(minutes=30),
        order_id=order.id,
    )
    session_id = centre.sessions.open_session(nurse, appointment_id=appointment.id)
    version = _prepare(world, session_id, patient)
    if associate:
        centre.pump_orders.associate(replace(nurse, at=clock()), PUMP, chair.id)
    library = build_library(shipped_catalog()).to_json_dict()
    with ExitStack() as stack:
        listener = stack.enter_context(
            MllpEndpoint(feed_answerer(centre.pump_feed.ingest, clock, orders=centre.pump_orders))
        )
        simulator = PumpSimulator(
            pump_ids=(PUMP,),
            library_max_rate=PumpSimulator.library_from_json(library),
            clock=clock,
            send=mllp_sender("127.0.0.1", listener.port),
        )
        endpoint = stack.enter_context(MllpEndpoint(simulator.answer_order))
        if gateway:
            centre.pump_orders.use_gateway(MllpPumpGateway("127.0.0.1", endpoint.port))
        clock.now = T0
        yield PumpWorld(
            world=world,
            simulator=simulator,
            session_id=session_id,
            patient_id=patient.id,
            listener_port=listener.port,
            gateway_port=endpoint.port,
            version=version,
        )


def _prepare(world: World, session_id: str, patient: Any) -> int:
    """Everything of the simulated visit before its start, charted as it happened."""
    protocol = shipped_catalog().get_protocol(PROTOCOL_ID)
    visit = simulate(protocol, T0, dose_number=3)
    nurse = actor_for(world, Role.NURSE)
    version = 0
    for command in visit.commands:
        if isinstance(command, StartInfusion):
            break
        typed = replace(command, user=nurse.username)
        if isinstance(typed, CheckIn):
            typed = replace(typed, patient_id=patient.id, **identified(patient))
        world.clock.now = command.at
        version = world.centre.sessions.handle(
            replace(nurse, at=command.at),
            session_id,
            typed,
            expected_version=version,
            display_tz=UTC,
        ).version
    return version


def ml(value: str | int) -> Fraction:
    return Fraction(value)
