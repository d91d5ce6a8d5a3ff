"""The records an infusion centre keeps besides sessions: patients, orders, chairs, appointments,
users, API tokens and the audit trail. Plain frozen values; storage adapters map them to tables.

Demo and test patients are synthetic and say so (``synthetic=True``); names are never logged.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from msinfusion.session.state import SessionState


class Role(enum.Enum):
    NURSE = "nurse"
    PHYSICIAN = "physician"
    PHARMACIST = "pharmacist"
    SCHEDULER = "scheduler"
    ADMIN = "admin"
    VIEWER = "viewer"
    DEVICE = "device"
    """A bedside-monitor integration: posts observations, nothing else."""


class OrderStatus(enum.Enum):
    """Where a therapy order stands: a draft is not yet signed (nothing may be booked on it);
    only a signed order is active; on hold and discontinued carry the physician's reason."""

    DRAFT = "draft"
    SIGNED = "signed"
    ON_HOLD = "on-hold"
    DISCONTINUED = "discontinued"


class AppointmentStatus(enum.Enum):
    BOOKED = "booked"
    CHECKED_IN = "checked-in"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientIdentifier:
    """One of the patient's identifiers: ``system`` names the issuer (e.g. the hospital's MRN
    namespace, as a URI or a short code the centre uses), ``value`` the identifier in it."""

    system: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Allergy:
    """A recorded allergy or intolerance: what to, what it did, how bad, who reported it."""

    substance: str
    reaction: str | None = None
    severity: str | None = None
    source: str | None = None


ALLERGY_SEVERITIES = ("mild", "moderate", "severe", "life-threatening")


