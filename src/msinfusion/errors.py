"""The one error tree of msinfusion.

Every error a caller may want to handle derives from ``MsinfusionError``; each edge (CLI, later
HTTP, HL7, FHIR) translates this tree once, in one table::

    MsinfusionError
    ├── CatalogError              a protocol file or catalog query is wrong (file, field, reason)
    │   ├── InvalidTherapyFile    a therapy file fails validation (every problem listed)
    │   └── ProtocolNotFound      no protocol or therapy with that id
    ├── PlanningError             an infusion plan cannot be made (field, reason)
    │   ├── IneligibleProtocol    the protocol does not apply to this dose / patient
    │   ├── MissingMeasurement    a patient measurement the dose needs is absent
    │   ├── InvalidCourseOrder    a course order's therapy, option or dose history is wrong
    │   ├── DoseTooEarly          a dose before its earliest date (minimum interval) is refused
    │   └── GateBlocked           a mandatory pre-treatment / pre-infusion gate is not passed
    ├── SessionError              the infusion session engine cannot do what was asked
    │   ├── InvalidCommand        a command is malformed (field, reason): fix the input
    │   ├── CommandRefused        a well-formed command breaks a safety rule (rule, reason)
    │   ├── InvalidEvent          a stored event cannot be read or upcast (type, version)
    │   ├── SessionNotFound       no session with that id
    │   └── ConcurrencyError      the session changed since the caller read it (expected, actual)
    ├── MonitoringError           vital signs or alerts cannot be processed
    │   ├── InvalidVitalSigns     a vital-sign value is malformed or implausible (field, reason)
    │   └── DeviceMessageError    a bedside-monitor message cannot be used (HL7 ACK code, reason)
    │       ├── MalformedMessage  not parseable HL7 v2, or a required field missing (AR)
    │       ├── UnsupportedMessage  not an IHE PCD-01 ORU^R01 (AR)
    │       ├── UnknownPatient    no patient/chair matches PID/PV1 (AE)
    │       └── UnmappableMessage no observation maps to a vital sign (AE)
    ├── RecordError               a stored record cannot be found or would be duplicated
    │   ├── RecordNotFound        no record of that kind with that id
    │   └── DuplicateRecord       a record with that id (or unique name) exists
    ├── AccessError               who is asking may not do what they ask
    │   ├── AuthenticationFailed  unknown user, wrong password, bad or revoked token
    │   ├── PermissionDenied      the role may not take this action (role, action)
    │   ├── PasswordChangeRequired  an administrator reset the password: choose a new one first
    │   └── TooManyAttempts       login attempts for this user name and address are paused
    ├── PharmacologyError         a PK/PD simulation cannot be run on the given input
    │   ├── InvalidDosing         a dosing schedule or record is malformed (field, reason)
    │   └── UnknownModel          no pharmacology model for that therapy
    └── SchedulingError           a scheduling problem or instance file cannot be used
        └── InvalidSchedulingProblem  a chair/nurse/visit/link value fails validation

Messages are one sentence naming the field and the reason, safe to show to a clinician, and never
contain patient-identifying data.
"""

from __future__ import annotations


