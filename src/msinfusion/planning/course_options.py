"""Reading a course order's ``key=value`` options, the result every builder returns, and the
catalog traits planning reads (ADR 0001: therapy rules are data, not drug-name branches).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from msinfusion.catalog.model import PlanningTraits, Therapy
from msinfusion.catalog.registry import shipped_catalog
from msinfusion.errors import CatalogError, InvalidCourseOrder
from msinfusion.planning import course_data as data
from msinfusion.planning.courses import CourseOrder

COMMON_OPTIONS = frozenset({"early_days", "late_days", "jurisdiction"})
JURISDICTIONS = ("US", "EU")


def planned_therapy(therapy_id: str) -> Therapy | None:
    """The shipped therapy with planning traits (``[planning]`` in its file), else None."""
    for therapy in shipped_catalog():
        if therapy.id == therapy_id and therapy.planning is not None:
            return therapy
    return None


def traits_of(therapy_id: str) -> PlanningTraits | None:
    therapy = planned_therapy(therapy_id)
    return None if therapy is None else therapy.planning


def listed_doses(order: CourseOrder) -> int:
    """How many doses an open-ended calendar lists by default (``planning.listed_doses``),
    and always the next dose after those given (a patient past the horizon, e.g. natalizumab
    infusion 27 at 24 months, still has a calendar)."""
    traits = traits_of(order.therapy_id)
    if traits is None or traits.listed_doses is None:
        raise CatalogError(
            "an open-ended course needs a display horizon",
            file=f"{order.therapy_id}.toml",
            field="planning.listed_doses",
        )
    return max(traits.listed_doses, len(order.given) + 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class CumulativePlan:
    """A lifetime cumulative-dose projection: per-dose mg/m2 and the limit by jurisdiction."""

    therapy: Therapy
    dose_mg_per_m2: Decimal

    def limit_mg_per_m2(self, jurisdiction: str | None) -> Decimal:
        """The jurisdiction's limit; unknown -> the strictest (dossier M1)."""
        return self.therapy.cumulative_limit(jurisdiction).mg_per_m2.value


def cumulative_plan(therapy_id: str) -> CumulativePlan | None:
    """The projection of ``planning.cumulative_dose``, or None where no cumulative limit applies."""
    therapy = planned_therapy(therapy_id)
    if therapy is None or therapy.planning is None or therapy.planning.cumulative_dose is None:
        return None
    dose = therapy.protocol(therapy.planning.cumulative_dose.protocol_id).dose.mg_per_m2
    if dose is None:  # pragma: no cover - the loader refuses a protocol not dosed in mg/m2
        raise CatalogError("is not dosed in mg/m2", file=therapy.file, field="planning")
    return CumulativePlan(therapy=therapy, dose_mg_per_m2=dose.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Built:
    notes: tuple[str, ...]
    sources: tuple[str, ...]
    off_label: bool = False


class Options:
    """The order's ``key=value`` options, each read once and checked."""

    def __init__(self, order: CourseOrder, allowed: frozenset[str]) -> None:
        self.values = order.option_map
        unknown = sorted(set(self.values) - allowed - COMMON_OPTIONS)
        if unknown:
            known = ", ".join(sorted(allowed | COMMON_OPTIONS))
            raise InvalidCourseOrder(
                f"unknown option '{unknown[0]}' for {order.therapy_id}; known: {known}",
                field=f"option:{unknown[0]}",
            )

    def choice(self, key: str, choices: tuple[str, ...], default: str | None) -> str:
        value = self.values.get(key, default)
        if value is None or value not in choices:
            shown = "missing" if value is None else f"'{value}'"
            raise InvalidCourseOrder(
                f"option {key} is {shown}; choose one of {', '.join(choices)}",
                field=f"option:{key}",
            )
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        raw = self.values.get(key)
        if raw is None:
            return default
        if not raw.strip().isdigit() or not low <= int(raw) <= high:
            raise InvalidCourseOrder(
                f"option {key} must be a whole number from {low} to {high}, not '{raw}'",
                field=f"option:{key}",
            )
        return int(raw)

    def decimal(self, key: str, default: Decimal) -> Decimal:
        raw = self.values.get(key)
        if raw is None:
            return default
        try:
            value = Decimal(raw)
        except InvalidOperation:
            value = Decimal(-1)
        if not value.is_finite() or value < 0:
            raise InvalidCourseOrder(
                f"option {key} must be a number >= 0, not '{raw}'", field=f"option:{key}"
            )
        return value

    @property
    def jurisdiction(self) -> str | None:
        raw = self.values.get("jurisdiction")
        return None if raw is None else self.choice("jurisdiction", JURISDICTIONS, None)


def with_jurisdiction(order: CourseOrder, centre_jurisdiction: str | None) -> CourseOrder:
    """The order under the centre's jurisdiction (``MSINFUSION_JURISDICTION``) unless it
    names its own: the order's ``jurisdiction`` option wins; neither -> unknown (strictest)."""
    if centre_jurisdiction is None or "jurisdiction" in order.option_map:
        return order
    if centre_jurisdiction not in JURISDICTIONS:
        raise InvalidCourseOrder(
            f"centre jurisdiction '{centre_jurisdiction}' is not one of {', '.join(JURISDICTIONS)}",
            field="jurisdiction",
        )
    return CourseOrder.create(
        therapy_id=order.therapy_id,
        start=order.start,
        options={**order.option_map, "jurisdiction": centre_jurisdiction},
        given=order.given,
    )


def cited(*keys: str) -> tuple[str, ...]:
    urls: list[str] = []
    for key in keys:
        urls.extend(u for u in data.rule(key).source_urls if u not in urls)
    return tuple(urls)
