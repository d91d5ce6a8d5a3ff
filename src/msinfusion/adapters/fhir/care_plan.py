"""CarePlan: one per therapy order, the treatment course (``CarePlan/{order}``).

From the order's course (``CourseUseCases``: the dose calendar; for an active order today's
course check: the gates of the next dose and the monitoring calendar):

* ``status`` active (revoked once the order is deactivated), ``intent`` order, ``title``,
  ``subject``, ``period.start`` the course start, ``basedOn``-like link: ``supportingInfo`` the
  MedicationRequest of the order, ``author`` the prescriber;
* one ``activity`` per planned dose: ``detail.kind`` MedicationRequest, ``productCodeableConcept``
  the therapy, ``scheduledPeriod`` earliest to latest date, ``description`` the label, dose and
  rule; ``status`` completed (given), scheduled (due), not-started (planned), on-hold
  (overdue, ``statusReason`` overdue);
* one ``activity`` per gate of the next dose (``detail.kind`` Task, ``code`` the gate id in
  ``urn:msinfusion:gate``): completed (passed, or failed and validly overridden), on-hold
  (failed), not-started (result missing), cancelled (not applicable); ``statusReason`` the
  gate's reason;
* one ``activity`` per monitoring slot (``detail.kind`` ServiceRequest, ``code`` the item id in
  ``urn:msinfusion:monitoring``): completed (done), scheduled (due), not-started (planned),
  on-hold (overdue); ``scheduledString`` the due date.

An order whose course cannot be planned has no dose activities.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.careplan import CarePlan

from msinfusion.adapters.fhir.codes import GATE_SYSTEM, MONITORING_SYSTEM
from msinfusion.adapters.fhir.common import JsonObject, meta, reference, validated
from msinfusion.adapters.fhir.medication_request import medication_concept
from msinfusion.adapters.fhir.record import CoursePlan
from msinfusion.catalog.model import Therapy
from msinfusion.planning.courses import DoseStatus
from msinfusion.planning.gates import GateStatus
from msinfusion.planning.monitoring_calendar import SlotStatus

DOSE_STATUS = {
    DoseStatus.GIVEN: "completed",
    DoseStatus.DUE: "scheduled",
    DoseStatus.PLANNED: "not-started",
    DoseStatus.OVERDUE: "on-hold",
}
GATE_STATUS = {
    GateStatus.PASS: "completed",
    GateStatus.FAIL: "on-hold",
    GateStatus.MISSING: "not-started",
    GateStatus.NOT_APPLICABLE: "cancelled",
}
SLOT_STATUS = {
    SlotStatus.DONE: "completed",
    SlotStatus.DUE: "scheduled",
    SlotStatus.PLANNED: "not-started",
    SlotStatus.OVERDUE: "on-hold",
}
"""https://hl7.org/fhir/R4/valueset-care-plan-activity-status.html."""


def _dose_activities(plan: CoursePlan, therapy: Therapy | None) -> list[JsonObject]:
    if plan.calendar is None:
        return []
    product = medication_concept(therapy, plan.order.therapy_id)
    found = []
    for dose in plan.calendar.doses:
        status = DOSE_STATUS[dose.status]
        detail: dict[str, Any] = {
            "kind": "MedicationRequest",
            "status": status,
            "statusReason": {"text": "overdue"} if status == "on-hold" else None,
            "scheduledPeriod": {
                "start": dose.earliest.isoformat(),
                "end": dose.latest.isoformat(),
            },
            "productCodeableConcept": product,
            "description": (
                f"dose {dose.dose_number}: {dose.label}, {dose.dose} ({dose.protocol_id}); "
                f"due {dose.due.isoformat()}"
                + ("" if dose.given_on is None else f", given {dose.given_on.isoformat()}")
                + f"; {dose.rule}"
            ),
        }
        found.append({"detail": {k: v for k, v in detail.items() if v is not None}})
    return found


def _gate_activities(plan: CoursePlan) -> list[JsonObject]:
    if plan.check is None:
        return []
    found = []
    for gate in plan.check.gates:
        status = GATE_STATUS[gate.status]
        reason = gate.reason
        if gate.status is GateStatus.FAIL and gate.override is not None:
            status = "completed"
            reason = f"{reason}; overridden: {gate.override.justification}"
        on = plan.check.gates_on
        found.append(
            {
                "detail": {
                    "kind": "Task",
                    "code": {
                        "coding": [{"system": GATE_SYSTEM, "code": gate.gate_id}],
                        "text": gate.title,
                    },
                    "status": status,
                    "statusReason": {"text": reason} if reason else None,
                    "scheduledString": None if on is None else f"before the dose of {on}",
                    "description": (
                        f"{'mandatory' if gate.mandatory else 'advisory'} pre-treatment gate "
                        f"({gate.when.value})"
                    ),
                }
            }
        )
    return found


def _monitoring_activities(plan: CoursePlan) -> list[JsonObject]:
    if plan.check is None:
        return []
    return [
        {
            "detail": {
                "kind": "ServiceRequest",
                "code": {
                    "coding": [{"system": MONITORING_SYSTEM, "code": slot.item_id}],
                    "text": slot.title,
                },
                "status": SLOT_STATUS[slot.status],
                "statusReason": {"text": "abnormal result"} if slot.abnormal else None,
                "scheduledString": slot.due.isoformat(),
                "description": f"{slot.test} due {slot.due.isoformat()}",
            }
        }
        for slot in plan.check.monitoring
    ]


def care_plan_resource(plan: CoursePlan, therapy: Therapy | None, *, synthetic: bool) -> JsonObject:
    order = plan.order
    activities = [
        *_dose_activities(plan, therapy),
        *_gate_activities(plan),
        *_monitoring_activities(plan),
    ]
    for activity in activities:
        activity["detail"] = {k: v for k, v in activity["detail"].items() if v is not None}
    name = therapy.inn if therapy is not None else order.therapy_id
    return validated(
        CarePlan,
        {
            "resourceType": "CarePlan",
            "id": order.id,
            "meta": meta(synthetic=synthetic),
            "status": "active" if order.active else "revoked",
            "intent": "order",
            "title": f"{name} treatment course",
            "subject": reference("Patient", order.patient_id),
            "period": {"start": order.start_date.isoformat()},
            "author": reference("Practitioner", order.prescriber_id),
            "supportingInfo": [reference("MedicationRequest", order.id)],
            "activity": activities,
            "note": (
                None
                if plan.calendar is None
                else [{"text": n} for n in plan.calendar.notes] or None
            ),
        },
    )
