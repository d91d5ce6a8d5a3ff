"""FHIR search over the resources this server builds: parameters, prefixes, paging, Bundle.

Parameters are matched on the built resources themselves (https://hl7.org/fhir/R4/search.html):

* ``token`` (``_id``, ``identifier``, ``status``, ``code``, ``gender``...): ``code``,
  ``system|code``, ``|code`` (no system) or ``system|`` (any code of the system);
* ``reference`` (``patient``, ``subject``, ``request``): ``id``, ``Type/id`` or a full URL;
* ``date`` (``date``, ``effective-time``, ``birthdate``): ``eq``, ``ne``, ``gt``, ``lt``, ``ge``,
  ``le`` before ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or a time (without an offset: the centre's
  time zone). The value is a range; a target matches by the spec's range rules.

A comma separates alternatives (OR); a repeated parameter must hold each time (AND). An unknown
parameter, a modifier, an unsupported prefix or a malformed value is refused with 400 naming the
parameter. ``_count`` (default 50, at most 500) and ``_offset`` page the searchset Bundle
(``bundle.py``), which links ``self``, ``first``, ``previous``, ``next`` and ``last`` and always
has an exact ``total`` (``_total`` is accepted).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from msinfusion.adapters.fhir.common import JsonObject
from msinfusion.adapters.fhir.outcome import bad_parameter

DEFAULT_COUNT = 50
MAX_COUNT = 500
CONTROL = frozenset({"_count", "_offset", "_format", "_total", "_include"})
"""Result parameters, not filters."""
FORMATS = frozenset({"json", "application/json", "application/fhir+json"})
TOTALS = ("none", "estimate", "accurate")
"""``_total``: accepted; the total is always counted exactly."""
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")
FOREVER = datetime.max.replace(tzinfo=UTC)
INSTANT = timedelta(microseconds=1)

Interval = tuple[datetime, datetime]
"""A half-open range of time [start, end)."""

_DATE = re.compile(
    r"^(?P<y>\d{4})(-(?P<m>\d{2})(-(?P<d>\d{2})"
    r"(T(?P<t>\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)(?P<z>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchParam:
    """A search parameter of one resource type: its name, FHIR type, what it reads from a
    built resource, and a sentence for the CapabilityStatement."""

    name: str
    type: str
    documentation: str
    values: Callable[[JsonObject], list[Any]]
    matched_by_fetch: bool = False
    """The type's fetch applies this parameter itself (it is not an element of the built
    resource, e.g. a Provenance's patient); ``matches`` skips it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Criterion:
    """One occurrence of a parameter: its alternatives (the comma-separated values)."""

    param: SearchParam
    alternatives: tuple[Any, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    criteria: tuple[Criterion, ...]
    count: int
    offset: int
    given: tuple[tuple[str, str], ...]
    """The filter and ``_include`` parameters as sent (for the paging links)."""
    includes: tuple[str, ...] = ()
    """``_include`` values (``Type:param``), each one the type serves."""

    def values_of(self, name: str) -> set[str] | None:
        """Plain values of a token/reference parameter when it is given exactly once (a hint
        for narrowing a read; the full match still runs)."""
        found = [c for c in self.criteria if c.param.name == name]
        if len(found) != 1:
            return None
        return {str(v[1]) if isinstance(v, tuple) else str(v) for v in found[0].alternatives}

    def required_values(self, name: str) -> set[str] | None:
        """The plain values that satisfy every occurrence of a token/reference parameter (each
        occurrence ORs its alternatives, occurrences AND); None when it is not given."""
        found = [c for c in self.criteria if c.param.name == name]
        if not found:
            return None
        sets = [
            {str(v[1]) if isinstance(v, tuple) else str(v) for v in c.alternatives} for c in found
        ]
        return set.intersection(*sets)


# -- parsing ----------------------------------------------------------------------------------


def parse_query(
    items: Sequence[tuple[str, str]],
    params: Sequence[SearchParam],
    zone: tzinfo,
    *,
    includes: Collection[str] = (),
) -> Query:
    """The query of ``items``; ``includes`` the ``_include`` values the type serves."""
    known = {p.name: p for p in params}
    criteria: list[Criterion] = []
    count, offset = DEFAULT_COUNT, 0
    given: list[tuple[str, str]] = []
    included: list[str] = []
    for name, raw in items:
        if name == "_include":
            included.extend(v for v in _includes(raw, includes) if v not in included)
            given.append((name, raw))
        elif name == "_count":
            count = _non_negative(name, raw, upper=MAX_COUNT)
        elif name == "_offset":
            offset = _non_negative(name, raw, upper=None)
        elif name == "_total":
            if raw not in TOTALS:
                raise bad_parameter(name, f"must be one of {', '.join(TOTALS)}")
        elif name == "_format":
            if raw not in FORMATS:
                raise bad_parameter(name, f"only JSON is served ({', '.join(sorted(FORMATS))})")
        elif ":" in name and name.split(":", 1)[0] in known:
            raise bad_parameter(name, "modifiers are not supported")
        elif name not in known:
            supported = ", ".join(sorted({*known, *CONTROL}))
            raise bad_parameter(name, f"not a supported search parameter (supported: {supported})")
        else:
            param = known[name]
            if raw == "":
                raise bad_parameter(name, "a value is required")
            alternatives = tuple(_parse_value(param, part, zone) for part in raw.split(","))
            criteria.append(Criterion(param=param, alternatives=alternatives))
            given.append((name, raw))
    return Query(
        criteria=tuple(criteria),
        count=count,
        offset=offset,
        given=tuple(given),
        includes=tuple(included),
    )


def _includes(raw: str, served: Collection[str]) -> list[str]:
    """The ``_include`` values of one occurrence, each one the type serves (else 400)."""
    values = raw.split(",")
    for value in values:
        if value not in served:
            listed = ", ".join(sorted(served)) or "none for this type"
            raise bad_parameter("_include", f"{value!r} is not served (served: {listed})")
    return values


def _non_negative(name: str, raw: str, *, upper: int | None) -> int:
    if not raw.isdigit():
        raise bad_parameter(name, f"must be a non-negative whole number, got {raw!r}")
    value = int(raw)
    if upper is not None and value > upper:
        raise bad_parameter(name, f"must be at most {upper}, got {value}")
    return value


def _parse_value(param: SearchParam, raw: str, zone: tzinfo) -> Any:
    if param.type == "date":
        return parse_date(param.name, raw, zone)
    if param.type == "reference":
        return raw.rstrip("/").split("/")[-1]
    if param.type == "token":
        if "|" in raw:
            system, _, code = raw.partition("|")
            return (system or None, code) if system else ("", code)
        return (None, raw)
    return raw  # pragma: no cover - every parameter here is a token, reference or date


def parse_date(name: str, raw: str, zone: tzinfo) -> tuple[str, Interval]:
    """``(prefix, range)`` of a date parameter value."""
    prefix, value = "eq", raw
    if raw[:2].isalpha():
        prefix, value = raw[:2], raw[2:]
        if prefix not in PREFIXES:
            raise bad_parameter(name, f"prefix {prefix!r} is not supported ({', '.join(PREFIXES)})")
    match = _DATE.match(value)
    if match is None:
        raise bad_parameter(
            name,
            f"{value!r} is not a date (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss]+zz:zz)",
        )
    try:
        return prefix, _interval(match, zone)
    except ValueError as error:
        raise bad_parameter(name, f"{value!r} is not a valid date: {error}") from None


def _interval(match: re.Match[str], zone: tzinfo) -> Interval:
    year = int(match["y"])
    if match["m"] is None:
        return _local(date(year, 1, 1), zone), _local(date(year + 1, 1, 1), zone)
    month = int(match["m"])
    if match["d"] is None:
        following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        return _local(date(year, month, 1), zone), _local(following, zone)
    day = date(year, month, int(match["d"]))
    if match["t"] is None:
        return _local(day, zone), _local(day + timedelta(days=1), zone)
    clock = time.fromisoformat(match["t"])
    offset = match["z"]
    moment = datetime.combine(day, clock)
    aware = (
        moment.replace(tzinfo=zone)
        if offset is None
        else datetime.fromisoformat(f"{moment.isoformat()}{'+00:00' if offset == 'Z' else offset}")
    )
    precision = (
        timedelta(minutes=1)
        if len(match["t"]) == 5
        else timedelta(seconds=1)
        if len(match["t"]) == 8
        else INSTANT
    )
    return aware, aware + precision


def _local(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


# -- matching ---------------------------------------------------------------------------------


def date_matches(prefix: str, search: Interval, target: Interval) -> bool:
    """The R4 rules: ``eq`` the search range contains the target's; ``gt``/``lt`` the target
    reaches beyond its end/start; ``ge``/``le`` either."""
    contains = search[0] <= target[0] and target[1] <= search[1]
    above = target[1] > search[1]
    below = target[0] < search[0]
    return {
        "eq": contains,
        "ne": not contains,
        "gt": above,
        "lt": below,
        "ge": above or contains,
        "le": below or contains,
    }[prefix]


def _matches_one(param: SearchParam, wanted: Any, resource: JsonObject) -> bool:
    values = param.values(resource)
    if param.type == "date":
        prefix, interval = wanted
        return any(date_matches(prefix, interval, v) for v in values)
    if param.type == "reference":
        return any(str(v).rstrip("/").split("/")[-1] == wanted for v in values)
    system, code = wanted
    for value_system, value_code in values:
        if system is None and code == value_code:
            return True
        if system == "" and value_system is None and code == value_code:
            return True
        if system and system == value_system and (code in ("", value_code)):
            return True
    return False


def matches(query: Query, resource: JsonObject) -> bool:
    return all(
        any(_matches_one(c.param, alternative, resource) for alternative in c.alternatives)
        for c in query.criteria
        if not c.param.matched_by_fetch
    )


# -- what a parameter reads from a resource ---------------------------------------------------


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def point_or_period(resource: JsonObject, prefix: str, zone: tzinfo = UTC) -> list[Interval]:
    """``{prefix}DateTime`` as an instant (a date: its day in ``zone``) or ``{prefix}Period``
    as a range (open: forever)."""
    moment = resource.get(f"{prefix}DateTime")
    if moment is not None:
        if "T" not in moment:
            day = date.fromisoformat(moment)
            return [(_local(day, zone), _local(day + timedelta(days=1), zone))]
        start = parse_instant(moment)
        return [(start, start + INSTANT)]
    period = resource.get(f"{prefix}Period")
    if period is None or "start" not in period:
        return []
    end = period.get("end")
    return [(parse_instant(period["start"]), FOREVER if end is None else parse_instant(end))]


def day_of(field: str, zone: tzinfo) -> Callable[[JsonObject], list[Interval]]:
    def read(resource: JsonObject) -> list[Interval]:
        value = resource.get(field)
        if value is None:
            return []
        day = date.fromisoformat(value)
        return [(_local(day, zone), _local(day + timedelta(days=1), zone))]

    return read


def token_id(resource: JsonObject) -> list[tuple[str | None, str]]:
    return [(None, resource["id"])]


def token_field(field: str) -> Callable[[JsonObject], list[tuple[str | None, str]]]:
    return lambda r: [] if r.get(field) is None else [(None, str(r[field]))]


def identifiers(resource: JsonObject) -> list[tuple[str | None, str]]:
    return [(i.get("system"), i["value"]) for i in resource.get("identifier", [])]


def codings(field: str) -> Callable[[JsonObject], list[tuple[str | None, str]]]:
    def read(resource: JsonObject) -> list[tuple[str | None, str]]:
        concepts = resource.get(field)
        if concepts is None:
            return []
        listed = concepts if isinstance(concepts, list) else [concepts]
        return [(c.get("system"), c["code"]) for cc in listed for c in cc.get("coding", [])]

    return read


def reference_to(field: str) -> Callable[[JsonObject], list[str]]:
    def read(resource: JsonObject) -> list[str]:
        value = resource.get(field)
        if value is None:
            return []
        listed = value if isinstance(value, list) else [value]
        return [r["reference"] for r in listed if "reference" in r]

    return read
