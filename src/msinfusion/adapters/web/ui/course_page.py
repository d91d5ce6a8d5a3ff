"""The patient page's course panels and clinical entries, from ``Centre.clinical.courses``.

Nothing is decided here: the calendar, the gates of the next dose, the monitoring slots and the
risks are the planning core's ``CourseCheck`` in its stable JSON view (``course_check_to_dict``,
the same one the API and CLI give); this module only picks out what the page needs at a glance
(the next dose, the gates blocking it, the failed gates a physician may override) and words the
entries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from msinfusion.application.clinical_records import OrderCourse, PatientCourses
from msinfusion.application.records import ClinicalEntry, ClinicalEntryKind, TherapyOrder
from msinfusion.planning.course_check import course_check_to_dict


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceLink:
    url: str
    title: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CoursePanel:
    """One active order: its course check as JSON, plus the next dose and its gate decisions."""

    order: TherapyOrder
    check: dict[str, Any]
    next_dose: dict[str, Any] | None
    gates_on: date | None
    """The dose date the gates were checked for (overrides are recorded for this date)."""
    failed: tuple[dict[str, Any], ...]
    """Mandatory gates failed and not overridden: booking and starting the dose are refused."""
    missing: tuple[dict[str, Any], ...]
    """Mandatory results not on file for that date: starting the dose is refused until they are."""
    due_now: bool
    """The next dose may be given from today (its earliest date is today or past)."""
    overridable: tuple[dict[str, Any], ...]
    """Failed gates the label lets a physician override, not yet overridden."""
    calendar_sources: tuple[SourceLink, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryRow:
    entry: ClinicalEntry
    kind: str
    summary: str
    retracted: bool
    retraction_reason: str | None
    may_retract: bool
    pending: ClinicalEntry | None = None
    """A retraction of this entry waiting for its co-signature (the entry still counts)."""
    cosign_roles: tuple[str, ...] = ()
    """Who may co-sign that retraction."""
    may_cosign: bool = False
    """The viewer may co-sign it (their role is named, and they are not the one who retracted)."""


def source_links(urls: list[str] | tuple[str, ...]) -> tuple[SourceLink, ...]:
    """Each source URL with its host as the link text (the full URL stays in ``href``)."""
    return tuple(SourceLink(url=u, title=urlsplit(u).netloc or u) for u in urls)


def _linked(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "sources": source_links(item.get("sources", ()))}


def course_panel(course: OrderCourse) -> CoursePanel:
    raw = course_check_to_dict(course.check)
    gates = [_linked(g) for g in raw["gates"]]
    raw["gates"] = gates
    raw["monitoring"] = [_linked(s) for s in raw["monitoring"]]
    risks = raw["risks"]
    for key in ("pml", "anti_cd20_repletion"):
        if risks[key] is not None:
            risks[key] = _linked(risks[key])
    following = course.check.calendar.next_dose()
    next_dose = (
        None
        if following is None
        else next(d for d in raw["calendar"]["doses"] if d["dose_number"] == following.dose_number)
    )
    return CoursePanel(
        order=course.order,
        check=raw,
        next_dose=next_dose,
        gates_on=course.check.gates_on,
        failed=tuple(g for g in gates if g["blocks"] and g["status"] == "fail"),
        missing=tuple(g for g in gates if g["blocks"] and g["status"] == "missing"),
        due_now=course.check.next_dose_due_now,
        overridable=tuple(
            g for g in gates if g["status"] == "fail" and g["overridable"] and g["override"] is None
        ),
        calendar_sources=source_links(raw["calendar"]["sources"]),
    )


def _yes_no(value: Any, yes: str, no: str) -> str | None:
    return None if value is None else (yes if value else no)


def _lab_summary(data: dict[str, Any]) -> str:
    parts = [
        None if data.get("value") is None else f"value {data['value']}",
        _yes_no(data.get("positive"), "positive", "negative"),
        _yes_no(data.get("abnormal"), "ABNORMAL", "normal"),
        None if not data.get("assay") else f"assay {data['assay']}",
    ]
    return f"{data.get('test')}: " + ", ".join(p for p in parts if p)


def _profile_summary(data: dict[str, Any]) -> str:
    words = {True: "yes", False: "no", None: "unknown"}
    return "; ".join(
        f"{k.replace('_', ' ')}: {words.get(v, v) if isinstance(v, bool | None) else v}"
        for k, v in data.items()
    )


def _vaccination_summary(entry: ClinicalEntry) -> str:
    data = entry.data
    return f"{data.get('name')} ({'live' if data.get('live') else 'non-live'} vaccine)"


def _finding_summary(entry: ClinicalEntry) -> str:
    data = entry.data
    return f"{data.get('name')}: {'present' if data.get('present') else 'absent'}"


def _programme_form_summary(entry: ClinicalEntry) -> str:
    data = entry.data
    answers = data.get("answers") or {}
    said = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in answers.items())
    infused = (
        {True: "; infused", False: "; not infused"}.get(bool(data["infused"]), "")
        if ("infused" in data)
        else ""
    )
    sent = f"; sent {data['submitted_on']}" if data.get("submitted_on") else "; not sent yet"
    return f"{data.get('form')} for dose {data.get('dose_number')}: {said}{infused}{sent}"


def _override_summary(entry: ClinicalEntry) -> str:
    data = entry.data
    return (
        f"override of gate {data.get('gate_id')} for the dose on {entry.on}: "
        f"{data.get('justification')} (physician {data.get('physician_id')})"
    )


def _given_dose_summary(entry: ClinicalEntry) -> str:
    data = entry.data
    dose = f"dose {data.get('dose_number')} of order {data.get('order_id')}, given elsewhere"
    mg = data.get("mg_per_m2")
    return dose if mg is None else f"{dose} ({mg} mg/m²)"


def _retraction_summary(entry: ClinicalEntry) -> str:
    said = f"retracts entry {entry.data.get('entry_id')}: {entry.data.get('reason')}"
    if entry.data.get("cosigns"):
        return f"{said} (co-signature of retraction {entry.data['cosigns']})"
    if entry.data.get("cosign_roles"):
        roles = " or a ".join(str(r) for r in entry.data["cosign_roles"])
        return f"{said} (needs the co-signature of a {roles})"
    return said


_SUMMARIES: dict[ClinicalEntryKind, Callable[[ClinicalEntry], str]] = {
    ClinicalEntryKind.LAB: lambda e: _lab_summary(dict(e.data)),
    ClinicalEntryKind.VACCINATION: _vaccination_summary,
    ClinicalEntryKind.FINDING: _finding_summary,
    ClinicalEntryKind.OVERRIDE: _override_summary,
    ClinicalEntryKind.PROFILE: lambda e: _profile_summary(dict(e.data)),
    ClinicalEntryKind.GIVEN_DOSE: _given_dose_summary,
    ClinicalEntryKind.RETRACTION: _retraction_summary,
    ClinicalEntryKind.PROGRAMME_FORM: _programme_form_summary,
    ClinicalEntryKind.DRUG_LEVEL: lambda e: (
        f"{e.data.get('analyte', 'drug')} trough {e.data.get('trough_ug_per_ml')} ug/mL "
        f"at {e.data.get('at')}"
    ),
    ClinicalEntryKind.TDM_RECOMMENDATION: lambda e: (
        f"TDM recommendation ({e.data.get('model_version')}): every "
        f"{e.data.get('interval_weeks')} weeks for {e.data.get('target_ug_per_ml')} ug/mL"
    ),
}


def entry_summary(entry: ClinicalEntry) -> str:
    """One line a nurse can read: what the entry says, in words."""
    summary = _SUMMARIES.get(entry.kind)
    return str(dict(entry.data)) if summary is None else summary(entry)


def _newest_first(entry: ClinicalEntry) -> tuple[datetime, date, str]:
    return entry.recorded_at, entry.on, entry.id


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryViewer:
    """Who reads the entries: what the page offers them (the service layer still decides)."""

    may_retract_override: bool
    role: str | None = None
    user_id: str | None = None


def entry_rows(courses: PatientCourses, *, viewer: EntryViewer) -> list[EntryRow]:
    """Every entry, newest recorded first; retracted ones carry the retraction's reason, and
    an entry whose retraction waits for a co-signature says so (and offers the co-signature to
    a viewer who may sign: of a role the retraction names, not the one who retracted)."""
    pending = {
        str(c.retraction.data.get("entry_id")): c
        for c in courses.cosignatures.values()
        if c.pending
    }
    reasons = {
        str(e.data.get("entry_id")): str(e.data.get("reason"))
        for e in courses.entries
        if e.kind is ClinicalEntryKind.RETRACTION and e.id not in courses.cosignatures
    }
    rows = []
    for entry in sorted(courses.entries, key=_newest_first, reverse=True):
        retracted = entry.id in courses.retracted_ids
        waiting = pending.get(entry.id)
        retractable = (
            entry.kind is not ClinicalEntryKind.RETRACTION and not retracted and waiting is None
        )
        if entry.kind is ClinicalEntryKind.OVERRIDE:
            retractable = retractable and viewer.may_retract_override
        rows.append(
            EntryRow(
                entry=entry,
                kind=entry.kind.value,
                summary=entry_summary(entry),
                retracted=retracted,
                retraction_reason=reasons.get(entry.id),
                may_retract=retractable,
                pending=None if waiting is None else waiting.retraction,
                cosign_roles=() if waiting is None else waiting.roles,
                may_cosign=waiting is not None
                and viewer.role in waiting.roles
                and viewer.user_id != waiting.retraction.recorded_by,
            )
        )
    return rows


def patient_course_page(courses: PatientCourses, *, viewer: EntryViewer) -> dict[str, Any]:
    """Template context for the course part of the patient page."""
    return {
        "panels": [course_panel(c) for c in courses.courses],
        "flags": courses.flags,
        "course_problems": courses.problems,
        "entries": entry_rows(courses, viewer=viewer),
        "checked_on": courses.as_of,
    }