@dataclass(frozen=True, slots=True, kw_only=True)
class Patient:
    """``synthetic`` marks demonstration data only (set by the demo loader and test worlds,
    never by the API): a real record never says synthetic."""

    id: str
    display_name: str
    date_of_birth: date | None = None
    sex: str | None = None
    height_cm: Decimal | None = None
    weight_kg: Decimal | None = None
    synthetic: bool = False
    contraindicated_therapy_ids: tuple[str, ...] = ()
    identifiers: tuple[PatientIdentifier, ...] = ()
    allergies: tuple[Allergy, ...] = ()
    reminder_contact: str | None = None
    """Where appointment reminders go: a phone number (``+41 79 123 45 67``) or an e-mail
    address, checked by ``application.reminder_contact``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Chair:
    id: str
    name: str
    attributes: tuple[str, ...] = ()
    active: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class TherapyOrder:
    """A prescriber's order for a therapy course (dose calendars come from it)."""

    id: str
    patient_id: str
    therapy_id: str
    start_date: date
    prescriber_id: str
    options: tuple[tuple[str, str], ...] = ()
    premedications: tuple[tuple[str, str], ...] = ()
    """The physician's pick per protocol premedication: (the premedication as the protocol
    names it, the drug chosen from ``session.medication.premedication_choices``, or ``none``
    for an optional one left out)."""
    note: str | None = None
    active: bool = True
    status: OrderStatus = OrderStatus.SIGNED
    """Orders stored before order status (and those of the JSON API) are signed."""
    status_reason: str | None = None
    """Why the order is on hold or discontinued (the physician's words)."""
    signed_at: datetime | None = None
    signed_by: str | None = None
    """The user id of the physician who signed (after re-entering the password)."""
    discontinued_on: date | None = None
    """The clinic day treatment stopped (``discontinue_order``, migration 0015): programme
    follow-up counts from it (TOUCH-07). None: not discontinued, or stopped before 0015."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Appointment:
    id: str
    patient_id: str
    chair_id: str
    protocol_id: str
    dose_number: int
    starts_at: datetime
    ends_at: datetime
    status: AppointmentStatus = AppointmentStatus.BOOKED
    order_id: str | None = None
    session_id: str | None = None
    status_reason: str | None = None
    """Why the appointment was cancelled or last rescheduled (the scheduler's words)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    id: str
    username: str
    role: Role
    password_hash: str
    active: bool = True
    display_name: str | None = None
    must_change_password: bool = False
    """Set when an administrator reset the password: the user must choose a new one first."""
    password_reset_at: datetime | None = None
    """When an administrator last reset the password (shown to the user at sign-in)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiToken:
    """An integration token; only its hash is stored."""

    id: str
    user_id: str
    token_hash: str
    created_at: datetime
    label: str = ""
    revoked: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class BrowserSession:
    """A signed-in browser. ``id`` is the SHA-256 of the cookie's random value (the raw value is
    never stored, so a copy of the table cannot be replayed as a cookie)."""

    id: str
    user_id: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """Who did or read what, when, from where (append-only; no clinical free text)."""

    at: datetime
    user_id: str | None
    action: str
    resource_type: str
    resource_id: str | None
    remote_addr: str | None
    outcome: str
    sequence: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionSummary:
    """The board's line for one infusion session (a read projection of its event stream).

    Written in the same transaction as the events it summarises, so the board never shows a
    version that is not stored. ``version`` is the number of events; ``status`` is
    ``SessionState.status.value`` (``"new"`` before check-in). Volumes and rates are exact.
    """

    session_id: str
    version: int = 0
    status: str = "new"
    patient_id: str | None = None
    protocol_id: str | None = None
    protocol_version: str | None = None
    dose_number: int | None = None
    rate_ml_per_h: Fraction = Fraction(0)
    volume_infused_ml: Fraction = Fraction(0)
    bag_volume_ml: Fraction = Fraction(0)
    infusion_started_at: datetime | None = None
    projected_infusion_end: datetime | None = None
    projected_chair_release: datetime | None = None
    next_due_action: str | None = None
    next_due_at: datetime | None = None
    warnings: tuple[str, ...] = ()
    last_event_at: datetime | None = None
    worst_reaction: str | None = None
    """``SessionState.worst_reaction`` (the patient's reaction history reads it)."""
    therapy_contraindicated: bool | None = None
    """``SessionState.therapy_contraindicated``; None with ``worst_reaction`` in rows written
    before migration 0017 (the history then reads the stream)."""
    state: SessionState | None = None
    """The folded state at ``version`` (the board renders live state at now from it,
    ``application.board``); None in rows written before it was kept (migration 0017) or of
    another fold (``SNAPSHOT_SCHEMA``): the board then reads the stream."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionPatient:
    """A session's status and its patient's identifiers: what a device reading's remembered
    match is checked against (``SessionSummaryRepository.get_patients_of``, one read for a
    whole group-commit batch)."""

    session_id: str
    status: str
    patient_id: str | None = None
    identifiers: tuple[PatientIdentifier, ...] = ()
    """The patient's (empty without a patient, or when its row is missing)."""

    @classmethod
    def of(cls, summary: SessionSummary, patient: Patient | None) -> SessionPatient:
        """The session of ``summary``, with ``patient``'s identifiers (None: no such row)."""
        return cls(
            session_id=summary.session_id,
            status=summary.status,
            patient_id=summary.patient_id,
            identifiers=() if patient is None else patient.identifiers,
        )


class ClinicalEntryKind(enum.Enum):
    """What a clinical entry records about a patient between infusions."""

    LAB = "lab"
    VACCINATION = "vaccination"
    FINDING = "finding"
    OVERRIDE = "override"
    PROFILE = "profile"
    GIVEN_DOSE = "given-dose"
    RETRACTION = "retraction"
    DRUG_LEVEL = "drug-level"
    """A measured drug concentration (a natalizumab trough), recorded by application.tdm."""
    TDM_RECOMMENDATION = "tdm-recommendation"
    """A model-informed interval recommendation with its model and version (application.tdm)."""
    PROGRAMME_FORM = "programme-form"
    """A programme's form answered at a visit (the TOUCH Pre-infusion Patient Checklist):
    every question's answer, the order and dose, whether infused, when sent (ledger_rules)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ClinicalEntry:
    """One dated fact in a patient's record: a lab result, vaccination, finding, gate override,
    profile answer (e.g. can become pregnant), a dose given elsewhere, or the retraction of an
    entry made in error.

    Append-only: a correction is a retraction plus a new entry, so what a gate decision read is
    never lost. ``data`` holds the item in the ``course check`` file's JSON shape
    (docs/clinical/courses.md), already validated; ``on`` is its clinical date.
    """

    id: str
    patient_id: str
    kind: ClinicalEntryKind
    on: date
    data: Mapping[str, Any]
    recorded_at: datetime
    recorded_by: str
