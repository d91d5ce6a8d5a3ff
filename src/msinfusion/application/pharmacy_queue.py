"""The pharmacy's verification queue: the centre day's doses with what a pharmacist checks.

For every appointment of the day (cancelled ones left out): the patient, the order, the
protocol and its catalog version, the dose, the gates of the dose on that day — decided by
``ClinicalRecords.dose_gates``, the same call the start of the infusion makes, never derived
again here — the patient's latest laboratory results (retracted ones left out) and the
pharmacy's own rows for the dose (``pharmacy_records``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from msinfusion.application.clinical_record_view import retracted_ids
from msinfusion.application.clinical_records import ClinicalRecords
from msinfusion.application.pharmacy_records import DosePreparation, current_preparation
from msinfusion.application.ports import UnitOfWork
from msinfusion.application.reaction_history import reaction_history
from msinfusion.application.records import (
    Appointment,
    AppointmentStatus,
    ClinicalEntry,
    ClinicalEntryKind,
    Patient,
    TherapyOrder,
)
from msinfusion.application.session_streams import SessionStreams
from msinfusion.catalog.model import Protocol
from msinfusion.catalog.registry import Catalog
from msinfusion.errors import MsinfusionError
from msinfusion.planning.gates import GateResult, GateStage


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedDose:
    """One dose of the day as the pharmacist verifies it."""

    appointment: Appointment
    patient: Patient
    order: TherapyOrder | None
    protocol: Protocol
    gates: tuple[GateResult, ...]
    gate_problem: str | None
    """Why the gates could not be decided (e.g. the dose is before its minimum interval)."""
    labs: tuple[ClinicalEntry, ...]
    rows: tuple[DosePreparation, ...]
    """The pharmacy's rows for the dose, oldest first (returned ones stay on record)."""
    contraindicated_because: str | None = None
    """Why the patient's history contraindicates this therapy (verification is refused)."""

    @property
    def preparation(self) -> DosePreparation | None:
        return current_preparation(self.rows)

    @property
    def blocking(self) -> tuple[GateResult, ...]:
        """Gates that would refuse the start today (failed, or a result still missing)."""
        return tuple(g for g in self.gates if g.blocks_at(GateStage.START))

    @property
    def has_active_order(self) -> bool:
        return self.order is not None and self.order.active

    @property
    def is_started(self) -> bool:
        return self.appointment.status in (
            AppointmentStatus.IN_PROGRESS,
            AppointmentStatus.COMPLETED,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PharmacyDay:
    """The queue of one centre day, with every user's signature name (ids are never shown)."""

    day: date
    doses: tuple[QueuedDose, ...]
    names: Mapping[str, str]

    def name(self, user: str | None) -> str:
        return "—" if not user else self.names.get(user, user)


def latest_labs(
    entries: tuple[ClinicalEntry, ...] | list[ClinicalEntry],
) -> tuple[ClinicalEntry, ...]:
    """The newest laboratory result of each test (by date, then recording), retracted ones
    left out, in test order."""
    gone = retracted_ids(list(entries))
    newest: dict[str, ClinicalEntry] = {}
    for entry in entries:
        if entry.kind is not ClinicalEntryKind.LAB or entry.id in gone:
            continue
        test = str(entry.data.get("test", "?"))
        known = newest.get(test)
        if known is None or (entry.on, entry.recorded_at) >= (known.on, known.recorded_at):
            newest[test] = entry
    return tuple(newest[t] for t in sorted(newest))


def queued_dose(
    uow: UnitOfWork,
    clinical: ClinicalRecords,
    catalog: Catalog,
    appointment: Appointment,
    day: date,
    *,
    streams: SessionStreams | None = None,
) -> QueuedDose:
    """One appointment's line of the queue, read in the caller's unit of work."""
    patient = uow.patients.get(appointment.patient_id)
    order = None if appointment.order_id is None else uow.orders.get(appointment.order_id)
    protocol = catalog.get_protocol(appointment.protocol_id)
    gates: tuple[GateResult, ...] = ()
    problem = None
    try:
        decided = clinical.dose_gates(
            uow,
            patient_id=appointment.patient_id,
            protocol_id=appointment.protocol_id,
            dose_number=appointment.dose_number,
            on=day,
            order_id=appointment.order_id,
            booked_count=False,
            excluding_session_id=appointment.session_id,
        )
        gates = decided.gates
    except MsinfusionError as error:
        problem = error.message
    entries = uow.clinical_entries.list_for_patient(appointment.patient_id)
    return QueuedDose(
        appointment=appointment,
        patient=patient,
        order=order,
        protocol=protocol,
        gates=gates,
        gate_problem=problem,
        labs=latest_labs(entries),
        rows=tuple(uow.preparations.list_for_appointment(appointment.id)),
        contraindicated_because=(
            None if streams is None else contraindication(uow, streams, patient, protocol)
        ),
    )


def contraindication(
    uow: UnitOfWork, streams: SessionStreams, patient: Patient, protocol: Protocol
) -> str | None:
    """Why the patient's record contraindicates the protocol's therapy, or None."""
    known = reaction_history(uow, streams, patient).get(protocol.therapy_id)
    return known.because or "contraindicated" if known and known.contraindicated else None


def day_queue(
    uow: UnitOfWork,
    clinical: ClinicalRecords,
    catalog: Catalog,
    appointments: list[Appointment],
    day: date,
    *,
    streams: SessionStreams | None = None,
) -> list[QueuedDose]:
    """The day's doses in booking order; cancelled appointments are not prepared."""
    return [
        queued_dose(uow, clinical, catalog, a, day, streams=streams)
        for a in appointments
        if a.status is not AppointmentStatus.CANCELLED
    ]
