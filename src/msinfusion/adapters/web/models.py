"""Request and response bodies of the JSON API (pydantic, ``extra="forbid"``, bounded).

Limits are sanity bounds against absurd input, not clinical rules (those live in the cores):
a height of 30-260 cm, a weight of 1-400 kg, names of at most 200 printable characters.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
)

from msinfusion.adapters.web.session_commands import AnyCommand
from msinfusion.application.records import (
    ApiToken,
    Appointment,
    AuditEntry,
    Chair,
    Patient,
    Role,
    TherapyOrder,
    User,
)

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_date(value: object) -> object:
    """Dates come as ISO 8601 text only (no Unix timestamps), as the schema says."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("must be an ISO 8601 date, e.g. 2026-03-02")
    return value


def _iso_time(value: object) -> object:
    if not isinstance(value, str) or not _ISO_TIME.match(value):
        raise ValueError("must be an ISO 8601 time with offset, e.g. 2026-03-02T09:00:00+01:00")
    return value


EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 12, 31)
"""Sanity bounds of every date and time the API takes: far from ``date.max``, so that adding a
course's weeks or a time zone's offset can never overflow (a year-9999 date was a 500)."""


def _in_range(value: date) -> date:
    day = value.astimezone(UTC).date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise ValueError(f"must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}")
    return value


