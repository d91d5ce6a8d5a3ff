"""The REMS / TOUCH ledger's requirements, read from ``catalog/data/courses/ledger_rules.toml``.

Each requirement is a programme rule of rems-and-label-rules.md (its row id, grade, sources)
and the kind of evidence in the clinical record that satisfies it; the file's header says what
each kind means. Programme-specific rules are data here, never branches on a drug name.
"""

from __future__ import annotations

import enum
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from msinfusion.errors import CatalogError

RULES_FILE = "courses/ledger_rules.toml"


class Evidence(enum.Enum):
    DOSE_FINDING = "dose-finding"
    MONITORING = "monitoring"
    MILESTONE_FINDING = "milestone-finding"
    AFTER_STOP = "after-stop"
    DOSE_FORM = "dose-form"


@dataclass(frozen=True, slots=True, kw_only=True)
class Requirement:
    id: str
    programme: str
    therapy_id: str
    jurisdictions: frozenset[str]
    title: str
    evidence: Evidence
    grade: str
    sources: tuple[str, ...]
    verified: bool = True
    note: str | None = None
    finding: str | None = None
    pass_when: bool | None = None
    tests: tuple[str, ...] = ()
    baseline_only: bool = False
    baseline_within_days: int | None = None
    timing: str = "by"
    after_months: tuple[int, ...] = ()
    form: str | None = None

    def applies_in(self, jurisdiction: str | None) -> bool:
        """As gates: in its jurisdictions, and everywhere when the jurisdiction is unknown."""
        return jurisdiction is None or jurisdiction in self.jurisdictions


_NEEDS = {
    Evidence.DOSE_FINDING: ("finding", "pass_when"),
    Evidence.MILESTONE_FINDING: ("finding", "pass_when", "after_months"),
    Evidence.MONITORING: ("tests",),
    Evidence.AFTER_STOP: ("tests", "after_months"),
    Evidence.DOSE_FORM: ("form",),
}


def _requirement(raw: dict[str, Any], index: int) -> Requirement:
    where = f"requirement {index + 1}"
    try:
        evidence = Evidence(raw["evidence"])
        tests = tuple(raw.get("tests", ())) or ((raw["test"],) if "test" in raw else ())
        requirement = Requirement(
            id=str(raw["id"]),
            programme=str(raw["programme"]),
            therapy_id=str(raw["therapy"]),
            jurisdictions=frozenset(raw["jurisdictions"]),
            title=str(raw["title"]),
            evidence=evidence,
            grade=str(raw["grade"]),
            sources=tuple(raw["sources"]),
            verified=bool(raw.get("verified", raw["grade"] != "C")),
            note=raw.get("note"),
            finding=raw.get("finding"),
            pass_when=raw.get("pass_when"),
            tests=tests,
            baseline_only=bool(raw.get("baseline_only", False)),
            baseline_within_days=raw.get("baseline_within_days"),
            timing=str(raw.get("timing", "by")),
            after_months=tuple(int(m) for m in raw.get("after_months", ())),
            form=raw.get("form"),
        )
    except (KeyError, ValueError, TypeError) as error:
        raise CatalogError(f"{where}: {error}", file=RULES_FILE) from None
    missing = [f for f in _NEEDS[evidence] if getattr(requirement, f) in (None, ())]
    if missing or not requirement.sources:
        raise CatalogError(f"{where}: needs {missing or ['sources']}", file=RULES_FILE)
    if requirement.form is not None and requirement.form not in {f.id for f in _forms()}:
        raise CatalogError(f"{where}: no [[form]] {requirement.form!r}", file=RULES_FILE)
    return requirement


@dataclass(frozen=True, slots=True, kw_only=True)
class FormQuestion:
    """One question of a programme form: its answer is yes (true) or no (false)."""

    id: str
    text: str
    stop_answer: bool
    """The answer that means: do not infuse, contact the prescriber."""
    finding: str | None
    """The finding (planning.patient_record.FINDINGS) the answer also records for the gates."""
    rule_id: str
    grade: str
    verified: bool
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgrammeForm:
    """A programme's form recorded per visit (kind ``programme-form``), e.g. the TOUCH
    Pre-infusion Patient Checklist: its questions in order and the rule its answers follow."""

    id: str
    programme: str
    therapy_id: str
    jurisdictions: frozenset[str]
    title: str
    rule: str
    rule_ids: tuple[str, ...]
    submit_within_days: int | None
    grade: str
    verified: bool
    note: str | None
    sources: tuple[str, ...]
    questions: tuple[FormQuestion, ...]

    def applies_in(self, jurisdiction: str | None) -> bool:
        return jurisdiction is None or jurisdiction in self.jurisdictions

    def stop_questions(self, answers: dict[str, bool]) -> tuple[FormQuestion, ...]:
        """The questions whose answer stops the infusion."""
        return tuple(q for q in self.questions if answers.get(q.id) is q.stop_answer)


def _question(raw: dict[str, Any]) -> FormQuestion:
    return FormQuestion(
        id=str(raw["id"]),
        text=str(raw["text"]),
        stop_answer=bool(raw["stop_answer"]),
        finding=raw.get("finding"),
        rule_id=str(raw["rule_id"]),
        grade=str(raw["grade"]),
        verified=bool(raw.get("verified", raw["grade"] != "C")),
        sources=tuple(raw["sources"]),
    )


def _form(raw: dict[str, Any], index: int) -> ProgrammeForm:
    try:
        form = ProgrammeForm(
            id=str(raw["id"]),
            programme=str(raw["programme"]),
            therapy_id=str(raw["therapy"]),
            jurisdictions=frozenset(raw["jurisdictions"]),
            title=str(raw["title"]),
            rule=str(raw["rule"]),
            rule_ids=tuple(raw["rule_ids"]),
            submit_within_days=raw.get("submit_within_days"),
            grade=str(raw["grade"]),
            verified=bool(raw.get("verified", raw["grade"] != "C")),
            note=raw.get("note"),
            sources=tuple(raw["sources"]),
            questions=tuple(_question(q) for q in raw["question"]),
        )
    except (KeyError, ValueError, TypeError) as error:
        raise CatalogError(f"form {index + 1}: {error}", file=RULES_FILE) from None
    if not form.sources or not form.questions or any(not q.sources for q in form.questions):
        raise CatalogError(f"form {index + 1}: needs sources and questions", file=RULES_FILE)
    return form


@cache
def _raw() -> dict[str, Any]:
    text = resources.files("msinfusion.catalog").joinpath("data", RULES_FILE).read_text("utf-8")
    return tomllib.loads(text)


@cache
def _forms() -> tuple[ProgrammeForm, ...]:
    return tuple(_form(f, i) for i, f in enumerate(_raw().get("form", ())))


def programme_forms() -> tuple[ProgrammeForm, ...]:
    """Every programme form of the shipped file, in file order.

    >>> [q.id for q in programme_forms()[0].questions][:2]
    ['authorized', 'new_or_worsening_problem']
    """
    return _forms()


def programme_form(form_id: str) -> ProgrammeForm | None:
    return next((f for f in _forms() if f.id == form_id), None)


@cache
def ledger_requirements() -> tuple[Requirement, ...]:
    """Every requirement of the shipped file, in file order.

    >>> [r.id for r in ledger_requirements() if r.therapy_id == "alemtuzumab"][:2]
    ['LEMUS-03', 'LEMUS-05']
    """
    return tuple(_requirement(r, i) for i, r in enumerate(_raw()["requirement"]))
