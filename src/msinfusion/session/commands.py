"""Commands: what a nurse, a pump or an API client asks the session to do (imperative, VerbNoun).

Every command carries the clinical time ``at`` — when it happened (timezone-aware: the core never
reads a clock) — the acting ``user`` and an optional ``override_reason`` that is the only way
past a *soft* limit (the premedication window, a manual re-escalation). Hard limits ignore it.
``recorded_at`` is when the entry is stored: the service layer sets it from its clock (a client
never chooses it; a replay file may give it). ``late_reason`` explains an entry charted past the
centre's late threshold (``session.charting``).

Commands are validated on the way in: a malformed one raises ``InvalidCommand`` naming the field;
whether a well-formed command is *allowed* is ``decide``'s job (``CommandRefused``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction

from msinfusion.catalog.model import Severity
from msinfusion.errors import InvalidCommand
from msinfusion.monitoring.vital_signs import Consciousness

SYMPTOMS = (
    "itching",
    "rash",
    "headache",
    "flu-like symptoms",
    "flushing",
    "throat irritation",
    "dyspnoea",
    "hypotension",
    "fever",
)
"""Coded reaction symptoms; any other text is accepted as a free-text symptom."""

IDENTITY_CHECKS = ("name-and-birth-date", "identifier", "wristband")
"""How a patient's identity is confirmed at check-in (two identifiers, or a wristband scan)."""

LINE_EVENT_KINDS = ("bag-replaced", "line-occluded", "line-cleared", "cannula-resited", "other")

PUMP_EVENT_KINDS = (
    "delivery-started",
    "delivery-stopped",
    "delivery-complete",
    "bolus",
    "alarm",
)
"""What an infusion pump reports (IHE IPEC PCD-10: START, STOP, COMP, a loading/bolus source, an
alarm stop); a rate change or a resume is a START with the new rate, as IPEC expresses it."""


def _require_aware(at: datetime) -> None:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InvalidCommand(
            "at must be a timezone-aware datetime (ISO 8601 with offset)", field="at"
        )


def _require_positive(value: Fraction, name: str) -> None:
    if not isinstance(value, Fraction) or value <= 0:
        raise InvalidCommand(f"{name} must be a positive number, got {value!r}", field=name)