def _bounded_time(value: object) -> object:
    """Refuse a time whose UTC instant is out of range before anything converts it."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return value  # pydantic's own parser names the format problem
    if parsed.tzinfo is not None:
        try:
            _in_range(parsed)
        except OverflowError:
            raise ValueError(
                f"must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}"
            ) from None
    return value


_PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_PRINTABLE)]
Note = Annotated[str, StringConstraints(max_length=2000, pattern=_PRINTABLE)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9 ._-]+$")]
Username = Annotated[
    str, StringConstraints(min_length=3, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]+$")
]
Password = Annotated[str, StringConstraints(min_length=12, max_length=256)]
HeightCm = Annotated[Decimal, Field(ge=30, le=260, max_digits=6, decimal_places=2)]
WeightKg = Annotated[Decimal, Field(ge=1, le=400, max_digits=6, decimal_places=2)]
DoseNumber = Annotated[int, Strict(), Field(ge=1, le=1000)]
IsoDate = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_in_range)]
ClinicalDate = Annotated[IsoDate, Field(ge=date(1900, 1, 1), le=date(2200, 1, 1))]
Moment = Annotated[
    AwareDatetime,
    BeforeValidator(_bounded_time),
    BeforeValidator(_iso_time),
    AfterValidator(_in_range),
]
Version = Annotated[int, Strict(), Field(ge=0, le=1_000_000_000)]
Flag = Annotated[bool, Strict()]


class Forbid(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Forbid):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class PasswordChangeIn(Forbid):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    new_password: Password


class IdentifierIn(Forbid):
    """One identifier: ``system`` (the issuer's namespace, e.g. the hospital MRN URI) and
    ``value``."""

    system: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_PRINTABLE)]
    value: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=_PRINTABLE)]


class AllergyIn(Forbid):
    substance: Name
    reaction: Name | None = None
    severity: (
        Annotated[str, StringConstraints(pattern=r"^(mild|moderate|severe|life-threatening)$")]
        | None
    ) = None
    source: Name | None = None


Identifiers = Annotated[list[IdentifierIn], Field(max_length=20)]
Allergies = Annotated[list[AllergyIn], Field(max_length=50)]


ReminderContact = Annotated[
    str,
    StringConstraints(max_length=254),
    Field(description="A phone number or an e-mail address for reminders (checked as such)."),
]


class PatientIn(Forbid):
    display_name: Name
    date_of_birth: ClinicalDate | None = None
    sex: Annotated[str, StringConstraints(pattern=r"^(female|male|other|unknown)$")] | None = None
    height_cm: HeightCm | None = None
    weight_kg: WeightKg | None = None
    contraindicated_therapy_ids: Annotated[list[Id], Field(max_length=50)] = []
    identifiers: Identifiers = []
    allergies: Allergies = []
    reminder_contact: ReminderContact | None = None


class PatientPatch(Forbid):
    display_name: Name | None = None
    date_of_birth: ClinicalDate | None = None
    sex: Annotated[str, StringConstraints(pattern=r"^(female|male|other|unknown)$")] | None = None
    height_cm: HeightCm | None = None
    weight_kg: WeightKg | None = None
    contraindicated_therapy_ids: Annotated[list[Id], Field(max_length=50)] | None = None
    identifiers: Identifiers | None = None
    allergies: Allergies | None = None
    reminder_contact: ReminderContact | None = None


class ChairIn(Forbid):
    name: Name
    attributes: Annotated[list[Tag], Field(max_length=20)] = []


class ChairPatch(Forbid):
    name: Name | None = None
    attributes: Annotated[list[Tag], Field(max_length=20)] | None = None
    active: Flag | None = None


class OrderIn(Forbid):
    patient_id: Id
    therapy_id: Id
    start_date: ClinicalDate
    options: Annotated[dict[Tag, Name], Field(max_length=20)] = {}
    note: Note | None = None
    premedications: Annotated[
        dict[Name, Name],
        Field(
            max_length=20,
            description="Premedication (as the protocol names it) -> the drug chosen from its "
            "pick-list, or 'none' for an optional one.",
        ),
    ] = {}


class OrderPatch(Forbid):
    active: Flag


class AppointmentIn(Forbid):
    patient_id: Id
    chair_id: Id
    protocol_id: Id
    dose_number: DoseNumber
    starts_at: Moment
    order_id: Id | None = None


class SessionIn(Forbid):
    appointment_id: Id | None = None


class CommandIn(Forbid):
    expected_version: Version
    command: Annotated[
        AnyCommand,
        Field(
            description="A command in the public interchange format (docs/session-format.md), "
            "chosen by its ``command`` name; ``user`` defaults to the signed-in user and may not "
            "name anyone else."
        ),
    ]


class UserIn(Forbid):
    username: Username
    role: Role
    password: Password
    display_name: Name | None = None


class UserPatch(Forbid):
    role: Role | None = None
    active: Flag | None = None
    display_name: Name | None = None
    password: Password | None = None


class TokenIn(Forbid):
    label: Annotated[str, StringConstraints(max_length=100, pattern=_PRINTABLE)] = ""


# -- responses ----------------------------------------------------------------------------------


class IdentifierOut(BaseModel):
    system: str
    value: str


class AllergyOut(BaseModel):
    substance: str
    reaction: str | None
    severity: str | None
    source: str | None


class PatientOut(BaseModel):
    id: str
    display_name: str
    date_of_birth: date | None
    birth_date: date | None = Field(description="The same as date_of_birth (FHIR's name).")
    sex: str | None
    height_cm: float | None
    weight_kg: float | None
    synthetic: bool
    identifiers: list[IdentifierOut]
    allergies: list[AllergyOut]
    contraindicated_therapy_ids: list[str] = Field(
        description="Recorded in the patient record, plus those a reaction in a stored session "
        "discontinued (GET of one patient)."
    )
    reminder_contact: str | None = None

    @classmethod
    def of(cls, p: Patient, contraindicated: tuple[str, ...] | None = None) -> PatientOut:
        return cls(
            id=p.id,
            display_name=p.display_name,
            date_of_birth=p.date_of_birth,
            birth_date=p.date_of_birth,
            sex=p.sex,
            height_cm=None if p.height_cm is None else float(p.height_cm),
            weight_kg=None if p.weight_kg is None else float(p.weight_kg),
            synthetic=p.synthetic,
            identifiers=[IdentifierOut(system=i.system, value=i.value) for i in p.identifiers],
            allergies=[
                AllergyOut(
                    substance=a.substance, reaction=a.reaction, severity=a.severity, source=a.source
                )
                for a in p.allergies
            ],
            contraindicated_therapy_ids=list(
                p.contraindicated_therapy_ids if contraindicated is None else contraindicated
            ),
            reminder_contact=p.reminder_contact,
        )


class ChairOut(BaseModel):
    id: str
    name: str
    attributes: list[str]
    active: bool

    @classmethod
    def of(cls, c: Chair) -> ChairOut:
        return cls(id=c.id, name=c.name, attributes=list(c.attributes), active=c.active)


class OrderOut(BaseModel):
    id: str
    patient_id: str
    therapy_id: str
    start_date: date
    prescriber_id: str
    options: dict[str, str]
    note: str | None
    active: bool
    premedications: dict[str, str] = {}
    status: str = "signed"
    status_reason: str | None = None
    discontinued_on: date | None = None

    @classmethod
    def of(cls, o: TherapyOrder) -> OrderOut:
        return cls(
            id=o.id,
            patient_id=o.patient_id,
            therapy_id=o.therapy_id,
            start_date=o.start_date,
            prescriber_id=o.prescriber_id,
            options=dict(o.options),
            note=o.note,
            active=o.active,
            premedications=dict(o.premedications),
            status=o.status.value,
            status_reason=o.status_reason,
            discontinued_on=o.discontinued_on,
        )


class AppointmentOut(BaseModel):
    id: str
    patient_id: str
    chair_id: str
    protocol_id: str
    dose_number: int
    starts_at: datetime
    ends_at: datetime
    status: str
    order_id: str | None
    session_id: str | None

    @classmethod
    def of(cls, a: Appointment) -> AppointmentOut:
        return cls(
            id=a.id,
            patient_id=a.patient_id,
            chair_id=a.chair_id,
            protocol_id=a.protocol_id,
            dose_number=a.dose_number,
            starts_at=a.starts_at,
            ends_at=a.ends_at,
            status=a.status.value,
            order_id=a.order_id,
            session_id=a.session_id,
        )


class UserOut(BaseModel):
    id: str
    username: str
    role: Role
    active: bool
    display_name: str | None
    must_change_password: bool = False

    @classmethod
    def of(cls, u: User) -> UserOut:
        return cls(
            id=u.id,
            username=u.username,
            role=u.role,
            active=u.active,
            display_name=u.display_name,
            must_change_password=u.must_change_password,
        )


class TokenOut(BaseModel):
    id: str
    user_id: str
    label: str
    created_at: datetime
    revoked: bool

    @classmethod
    def of(cls, t: ApiToken) -> TokenOut:
        return cls(
            id=t.id, user_id=t.user_id, label=t.label, created_at=t.created_at, revoked=t.revoked
        )


class NewTokenOut(TokenOut):
    token: str = Field(description="The raw token: shown once, never stored.")


class AuditOut(BaseModel):
    at: datetime
    user_id: str | None
    action: str
    resource_type: str
    resource_id: str | None
    remote_addr: str | None
    outcome: str
    sequence: int | None

    @classmethod
    def of(cls, e: AuditEntry) -> AuditOut:
        return cls(
            at=e.at,
            user_id=e.user_id,
            action=e.action,
            resource_type=e.resource_type,
            resource_id=e.resource_id,
            remote_addr=e.remote_addr,
            outcome=e.outcome,
            sequence=e.sequence,
        )


class MeOut(BaseModel):
    user_id: str
    username: str
    role: Role
    csrf_token: str | None = None
    must_change_password: bool = False
    password_reset_at: datetime | None = None


class SessionOpened(BaseModel):
    session_id: str
    version: int


class CommandOut(BaseModel):
    session_id: str
    version: int
    events: list[dict[str, Any]]


class SessionOut(BaseModel):
    session_id: str
    version: int
    view: dict[str, Any]


class EventsOut(BaseModel):
    session_id: str
    version: int
    events: list[dict[str, Any]]


class HealthOut(BaseModel):
    status: str
    database: str
