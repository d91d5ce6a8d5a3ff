"""Schedule, Slot and Appointment: the chairs' bookings (dossier section 4.5).

* ``Schedule/{chair}``: one per chair, ``actor`` the chair's Location, ``active`` as the chair,
  ``serviceType`` text "infusion".
* ``Slot/{appointment}``: the chair time an appointment holds, ``schedule`` the chair's,
  ``status`` busy (a cancelled appointment frees it: ``free``), ``start``/``end``.
* ``Appointment/{appointment}``: ``status`` (booked -> booked, checked-in -> checked-in,
  in-progress -> arrived, completed -> fulfilled, cancelled -> cancelled), ``start``, ``end``,
  ``minutesDuration``, ``slot``, ``participant`` the patient and the chair (both required,
  accepted), ``description`` the protocol and dose number, ``basedOn`` the order
  (MedicationRequest), ``supportingInformation`` the session's infusion once it started.
"""

from __future__ import annotations

from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot

from msinfusion.adapters.fhir.common import JsonObject, instant, meta, reference, validated
from msinfusion.application.records import Appointment, AppointmentStatus, Chair

STATUSES = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.CHECKED_IN: "checked-in",
    AppointmentStatus.IN_PROGRESS: "arrived",
    AppointmentStatus.COMPLETED: "fulfilled",
    AppointmentStatus.CANCELLED: "cancelled",
}
"""https://hl7.org/fhir/R4/valueset-appointmentstatus.html (R4 has no in-progress: arrived)."""
INFUSION_SERVICE = [{"text": "infusion"}]


def schedule_resource(chair: Chair) -> JsonObject:
    return validated(
        Schedule,
        {
            "resourceType": "Schedule",
            "id": chair.id,
            "active": chair.active,
            "serviceType": INFUSION_SERVICE,
            "actor": [reference("Location", chair.id, chair.name)],
            "comment": f"bookings of {chair.name}",
        },
    )


def slot_resource(appointment: Appointment, *, synthetic: bool) -> JsonObject:
    cancelled = appointment.status is AppointmentStatus.CANCELLED
    return validated(
        Slot,
        {
            "resourceType": "Slot",
            "id": appointment.id,
            "meta": meta(synthetic=synthetic),
            "serviceType": INFUSION_SERVICE,
            "schedule": reference("Schedule", appointment.chair_id),
            "status": "free" if cancelled else "busy",
            "start": instant(appointment.starts_at),
            "end": instant(appointment.ends_at),
        },
    )


def appointment_resource(
    appointment: Appointment, *, synthetic: bool, session_started: bool
) -> JsonObject:
    minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
    return validated(
        FhirAppointment,
        {
            "resourceType": "Appointment",
            "id": appointment.id,
            "meta": meta(synthetic=synthetic),
            "status": STATUSES[appointment.status],
            "serviceType": INFUSION_SERVICE,
            "description": f"{appointment.protocol_id}, dose {appointment.dose_number}",
            "start": instant(appointment.starts_at),
            "end": instant(appointment.ends_at),
            "minutesDuration": minutes if minutes > 0 else None,
            "slot": [reference("Slot", appointment.id)],
            "basedOn": (
                None
                if appointment.order_id is None
                else [reference("MedicationRequest", appointment.order_id)]
            ),
            "supportingInformation": (
                [reference("MedicationAdministration", appointment.session_id)]
                if session_started and appointment.session_id is not None
                else None
            ),
            "participant": [
                {
                    "actor": reference("Patient", appointment.patient_id),
                    "required": "required",
                    "status": "accepted",
                },
                {
                    "actor": reference("Location", appointment.chair_id),
                    "required": "required",
                    "status": "accepted",
                },
            ],
        },
    )