def _require_text(value: str, name: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidCommand(f"{name} must be non-empty text", field=name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """Fields every command carries."""

    at: datetime
    user: str = "unknown"
    override_reason: str | None = None
    recorded_at: datetime | None = None
    late_reason: str | None = None

    def __post_init__(self) -> None:
        _require_aware(self.at)
        # Stored and compared in UTC: arithmetic on zoneinfo datetimes is wall-clock time and
        # would be an hour off across a daylight-saving change (ARCHITECTURE: stored times are UTC).
        object.__setattr__(self, "at", self.at.astimezone(UTC))
        if self.recorded_at is not None:
            if self.recorded_at.tzinfo is None or self.recorded_at.utcoffset() is None:
                raise InvalidCommand(
                    "recorded_at must be a timezone-aware datetime (ISO 8601 with offset)",
                    field="recorded_at",
                )
            object.__setattr__(self, "recorded_at", self.recorded_at.astimezone(UTC))
        _require_text(self.user, "user")
        if self.override_reason is not None:
            _require_text(self.override_reason, "override_reason")
        if self.late_reason is not None:
            _require_text(self.late_reason, "late_reason")


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckIn(Command):
    """Open the session: one patient, one protocol, one bag.

    ``bag_volume_ml`` is the volume actually prepared when pharmacy reports one; ``height_cm`` and
    ``weight_kg`` are needed for body-surface-area doses; ``course_day`` selects premedications
    that apply only on some days of a course; ``worst_prior_reaction`` is the most severe
    reaction the patient had to this therapy before (protocols such as the 2-hour ocrelizumab
    option are refused after a serious one).

    At the chair the nurse confirms who the patient is with two identifiers
    (``identity_check``): ``name-and-birth-date`` (``confirmed_name`` and
    ``confirmed_birth_date``, ISO date, as the patient states them), ``identifier`` (an MRN or
    other identifier typed in, ``confirmed_identifier`` as ``value`` or ``system|value``) or
    ``wristband`` (the scanned identifier, in ``confirmed_identifier``). The service layer
    checks them against the record (``patient-identification``).
    """

    patient_id: str
    protocol_id: str
    dose_number: int
    course_day: int | None = None
    bag_volume_ml: Fraction | None = None
    height_cm: Fraction | None = None
    weight_kg: Fraction | None = None
    worst_prior_reaction: Severity | None = None
    identity_check: str | None = None
    confirmed_name: str | None = None
    confirmed_birth_date: str | None = None
    confirmed_identifier: str | None = None

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        _require_text(self.patient_id, "patient_id")
        if self.identity_check is not None and self.identity_check not in IDENTITY_CHECKS:
            raise InvalidCommand(
                f"identity_check must be one of {', '.join(IDENTITY_CHECKS)}",
                field="identity_check",
            )
        _require_text(self.protocol_id, "protocol_id")
        if isinstance(self.dose_number, bool) or not isinstance(self.dose_number, int):
            raise InvalidCommand("dose_number must be an integer", field="dose_number")
        if self.dose_number < 1:
            raise InvalidCommand(
                f"dose_number must be 1 or more, got {self.dose_number}", field="dose_number"
            )
        if self.course_day is not None and self.course_day < 1:
            raise InvalidCommand(
                f"course_day must be 1 or more, got {self.course_day}", field="course_day"
            )
        if self.worst_prior_reaction is not None and not isinstance(
            self.worst_prior_reaction, Severity
        ):
            raise InvalidCommand(
                "worst_prior_reaction must be mild|moderate|severe|life-threatening",
                field="worst_prior_reaction",
            )
        for name in ("bag_volume_ml", "height_cm", "weight_kg"):
            value = getattr(self, name)
            if value is not None:
                _require_positive(value, name)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordAssessment(Command):
    """A pre-infusion check (vital signs, infection screen, pregnancy...).

    The latest assessment of each ``check`` counts: a failed check blocks the start until a later
    assessment of the same check passes.
    """

    passed: bool
    check: str = "pre-infusion"
    findings: str | None = None

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        if not isinstance(self.passed, bool):
            raise InvalidCommand("passed must be true or false", field="passed")
        _require_text(self.check, "check")


@dataclass(frozen=True, slots=True, kw_only=True)
class GivePremedication(Command):
    """A premedication given: ``dose`` with its unit ("100 mg"), ``route`` (IV, PO, IM, SC).

    It counts for the protocol premedication only when drug, dose and route match it
    (``session.medication``); ``for_premedication`` names that premedication when the drug alone
    does not (dexamethasone given for "methylprednisolone" where the label lists it), and
    ``counts_as_premedication=False`` charts a dose that does not match without counting it.
    ``allergy_acknowledged`` confirms a warning that the drug matches a recorded allergy.
    """

    drug: str
    dose: str
    route: str
    for_premedication: str | None = None
    counts_as_premedication: bool = True
    allergy_acknowledged: bool = False

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        for name in ("drug", "dose", "route"):
            _require_text(getattr(self, name), name)


@dataclass(frozen=True, slots=True, kw_only=True)
class StartInfusion(Command):
    """Start the drug. Starting without a required premedication, or outside its window,
    needs a physician's authorisation: the physician's own ``override_reason`` (signed at the
    chair), or a nurse's ``override_reason`` with ``verbal_order_by`` naming the physician who
    gave the verbal order, to be co-signed by them (``CosignVerbalOrder``)."""

    rate_ml_per_h: Fraction
    verbal_order_by: str | None = None
    bag_id: str | None = None
    """The bag's id, scanned or typed from its pharmacy label (``application/bag_check.py``)."""

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        _require_positive(self.rate_ml_per_h, "rate_ml_per_h")


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeRate(Command):
    rate_ml_per_h: Fraction

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        _require_positive(self.rate_ml_per_h, "rate_ml_per_h")


@dataclass(frozen=True, slots=True, kw_only=True)
class PauseInfusion(Command):
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumeInfusion(Command):
    """Resume a paused infusion (``verbal_order_by`` as for ``StartInfusion``).

    ``decision_note`` documents the nurse's or prescriber's decision where the protocol's
    reaction rule leaves the resume to it (alemtuzumab: no label resume rule)."""

    rate_ml_per_h: Fraction
    verbal_order_by: str | None = None
    decision_note: str | None = None

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        _require_positive(self.rate_ml_per_h, "rate_ml_per_h")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordVitals(Command):
    """Vital signs; every value is optional, at least one measured value must be given.

    ``consciousness`` (ACVPU) and ``supplemental_oxygen`` (True: on oxygen, False: on air)
    accompany a set: with all six NEWS2 measurements they make it complete, so that the NEWS2
    band is scored (dossier 2.2: a missing parameter is never imputed). ``consciousness`` also
    takes its letter (``"A"``, ``"C"``, ``"V"``, ``"P"``, ``"U"``).
    """

    systolic_mmhg: Fraction | None = None
    diastolic_mmhg: Fraction | None = None
    heart_rate_bpm: Fraction | None = None
    spo2_pct: Fraction | None = None
    temperature_c: Fraction | None = None
    respiratory_rate_per_min: Fraction | None = None
    consciousness: Consciousness | None = None
    supplemental_oxygen: bool | None = None
    mean_arterial_mmhg: Fraction | None = None
    """Mean arterial pressure as the device (or nurse) measured it; not a NEWS2 parameter."""

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        values = [getattr(self, name) for name in VITAL_SIGN_FIELDS]
        if all(v is None for v in values):
            raise InvalidCommand("RecordVitals needs at least one vital sign", field="vitals")
        for name, value in zip(VITAL_SIGN_FIELDS, values, strict=True):
            if value is not None:
                _require_positive(value, name)
                _require_resolution(value, name)
        if self.consciousness is not None:
            object.__setattr__(self, "consciousness", read_consciousness(self.consciousness))
        if self.supplemental_oxygen is not None and not isinstance(self.supplemental_oxygen, bool):
            raise InvalidCommand(
                f"supplemental_oxygen must be true or false, got {self.supplemental_oxygen!r}",
                field="supplemental_oxygen",
            )


def read_consciousness(value: object) -> Consciousness:
    """An ACVPU level from its ``Consciousness`` or its letter; ``InvalidCommand`` otherwise."""
    if isinstance(value, Consciousness):
        return value
    letters = [level.value for level in Consciousness]
    if isinstance(value, str) and value in letters:
        return Consciousness(value)
    raise InvalidCommand(
        f"consciousness must be one of {', '.join(letters)} (ACVPU), got {value!r}",
        field="consciousness",
    )


VITAL_SIGN_RESOLUTION: dict[str, int] = {
    "systolic_mmhg": 1,
    "diastolic_mmhg": 1,
    "heart_rate_bpm": 1,
    "spo2_pct": 1,
    "respiratory_rate_per_min": 1,
    "temperature_c": 10,
    "mean_arterial_mmhg": 1,
}
"""How finely each vital sign is charted: whole numbers for rates, pressures and SpO2, tenths of
a degree for temperature. Source: the standards dossier 2.2, implementation rule 2 (the RCP NEWS2
chart's bands are contiguous only at these resolutions; chart at
https://scribd.com/document/584338409/NEWS2-Chart-1-The-NEWS-scoring-system-0-0, the dossier's
cited copy; ``monitoring.news2.NEWS2_SOURCES``). A person's entry must be at this resolution."""


def _require_resolution(value: Fraction, name: str) -> None:
    steps = VITAL_SIGN_RESOLUTION.get(name, 1)
    if (value * steps).denominator != 1:
        unit = "a whole number" if steps == 1 else "a value in tenths (one decimal)"
        raise InvalidCommand(f"{name} must be {unit}, got {value}", field=name)


VITAL_SIGN_FIELDS = (
    "systolic_mmhg",
    "diastolic_mmhg",
    "heart_rate_bpm",
    "spo2_pct",
    "temperature_c",
    "respiratory_rate_per_min",
    "mean_arterial_mmhg",
)
"""The measured (numeric) vital signs; at least one is needed in every ``RecordVitals``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordReaction(Command):
    """An infusion-related reaction. The engine applies the protocol's rule at once.

    For a ``reduce_rate`` rule the engine sets the rate to ``rate_ml_per_h`` when given (it must
    not exceed factor x rate at onset) or else to exactly factor x rate at onset.
    """

    severity: Severity
    symptoms: tuple[str, ...]
    ctcae_grade: int | None = None
    rate_ml_per_h: Fraction | None = None

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        if not isinstance(self.severity, Severity):
            raise InvalidCommand(
                "severity must be mild|moderate|severe|life-threatening", field="severity"
            )
        if not self.symptoms:
            raise InvalidCommand("symptoms must list at least one symptom", field="symptoms")
        for symptom in self.symptoms:
            _require_text(symptom, "symptoms")
        if self.ctcae_grade is not None and not 1 <= self.ctcae_grade <= 5:
            raise InvalidCommand(
                f"ctcae_grade must be 1 to 5, got {self.ctcae_grade}", field="ctcae_grade"
            )
        if self.rate_ml_per_h is not None:
            _require_positive(self.rate_ml_per_h, "rate_ml_per_h")


@dataclass(frozen=True, slots=True, kw_only=True)
class GiveRescueMedication(Command):
    """A rescue medication: dose with its unit, route; ``allergy_acknowledged`` as for
    ``GivePremedication``."""

    drug: str
    dose: str
    route: str
    allergy_acknowledged: bool = False

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        for name in ("drug", "dose", "route"):
            _require_text(getattr(self, name), name)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveReaction(Command):
    """The reaction's symptoms resolved. After a severe or worse reaction this needs vital
    signs recorded since the reaction whose NEWS2 is not in the high band, or a physician's
    authorisation (``override_reason``; a nurse adds ``verbal_order_by``)."""

    note: str | None = None
    verbal_order_by: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CosignVerbalOrder(Command):
    """The physician named by a verbal order co-signs it: ``entry_sequence`` is the entry."""

    entry_sequence: int

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        if isinstance(self.entry_sequence, bool) or not isinstance(self.entry_sequence, int):
            raise InvalidCommand("entry_sequence must be an integer", field="entry_sequence")
        if self.entry_sequence < 1:
            raise InvalidCommand("entry_sequence must be 1 or more", field="entry_sequence")


@dataclass(frozen=True, slots=True, kw_only=True)
class CompleteInfusion(Command):
    """The bag is empty (within ``COMPLETION_TOLERANCE`` of the bag volume)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StopInfusion(Command):
    """End the infusion early; delivered volume and dose are recorded."""

    reason: str

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        _require_text(self.reason, "reason")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordLineEvent(Command):
    """A bag or line event (bag replaced, line occluded...). Recorded only: pause to stop flow."""

    kind: str
    note: str | None = None

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        if self.kind not in LINE_EVENT_KINDS:
            raise InvalidCommand(f"kind must be one of {', '.join(LINE_EVENT_KINDS)}", field="kind")


@dataclass(frozen=True, slots=True, kw_only=True)
class Discharge(Command):
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrectEntry(Command):
    """Record that event number ``corrects_sequence`` (1-based) was wrong, and why. Never edits.
    ``corrected_at`` gives the entry's true time when that was what was wrong."""

    corrects_sequence: int
    reason: str
    correction: str | None = None
    corrected_at: datetime | None = None

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        if self.corrected_at is not None:
            if self.corrected_at.tzinfo is None or self.corrected_at.utcoffset() is None:
                raise InvalidCommand(
                    "corrected_at must be a timezone-aware datetime (ISO 8601 with offset)",
                    field="corrected_at",
                )
            object.__setattr__(self, "corrected_at", self.corrected_at.astimezone(UTC))
        if isinstance(self.corrects_sequence, bool) or not isinstance(self.corrects_sequence, int):
            raise InvalidCommand("corrects_sequence must be an integer", field="corrects_sequence")
        _require_text(self.reason, "reason")


@dataclass(frozen=True, slots=True, kw_only=True)
class AcknowledgeAlert(Command):
    """The acting user has seen alert ``alert_id`` (``alert-<n>``) and responds to it."""

    alert_id: str
    note: str | None = None

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        _require_text(self.alert_id, "alert_id")
        if self.note is not None:
            _require_text(self.note, "note")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordPumpEvent(Command):
    """What pump ``pump_id`` reports it did at ``at`` (the pump's clock): the engine charts the
    fact it implies (a start, a rate, a pause, the completion) and, when the engine's rules
    refuse that fact, records it anyway as the pump's truth and raises an alert for the nurse.

    ``pump_volume_ml`` is the pump's cumulative volume delivered; ``volume_tolerance_ml`` the
    centre's allowed difference from the engine's volume (None: not compared). Sent by the pump
    adapter (``application/pump_feed.py``); no role may send it through the API
    (``permissions.MATRIX``: ``record_pump_event`` is granted to nobody)."""

    pump_id: str
    kind: str
    rate_ml_per_h: Fraction | None = None
    pump_volume_ml: Fraction | None = None
    order_id: str | None = None
    alarm: str | None = None
    volume_tolerance_ml: Fraction | None = None

    def __post_init__(self) -> None:
        Command.__post_init__(self)
        _require_text(self.pump_id, "pump_id")
        if self.kind not in PUMP_EVENT_KINDS:
            raise InvalidCommand(f"kind must be one of {', '.join(PUMP_EVENT_KINDS)}", field="kind")
        if self.kind == "delivery-started" and self.rate_ml_per_h is None:
            raise InvalidCommand("a delivery start needs rate_ml_per_h", field="rate_ml_per_h")
        if self.rate_ml_per_h is not None:
            _require_positive(self.rate_ml_per_h, "rate_ml_per_h")
        for name in ("pump_volume_ml", "volume_tolerance_ml"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, Fraction) or value < 0):
                raise InvalidCommand(f"{name} must be zero or more, got {value!r}", field=name)
        if self.kind == "alarm":
            _require_text(self.alarm or "", "alarm")


COMMAND_TYPES: tuple[type[Command], ...] = (
    CheckIn,
    RecordAssessment,
    GivePremedication,
    StartInfusion,
    ChangeRate,
    PauseInfusion,
    ResumeInfusion,
    RecordVitals,
    RecordReaction,
    GiveRescueMedication,
    ResolveReaction,
    CompleteInfusion,
    StopInfusion,
    RecordLineEvent,
    Discharge,
    CorrectEntry,
    AcknowledgeAlert,
    CosignVerbalOrder,
    RecordPumpEvent,
)
