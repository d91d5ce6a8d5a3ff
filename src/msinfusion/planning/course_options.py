"""Reading a course order's ``key=value`` options, and the result every builder returns."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from msinfusion.errors import InvalidCourseOrder
from msinfusion.planning import course_data as data
from msinfusion.planning.courses import CourseOrder

COMMON_OPTIONS = frozenset({"early_days", "late_days", "jurisdiction"})
JURISDICTIONS = ("US", "EU")
# Display horizons for open-ended schedules (how many doses to list), not clinical numbers.
DEFAULT_DOSES = {"ocrelizumab": 6, "ublituximab": 6, "natalizumab": 13}


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


def cited(*keys: str) -> tuple[str, ...]:
    urls: list[str] = []
    for key in keys:
        urls.extend(u for u in data.rule(key).source_urls if u not in urls)
    return tuple(urls)
