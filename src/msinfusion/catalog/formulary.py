"""The premedication formulary: drugs the protocols name, their routes and plausible doses.

Read once from ``catalog/data/formulary/medications.toml`` and validated with the catalog's
catalog's strictness: a drug with no cited maximum, an unknown source id or an unknown route fails
at load, naming the field. The session engine uses it to refuse an implausible dose
(a unit slip) and to know that "diphenhydramine" is an antihistamine.

>>> drug = shipped_formulary().find("Acetaminophen")
>>> drug.id, drug.max_single_dose_mg.value
('paracetamol', Decimal('1000'))
>>> shipped_formulary().find("antihistamine") is None
True
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from msinfusion.catalog.model import Cited, Source
from msinfusion.errors import CatalogError

FORMULARY_FILE = "formulary/medications.toml"
ROUTES = ("IV", "PO", "IM", "SC")
"""Routes a medication entry may name (HL7 v2 table 0162 abbreviations as charted)."""

ROUTE_ALIASES = {
    "iv": "IV",
    "intravenous": "IV",
    "intravenously": "IV",
    "po": "PO",
    "oral": "PO",
    "orally": "PO",
    "by mouth": "PO",
    "im": "IM",
    "intramuscular": "IM",
    "sc": "SC",
    "sq": "SC",
    "subcut": "SC",
    "subcutaneous": "SC",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class FormularyDrug:
    """One drug: the names it is charted under, its classes, routes and largest single dose."""

    id: str
    names: tuple[str, ...]
    classes: tuple[str, ...]
    routes: tuple[str, ...]
    max_single_dose_mg: Cited[Decimal]
    usual_single_dose_mg: Cited[Decimal] | None = None

    def is_named(self, text: str) -> bool:
        """True when ``text`` names this drug or one of its classes (any case)."""
        words = _words(text)
        return any(name in words for name in (*self.names, *self.classes))


@dataclass(frozen=True, slots=True)
class Formulary:
    drugs: tuple[FormularyDrug, ...]

    def of_class(self, text: str) -> tuple[FormularyDrug, ...]:
        """The drugs ``text`` names, or whose class it names ("antihistamine (e.g. ...)")."""
        return tuple(d for d in self.drugs if d.is_named(text))

    def find(self, drug: str) -> FormularyDrug | None:
        """The drug charted as ``drug`` (by one of its names, never by a class), or None."""
        words = _words(drug)
        for candidate in self.drugs:
            if any(name in words for name in candidate.names):
                return candidate
        return None


def _words(text: str) -> set[str]:
    cleaned = "".join(c if c.isalnum() or c == "-" else " " for c in text.lower())
    return set(cleaned.split())


def normalise_route(route: str) -> str | None:
    """The route's standard abbreviation (``"oral"`` -> ``"PO"``), or None when unknown.

    >>> normalise_route(" Intravenous "), normalise_route("po"), normalise_route("rectal")
    ('IV', 'PO', None)
    """
    text = route.strip()
    if text.upper() in ROUTES:
        return text.upper()
    return ROUTE_ALIASES.get(text.lower())


def _fail(reason: str, field: str) -> CatalogError:
    return CatalogError(reason, file=FORMULARY_FILE, field=field)


def _text_list(raw: dict[str, Any], key: str, field: str, *, required: bool = True) -> list[str]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail("must be a list of non-empty texts", f"{field}.{key}")
    if required and not value:
        raise _fail("must not be empty", f"{field}.{key}")
    return value


def _cited(raw: object, sources: dict[str, Source], field: str) -> Cited[Decimal]:
    """A cited dose ``{value, sources, note?, verified?}``: positive, every source known.

    (Validated by hand: the session core reads the formulary and never imports pydantic.)
    """
    if not isinstance(raw, dict) or set(raw) - {"value", "sources", "note", "verified"}:
        raise _fail("must be {value, sources, note?, verified?}", field)
    value = raw.get("value")
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value <= 0:
        raise _fail("value must be a positive number (mg)", f"{field}.value")
    ids = _text_list(raw, "sources", field)
    unknown = [i for i in ids if i not in sources]
    if unknown:
        raise _fail(f"unknown source id '{unknown[0]}'", f"{field}.sources")
    note = raw.get("note")
    return Cited(
        value=Decimal(value),
        sources=tuple(sources[i] for i in ids),
        note=note if isinstance(note, str) else None,
        verified=raw.get("verified", True) is not False,
    )


def load_formulary(text: str) -> Formulary:
    """Parse and validate formulary TOML ``text`` (errors name the file and field)."""
    try:
        raw = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise _fail(str(error), "(file)") from error
    sources: dict[str, Source] = {}
    for source_id, entry in dict(raw.get("sources", {})).items():
        if not isinstance(entry, dict) or not entry.get("url") or not entry.get("evidence"):
            raise _fail("must be {url, evidence}", f"sources.{source_id}")
        sources[source_id] = Source(
            id=source_id, url=str(entry["url"]), evidence=str(entry["evidence"])
        )
    drugs = []
    for i, entry in enumerate(raw.get("drugs", [])):
        field = f"drugs[{i}]"
        allowed = {"id", "names", "classes", "routes", "max_single_dose_mg", "usual_single_dose_mg"}
        if not isinstance(entry, dict) or set(entry) - allowed or not entry.get("id"):
            raise _fail(f"must have id and only {', '.join(sorted(allowed))}", field)
        routes = _text_list(entry, "routes", field)
        for route in routes:
            if route not in ROUTES:
                raise _fail(
                    f"unknown route '{route}' (one of {', '.join(ROUTES)})", f"{field}.routes"
                )
        usual = entry.get("usual_single_dose_mg")
        drugs.append(
            FormularyDrug(
                id=str(entry["id"]),
                names=tuple(n.lower() for n in _text_list(entry, "names", field)),
                classes=tuple(
                    c.lower() for c in _text_list(entry, "classes", field, required=False)
                ),
                routes=tuple(routes),
                max_single_dose_mg=_cited(
                    entry.get("max_single_dose_mg"), sources, f"{field}.max_single_dose_mg"
                ),
                usual_single_dose_mg=(
                    None
                    if usual is None
                    else _cited(usual, sources, f"{field}.usual_single_dose_mg")
                ),
            )
        )
    return Formulary(tuple(drugs))


@cache
def shipped_formulary() -> Formulary:
    """The formulary shipped in the package (read once)."""
    text = resources.files("msinfusion.catalog").joinpath("data", FORMULARY_FILE).read_text("utf-8")
    return load_formulary(text)
