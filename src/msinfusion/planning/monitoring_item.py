"""One monitoring item: a test's due dates, cited, and how its results are judged.

Shared by the monitoring calendars (``monitoring_calendar``, ``lymphocyte_monitoring``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from msinfusion.catalog.model import Cited, Interval
from msinfusion.planning.calendar_units import shift
from msinfusion.planning.course_data import CitedRule

DATE_SERIES_KEPT = 8192
"""Due-date series kept between calendars (least recently used dropped): a memory bound."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitoringItem:
    id: str
    title: str
    test: str
    dates: tuple[date, ...]
    sources: tuple[str, ...]
    baseline: bool = False
    abnormal_below: Decimal | None = None
    positive_is_abnormal: bool = False
    negative_is_abnormal: bool = False
    note: str | None = None
    verified: bool = True


@lru_cache(maxsize=DATE_SERIES_KEPT)
def every_date(
    first: date, interval: Interval, until: date, *, include_first: bool
) -> tuple[date, ...]:
    """``first`` + k x ``interval`` up to ``until`` (k from 0 or 1), kept: the series is pure and
    recurs across patients whose doses fall on the same days."""
    out, k = [], 0 if include_first else 1
    while (day := shift(first, interval, times=k)) <= until:
        out.append(day)
        k += 1
    return tuple(out)


def cited_item(
    origin: Cited[Interval] | CitedRule,
    item_id: str,
    title: str,
    test: str,
    dates: tuple[date, ...],
    *,
    baseline: bool = False,
    abnormal_below: Decimal | None = None,
    positive_is_abnormal: bool = False,
    negative_is_abnormal: bool = False,
    verified: bool = True,
    note: str | None = None,
) -> MonitoringItem:
    """An item cited by a therapy-file cadence or a course_rules.toml threshold."""
    sources = (
        origin.source_urls
        if isinstance(origin, CitedRule)
        else tuple(source.url for source in origin.sources)
    )
    return MonitoringItem(
        id=item_id,
        title=title,
        test=test,
        dates=dates,
        sources=sources,
        note=origin.note if note is None else f"{origin.note} {note}",
        baseline=baseline,
        abnormal_below=abnormal_below,
        positive_is_abnormal=positive_is_abnormal,
        negative_is_abnormal=negative_is_abnormal,
        verified=origin.verified and verified,
    )