class MsinfusionError(Exception):
    """Base of every expected msinfusion error."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class CatalogError(MsinfusionError):
    """A therapy file, or a query against the catalog, is invalid."""

    def __init__(self, reason: str, *, file: str | None = None, field: str | None = None) -> None:
        where = ": ".join(part for part in (file, field) if part)
        super().__init__(f"{where}: {reason}" if where else reason, field=field)
        self.file = file
        self.reason = reason


class InvalidTherapyFile(CatalogError):
    """A therapy file fails validation; ``problems`` lists every (field, reason) found."""

    def __init__(self, *, file: str, problems: tuple[tuple[str, str], ...]) -> None:
        detail = "; ".join(f"{field}: {reason}" for field, reason in problems)
        super().__init__(detail, file=file, field=problems[0][0] if problems else None)
        self.message = f"{file}: {detail}"
        self.args = (self.message,)
        self.problems = problems


class ProtocolNotFound(CatalogError):
    """No protocol (or therapy) with the requested id exists in the catalog."""


class PlanningError(MsinfusionError):
    """An infusion plan or calendar cannot be computed from the given input."""


class IneligibleProtocol(PlanningError):
    """The protocol may not be used for this dose number or patient history."""


class MissingMeasurement(PlanningError):
    """A patient measurement (height, weight) that the dose depends on was not given."""


class InvalidCourseOrder(PlanningError):
    """A treatment-course order names an unknown option or value, or a dose history is wrong."""


class DoseTooEarly(PlanningError):
    """A dose dated before its earliest allowed date (the label's minimum interval) is refused."""

    def __init__(self, *, dose_number: int, on: str, earliest: str, rule: str) -> None:
        super().__init__(
            f"dose {dose_number} on {on} is before its earliest date {earliest} ({rule})",
            field="given",
        )
        self.dose_number = dose_number
        self.on = on
        self.earliest = earliest
        self.rule = rule


class GateBlocked(PlanningError):
    """A mandatory gate fails or is missing and is not validly overridden (``gate_ids``)."""

    def __init__(
        self, *, gate_ids: tuple[str, ...], reasons: tuple[str, ...], stage: str = "start"
    ) -> None:
        super().__init__(f"blocked by gates at {stage}: " + "; ".join(reasons), field="gates")
        self.gate_ids = gate_ids
        self.reasons = reasons
        self.stage = stage


class SessionError(MsinfusionError):
    """The infusion session engine cannot do what was asked."""


class InvalidCommand(SessionError):
    """A command is malformed: a missing or wrongly typed field, a naive time, a rate <= 0."""


class CommandRefused(SessionError):
    """A well-formed command breaks a safety rule; ``rule`` is its stable, documented name."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(f"{rule}: {reason}", field=None)
        self.rule = rule
        self.reason = reason


class InvalidEvent(SessionError):
    """A stored event has an unknown type or schema version, or a field that cannot be read."""


class SessionNotFound(SessionError):
    """No session with the requested id exists."""


class ConcurrencyError(SessionError):
    """The session has ``actual`` events, not the ``expected`` number the caller decided on."""

    def __init__(self, *, session_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"session {session_id} is at version {actual}, not the expected {expected}",
            field="expected_version",
        )
        self.expected = expected
        self.actual = actual


class RecordError(MsinfusionError):
    """A record (patient, chair, order, appointment, user, token) cannot be stored or found."""


class RecordNotFound(RecordError):
    """No record of that kind with that id."""


class DuplicateRecord(RecordError):
    """A record with that id (or unique name) already exists."""


class MonitoringError(MsinfusionError):
    """Vital signs or alerts cannot be processed."""


class InvalidVitalSigns(MonitoringError):
    """A vital-sign value is malformed or physiologically implausible (a typing or device error)."""


class AccessError(MsinfusionError):
    """Who is asking may not do what they ask (authentication, authorization, rate limits)."""


class AuthenticationFailed(AccessError):
    """Unknown user, wrong password, inactive user, or a bad or revoked token.

    The message never says which of these it was (no user-name oracle).
    """

    def __init__(self, message: str = "the user name, password or token is not valid") -> None:
        super().__init__(message, field=None)


class PermissionDenied(AccessError):
    """The caller's ``role`` may not take ``action`` (``msinfusion.application.permissions``)."""

    def __init__(self, *, role: str, action: str) -> None:
        super().__init__(f"the role {role} may not {action.replace('_', ' ')}", field=None)
        self.role = role
        self.action = action


class CsrfFailed(AccessError):
    """A change sent with a browser session cookie lacks the matching ``X-CSRF-Token`` header."""

    def __init__(self) -> None:
        super().__init__(
            "a change made with a browser session needs the X-CSRF-Token header from login",
            field="X-CSRF-Token",
        )


class PasswordChangeRequired(AccessError):
    """An administrator reset this user's password; only a password change is allowed now."""

    def __init__(self) -> None:
        super().__init__(
            "an administrator reset your password; choose a new one "
            "(POST /api/auth/password) before anything else",
            field="password",
        )


class TooManyAttempts(AccessError):
    """Too many failed logins for one user name from one address; retry after ``retry_after_s``."""

    def __init__(self, *, retry_after_s: int) -> None:
        super().__init__(
            f"too many failed logins; try again in {retry_after_s} seconds", field="username"
        )
        self.retry_after_s = retry_after_s


class PharmacologyError(MsinfusionError):
    """A PK/PD simulation or forecast cannot be run on the given input."""


class InvalidDosing(PharmacologyError):
    """A dosing schedule or infusion record is malformed: overlapping segments, no end, no dose."""


class UnknownModel(PharmacologyError):
    """No pharmacology model exists for the requested therapy."""


class SchedulingError(MsinfusionError):
    """A scheduling problem (or an instance file describing one) cannot be used.

    An optimisation that finds no schedule is not an error: the solvers return a status
    (optimal, feasible, infeasible, unknown) and never raise for "infeasible".
    """


class InvalidSchedulingProblem(SchedulingError):
    """A chair, nurse, visit, link or option of a scheduling problem fails validation."""


class DeviceMessageError(MonitoringError):
    """A bedside-monitor message cannot be used; ``ack_code`` is the HL7 MSA-1 answer."""

    ack_code = "AE"


class MalformedMessage(DeviceMessageError):
    ack_code = "AR"


class UnsupportedMessage(DeviceMessageError):
    ack_code = "AR"


class UnknownPatient(DeviceMessageError):
    ack_code = "AE"


class UnmappableMessage(DeviceMessageError):
    ack_code = "AE"
