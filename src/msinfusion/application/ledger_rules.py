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

    def applies_in(self, jurisdiction: str | None) -> bool:
        """As gates: in its jurisdictions, and everywhere when the jurisdiction is unknown."""
        return jurisdiction is None or jurisdiction in self.jurisdictions


_NEEDS = {
    Evidence.DOSE_FINDING: ("finding", "pass_when"),
    Evidence.MILESTONE_FINDING: ("finding", "pass_when", "after_months"),
    Evidence.MONITORING: ("tests",),
    Evidence.AFTER_STOP: ("tests", "after_months"),
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
        )
    except (KeyError, ValueError, TypeError) as error:
        raise CatalogError(f"{where}: {error}", file=RULES_FILE) from None
    missing = [f for f in _NEEDS[evidence] if getattr(requirement, f) in (None, ())]
    if missing or not requirement.sources:
        raise CatalogError(f"{where}: needs {missing or ['sources']}", file=RULES_FILE)
    return requirement


@cache
def ledger_requirements() -> tuple[Requirement, ...]:
    """Every requirement of the shipped file, in file order.

    >>> [r.id for r in ledger_requirements() if r.therapy_id == "alemtuzumab"][:2]
    ['LEMUS-03', 'LEMUS-05']
    """
    text = resources.files("msinfusion.catalog").joinpath("data", RULES_FILE).read_text("utf-8")
    raw = tomllib.loads(text)
    return tuple(_requirement(r, i) for i, r in enumerate(raw["requirement"]))
