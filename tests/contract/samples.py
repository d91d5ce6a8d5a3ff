"""Records with every field set (and times in a non-UTC zone) for the contract tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

from msinfusion.application.records import (
    ApiToken,
    Appointment,
    AppointmentStatus,
    AuditEntry,
    Chair,
    Patient,
    Role,
    SessionSummary,
    TherapyOrder,
    User,
)

CET = timezone(timedelta(hours=1))
NINE = datetime(2025, 3, 3, 9, 0, 0, 123456, tzinfo=CET)


def patient(pid: str = "p-1", **changes: object) -> Patient:
    values: dict[str, object] = {
        "id": pid,
        "display_name": "Synthetic Patient",
        "date_of_birth": date(1980, 2, 29),
        "sex": "female",
        "height_cm": Decimal("172.5"),
        "weight_kg": Decimal("68.25"),
        "synthetic": True,
        "contraindicated_therapy_ids": ("alemtuzumab", "natalizumab"),
    }
    return Patient(**{**values, **changes})


def chair(cid: str = "c-1", **changes: object) -> Chair:
    values: dict[str, object] = {"id": cid, "name": "Chair 1", "attributes": ("recliner",)}
    return Chair(**{**values, **changes})


def order(oid: str = "o-1", patient_id: str = "p-1", **changes: object) -> TherapyOrder:
    values: dict[str, object] = {
        "id": oid,
        "patient_id": patient_id,
        "therapy_id": "ocrelizumab",
        "start_date": date(2025, 3, 3),
        "prescriber_id": "u-doc",
        "options": (("regimen", "standard"), ("route", "iv")),
        "note": "first course",
    }
    return TherapyOrder(**{**values, **changes})


def appointment(aid: str = "a-1", *, hours: float = 0, **changes: object) -> Appointment:
    starts = NINE + timedelta(hours=hours)
    values: dict[str, object] = {
        "id": aid,
        "patient_id": "p-1",
        "chair_id": "c-1",
        "protocol_id": "ocrelizumab-600-standard",
        "dose_number": 3,
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=5),
        "status": AppointmentStatus.BOOKED,
        "order_id": None,
        "session_id": None,
    }
    return Appointment(**{**values, **changes})


def user(uid: str = "u-1", username: str = "nurse.a", **changes: object) -> User:
    values: dict[str, object] = {
        "id": uid,
        "username": username,
        "role": Role.NURSE,
        "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        "display_name": "Nurse A",
    }
    return User(**{**values, **changes})


def token(tid: str = "t-1", user_id: str = "u-1", token_hash: str = "h-1") -> ApiToken:
    return ApiToken(
        id=tid, user_id=user_id, token_hash=token_hash, created_at=NINE, label="pump gateway"
    )


def audit(
    minute: int, *, user_id: str | None = "u-1", resource_type: str = "patient"
) -> AuditEntry:
    return AuditEntry(
        at=NINE + timedelta(minutes=minute),
        user_id=user_id,
        action="read",
        resource_type=resource_type,
        resource_id=f"r-{minute}",
        remote_addr="127.0.0.1",
        outcome="ok",
    )


def summary(sid: str = "s-1", **changes: object) -> SessionSummary:
    values: dict[str, object] = {
        "session_id": sid,
        "version": 7,
        "status": "infusing",
        "patient_id": "p-1",
        "protocol_id": "ocrelizumab-600-standard",
        "protocol_version": "2024-1",
        "dose_number": 3,
        "rate_ml_per_h": Fraction(100, 3),
        "volume_infused_ml": Fraction(25, 3),
        "bag_volume_ml": Fraction(500),
        "infusion_started_at": NINE,
        "projected_infusion_end": NINE.astimezone(UTC) + timedelta(hours=3),
        "projected_chair_release": NINE + timedelta(hours=4),
        "next_due_action": "increase-rate",
        "next_due_at": NINE + timedelta(minutes=30),
        "warnings": ("premedication window",),
        "last_event_at": NINE,
    }
    return SessionSummary(**{**values, **changes})


def stored_event(n: int, **extra: object) -> dict[str, object]:
    """A stored-form event (as ``event_to_dict`` writes them): JSON types only."""
    return {
        "type": "VitalsRecorded",
        "version": 2,
        "at": (NINE + timedelta(minutes=n)).isoformat(),
        "user": "nurse-a",
        "heart_rate_bpm": str(Fraction(70 + n, 1)),
        "notes": None,
        "flags": ["a", "b"],
        "ok": True,
        "n": n,
        **extra,
    }
