"""The fixed inputs of the pump golden files (synthetic patient, invented ids)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction

from msinfusion.adapters.pumps.pcd03 import Pcd03Writer
from msinfusion.adapters.pumps.pcd10 import write_report
from msinfusion.application.pump_ports import OrderContent

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
START = OrderContent(
    order_id="session-0001-5",
    order_control="RE",
    pump_id="PUMP-0001",
    patient_id="patient-0001",
    patient_name="Synthetic Patient",
    patient_birth_date=date(1984, 5, 17),
    chair_name="Chair 2",
    library_drug_id="ocrelizumab-600-standard",
    drug_name="ocrelizumab",
    drug_amount_mg=Fraction(600),
    diluent_volume_ml=Fraction(500),
    concentration_mg_per_ml=Fraction(6, 5),
    rate_ml_per_h=Fraction(40),
    volume_to_be_infused_ml=Fraction(500),
    requested_at=AT,
    requested_by="nurse1",
)


def rgv(kind: str) -> str:
    if kind == "start":
        return Pcd03Writer().write(START, now=AT)
    from dataclasses import replace

    step = replace(
        START,
        order_id="session-0001-9",
        order_control="XO",
        rate_ml_per_h=Fraction(80),
        volume_to_be_infused_ml=Fraction(480),
        requested_at=AT.replace(minute=30),
    )
    return Pcd03Writer().write(step, now=AT.replace(minute=30))


def oru(kind: str) -> str:
    common = {
        "pump_id": "PUMP-0001",
        "order_id": "session-0001-5",
        "drug_id": "ocrelizumab-600-standard",
        "drug_name": "ocrelizumab",
        "library_version": "63b1521026851d92",
        "patient_id": "patient-0001",
        "chair_name": "Chair 2",
    }
    if kind == "start":
        return write_report(
            control_id="PUMP-0001-1",
            kind="delivery-started",
            at=AT,
            now=AT,
            rate_ml_per_h=Fraction(40),
            pump_volume_ml=Fraction(0),
            **common,
        )
    if kind == "occlusion":
        at = AT.replace(minute=10)
        return write_report(
            control_id="PUMP-0001-2",
            kind="alarm",
            at=at,
            now=at,
            alarm="occlusion",
            pump_volume_ml=Fraction(20, 3),
            **common,
        )
    at = AT.replace(hour=15, minute=0)
    return write_report(
        control_id="PUMP-0001-3",
        kind="delivery-complete",
        at=at,
        now=at,
        pump_volume_ml=Fraction(500),
        **common,
    )


def rrg(kind: str) -> str:
    """The gateway's RRG^O16 to the start order: ``accepted`` (AA) or ``rejected`` (AE 9023)."""
    from msinfusion.adapters.pumps.pcd03 import write_application_answer

    at = AT.replace(minute=2)
    error = None if kind == "accepted" else ("9023", "Program rejected by the user")
    return write_application_answer(
        message_id=f"RRG-{kind}",
        order_id="session-0001-5",
        patient_id="patient-0001",
        now=at,
        error=error,
    )
