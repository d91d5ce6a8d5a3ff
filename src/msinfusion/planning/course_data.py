"""The cited numbers of treatment courses, gates, monitoring and risk.

They live in ``catalog/data/courses/course_rules.toml`` with their sources and the dossier's choice
where sources conflict; this module reads the file once (``tomllib``) and hands out typed,
cited values. A key that is missing or malformed fails loudly at first use, and the test suite
reads every key the code uses.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from msinfusion.catalog.model import Interval, IntervalUnit
from msinfusion.errors import CatalogError

RULES_FILE = "courses/course_rules.toml"


@dataclass(frozen=True, slots=True, kw_only=True)
class CitedRule:
    """One number (or interval, or text) with its source URLs and the dossier's note."""

    key: str
    value: Any
    unit: str | None
    source_urls: tuple[str, ...]
    note: str | None
    verified: bool

    @property
    def interval(self) -> Interval:
        if self.unit is None or not isinstance(self.value, int):
            raise CatalogError("is not an interval", file=RULES_FILE, field=self.key)
        return Interval(value=self.value, unit=IntervalUnit(self.unit))

    @property
    def number(self) -> Decimal:
        if isinstance(self.value, bool) or not isinstance(self.value, int | Decimal):
            raise CatalogError("is not a number", file=RULES_FILE, field=self.key)
        return Decimal(self.value)

    @property
    def sources_text(self) -> str:
        text = " ; ".join(self.source_urls) or "no URL (dossier note)"
        return text if self.verified else f"{text} (UNVERIFIED)"


@cache
def raw_rules() -> dict[str, Any]:
    """The parsed rules file (floats as Decimal)."""
    text = resources.files("msinfusion.catalog").joinpath("data", RULES_FILE).read_text("utf-8")
    return tomllib.loads(text, parse_float=Decimal)


def source_url(source_id: str) -> str:
    sources: dict[str, str] = raw_rules()["sources"]
    if source_id not in sources:
        raise CatalogError(f"unknown source id '{source_id}'", file=RULES_FILE, field="sources")
    return sources[source_id]


@cache
def rule(key: str) -> CitedRule:
    """The cited value at ``"section.name"``, e.g. ``rule("ocrelizumab.min_interval")``."""
    section, _, name = key.partition(".")
    entry = raw_rules().get(section, {}).get(name)
    if not isinstance(entry, dict) or "value" not in entry or "sources" not in entry:
        raise CatalogError("missing or has no value and sources", file=RULES_FILE, field=key)
    return CitedRule(
        key=key,
        value=entry["value"],
        unit=entry.get("unit"),
        source_urls=tuple(source_url(s) for s in entry["sources"]),
        note=entry.get("note"),
        verified=bool(entry.get("verified", True)),
    )


def interval(key: str) -> Interval:
    return rule(key).interval


def number(key: str) -> Decimal:
    return rule(key).number
