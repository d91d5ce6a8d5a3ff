"""Who may do what: the one permission matrix of msinfusion. Deny by default.

Every use case calls ``require(role, action)`` before it touches storage; adapters never decide
permissions themselves. An action missing from ``MATRIX`` is allowed to nobody.

Decisions (documented in docs/user-guide/admin.md):

* Clinical reading (patients, orders, appointments, the board, sessions) is open to every
  clinical role and to ``viewer`` (a read-only station); ``admin`` runs the system and reads no
  patient data (least privilege), but manages users, tokens and chairs and reads the audit trail.
* Session commands (check-in, premedication, start, rate changes, vitals, reactions, rescue
  medication, completion, discharge, corrections) are for ``nurse`` and ``physician``.
* ``override_soft_limit`` — a command carrying an ``override_reason`` (starting outside the
  premedication window, a manual re-escalation after a reaction) — is for ``physician`` only: a
  soft limit is a clinical judgement the prescriber signs. A nurse whose start is refused for the
  premedication window asks the physician, who sends the command with the reason.
* Only ``physician`` writes therapy orders; ``scheduler`` and ``nurse`` book appointments;
  ``pharmacist`` edits protocols (catalog files; ``msinfusion catalog validate``).
* ``read_course`` (an order's dose calendar, a patient's course check: gates, monitoring,
  risks) is open to the clinical readers, like the order and patient it is computed from. The
  PML calculator holds no patient data and needs only ``read_catalog``, like infusion plans.
* ``plan_schedule`` (solve or re-plan a centre day, its Gantt chart) is for ``scheduler`` and
  ``nurse`` — the roles that book appointments; a solved day is a proposal and books nothing.
  ``admin`` is left out: a day built from stored appointments names patients.
* ``acknowledge_alert`` is for ``nurse`` and ``physician`` (the bedside roles). ``device`` — the
  role of bedside-monitor integrations — may only ``ingest_observations`` (``POST
  /api/observations``); nurses and physicians may post observations too. ``review_quarantine``
  (list and replay quarantined device messages) is ``admin``'s: listings show reasons and
  senders, never the message text. ``device`` reads nothing: not the catalog, not the chairs.
* ``change_own_password`` and ``issue_own_token`` are every person's (not a device's); tokens
  for another account are issued only by ``admin`` and only to device accounts
  (``accounts.Accounts.issue_token``), so no one can hold a working token in someone else's name.
* ``record_clinical`` (a patient's lab results, vaccinations, findings such as "no active
  infection today", profile answers, doses given elsewhere, retractions of entries made in
  error) is for ``nurse`` and ``physician``. ``override_gate`` — a justified override of a failed
  pre-treatment gate where the label leaves the decision to the prescriber — is ``physician``'s
  only, and is recorded in the physician's own name.
* ``cosign_retraction`` is for ``nurse`` and ``physician``: a retraction of an entry whose author
  had another role than the retracting user waits for a co-signature by a user of the author's
  role or a physician; which of the two roles may sign a given retraction is checked by the
  use case (``ClinicalRecords.cosign_retraction``), never by the one who retracted.
* ``read_worklist`` (the centre worklist across patients) and ``manage_worklist`` (assign an
  item to a person, close one with a documented reason) are for ``nurse``, ``physician`` and
  ``scheduler`` (the coordinators who book): the people who chase what is due. A result that
  closes a lab item is recorded with ``record_clinical`` (nurse, physician).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from msinfusion.application.records import Role
from msinfusion.errors import PermissionDenied


class Action(enum.Enum):
    READ_CATALOG = "read_catalog"
    READ_PATIENT = "read_patient"
    WRITE_PATIENT = "write_patient"
    READ_CHAIRS = "read_chairs"
    MANAGE_CHAIRS = "manage_chairs"
    READ_ORDER = "read_order"
    WRITE_ORDER = "write_order"
    READ_APPOINTMENT = "read_appointment"
    BOOK_APPOINTMENT = "book_appointment"
    READ_BOARD = "read_board"
    READ_SESSION = "read_session"
    OPEN_SESSION = "open_session"
    CHECK_IN = "check_in"
    RECORD_ASSESSMENT = "record_assessment"
    GIVE_MEDICATION = "give_medication"
    START_INFUSION = "start_infusion"
    CONTROL_INFUSION = "control_infusion"
    RECORD_VITALS = "record_vitals"
    RECORD_REACTION = "record_reaction"
    OVERRIDE_SOFT_LIMIT = "override_soft_limit"
    DISCHARGE = "discharge"
    CORRECT_ENTRY = "correct_entry"
    EDIT_PROTOCOL = "edit_protocol"
    MANAGE_USERS = "manage_users"
    READ_AUDIT = "read_audit"
    READ_COURSE = "read_course"
    PLAN_SCHEDULE = "plan_schedule"
    ACKNOWLEDGE_ALERT = "acknowledge_alert"
    INGEST_OBSERVATIONS = "ingest_observations"
    REVIEW_QUARANTINE = "review_quarantine"
    RECORD_CLINICAL = "record_clinical"
    OVERRIDE_GATE = "override_gate"
    COSIGN_RETRACTION = "cosign_retraction"
    VERIFY_DOSE = "verify_dose"
    CHANGE_OWN_PASSWORD = "change_own_password"
    ISSUE_OWN_TOKEN = "issue_own_token"
    READ_WORKLIST = "read_worklist"
    MANAGE_WORKLIST = "manage_worklist"

    ASSOCIATE_PUMP = "associate_pump"
    RECORD_PUMP_EVENT = "record_pump_event"


_N, _P, _PH, _S, _A, _V = (
    Role.NURSE,
    Role.PHYSICIAN,
    Role.PHARMACIST,
    Role.SCHEDULER,
    Role.ADMIN,
    Role.VIEWER,
)
_CLINICAL_READERS = frozenset({_N, _P, _PH, _S, _V})
_PEOPLE = frozenset(Role) - {Role.DEVICE}
_BEDSIDE = frozenset({_N, _P})

MATRIX: Mapping[Action, frozenset[Role]] = {
    Action.READ_CATALOG: _PEOPLE,
    Action.READ_PATIENT: _CLINICAL_READERS,
    Action.WRITE_PATIENT: frozenset({_N, _P, _S}),
    Action.READ_CHAIRS: _PEOPLE,
    Action.MANAGE_CHAIRS: frozenset({_A, _S}),
    Action.READ_ORDER: _CLINICAL_READERS,
    Action.WRITE_ORDER: frozenset({_P}),
    Action.READ_APPOINTMENT: _CLINICAL_READERS,
    Action.BOOK_APPOINTMENT: frozenset({_S, _N}),
    Action.READ_BOARD: _CLINICAL_READERS,
    Action.READ_SESSION: _CLINICAL_READERS,
    Action.OPEN_SESSION: _BEDSIDE,
    Action.CHECK_IN: _BEDSIDE,
    Action.RECORD_ASSESSMENT: _BEDSIDE,
    Action.GIVE_MEDICATION: _BEDSIDE,
    Action.START_INFUSION: _BEDSIDE,
    Action.CONTROL_INFUSION: _BEDSIDE,
    Action.RECORD_VITALS: _BEDSIDE,
    Action.RECORD_REACTION: _BEDSIDE,
    Action.OVERRIDE_SOFT_LIMIT: frozenset({_P}),
    Action.DISCHARGE: _BEDSIDE,
    Action.CORRECT_ENTRY: _BEDSIDE,
    Action.EDIT_PROTOCOL: frozenset({_PH}),
    Action.VERIFY_DOSE: frozenset({_PH}),
    Action.MANAGE_USERS: frozenset({_A}),
    Action.READ_AUDIT: frozenset({_A}),
    Action.READ_COURSE: _CLINICAL_READERS,
    Action.PLAN_SCHEDULE: frozenset({_S, _N}),
    Action.ACKNOWLEDGE_ALERT: _BEDSIDE,
    Action.INGEST_OBSERVATIONS: frozenset({_N, _P, Role.DEVICE}),
    Action.REVIEW_QUARANTINE: frozenset({_A}),
    Action.RECORD_CLINICAL: _BEDSIDE,
    Action.OVERRIDE_GATE: frozenset({_P}),
    Action.COSIGN_RETRACTION: _BEDSIDE,
    Action.CHANGE_OWN_PASSWORD: _PEOPLE,
    Action.ISSUE_OWN_TOKEN: _PEOPLE,
    Action.READ_WORKLIST: frozenset({_N, _P, _S}),
    Action.MANAGE_WORKLIST: frozenset({_N, _P, _S}),
    Action.ASSOCIATE_PUMP: frozenset({_N, _P, _A}),
    Action.RECORD_PUMP_EVENT: frozenset(),  # only the pump adapter, never through the API
}

COMMAND_ACTIONS: Mapping[str, Action] = {
    "CheckIn": Action.CHECK_IN,
    "RecordAssessment": Action.RECORD_ASSESSMENT,
    "GivePremedication": Action.GIVE_MEDICATION,
    "StartInfusion": Action.START_INFUSION,
    "ChangeRate": Action.CONTROL_INFUSION,
    "PauseInfusion": Action.CONTROL_INFUSION,
    "ResumeInfusion": Action.CONTROL_INFUSION,
    "RecordVitals": Action.RECORD_VITALS,
    "RecordReaction": Action.RECORD_REACTION,
    "GiveRescueMedication": Action.GIVE_MEDICATION,
    "ResolveReaction": Action.RECORD_REACTION,
    "CompleteInfusion": Action.CONTROL_INFUSION,
    "StopInfusion": Action.CONTROL_INFUSION,
    "RecordLineEvent": Action.CONTROL_INFUSION,
    "Discharge": Action.DISCHARGE,
    "CorrectEntry": Action.CORRECT_ENTRY,
    "AcknowledgeAlert": Action.ACKNOWLEDGE_ALERT,
    "CosignVerbalOrder": Action.OVERRIDE_SOFT_LIMIT,
    "RecordPumpEvent": Action.RECORD_PUMP_EVENT,
}
"""The action each session command needs; a command not listed here is refused to everyone."""


def is_allowed(role: Role, action: Action) -> bool:
    """Whether ``role`` may take ``action`` (False for anything not in the matrix).

    >>> is_allowed(Role.PHYSICIAN, Action.WRITE_ORDER), is_allowed(Role.NURSE, Action.WRITE_ORDER)
    (True, False)
    """
    return role in MATRIX.get(action, frozenset())


def require(role: Role, action: Action) -> None:
    """Raise ``PermissionDenied`` unless ``role`` may take ``action``."""
    if not is_allowed(role, action):
        raise PermissionDenied(role=role.value, action=action.value)


def require_command(role: Role, command_name: str, *, has_override: bool) -> None:
    """Raise ``PermissionDenied`` unless ``role`` may send this session command (and, when it
    carries an ``override_reason``, may override a soft limit)."""
    own = COMMAND_ACTIONS.get(command_name)
    if own is None:
        raise PermissionDenied(role=role.value, action=f"send {command_name}")
    require(role, own)
    if has_override:
        require(role, Action.OVERRIDE_SOFT_LIMIT)
