"""The server-rendered nurse UI: Jinja2 templates, one CSS file, HTMX and its SSE extension.

Nothing is built or downloaded at run time: ``static/vendor/`` holds htmx 2 and htmx-ext-sse 2
(minified, from npm, 0BSD, licence texts beside them). Pages are rendered by
``adapters/web/routes_ui.py`` from the same service layer (``Centre``) as the JSON API.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from fractions import Fraction
from pathlib import Path
from typing import Any

import jinja2
from starlette.templating import Jinja2Templates

from msinfusion.clinical_time import read_aware_datetime
from msinfusion.errors import InvalidEvent

UI_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = UI_DIR / "templates"
STATIC_DIR = UI_DIR / "static"


def parse_time(value: str | datetime | None) -> datetime | None:
    """A datetime from an ISO 8601 string (the JSON views) or a datetime; None stays None.

    Views are folds over stored records, so an unreadable time there is an ``InvalidEvent``.
    """
    if value is None or isinstance(value, datetime):
        return value
    return read_aware_datetime(value, "time", error=InvalidEvent)


def clock_time(value: str | datetime | None, zone: tzinfo, *, seconds: bool = False) -> str:
    """``HH:MM`` (or ``HH:MM:SS``) on the centre's clock; an em dash when there is no time."""
    moment = parse_time(value)
    if moment is None:
        return "—"
    return moment.astimezone(zone).strftime("%H:%M:%S" if seconds else "%H:%M")


def number(value: float | Fraction | int | str | None, places: int = 0) -> str:
    """A clinical number for display: rounded to ``places``, no trailing ``.0``."""
    if value is None:
        return "—"
    rounded = round(float(Fraction(str(value)) if isinstance(value, str) else value), places)
    text = f"{rounded:.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = number
    return env


templates = Jinja2Templates(env=_environment())


def iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}|Z)")


def localise(text: str, zone: tzinfo) -> str:
    """Engine messages quote ISO 8601 times (UTC); show them as ``HH:MM`` on the centre clock."""
    return _ISO_TIME.sub(lambda m: clock_time(m.group(0), zone), text)


def _day(value: str | datetime | None, zone: tzinfo) -> str:
    moment = parse_time(value)
    return "—" if moment is None else moment.astimezone(zone).date().isoformat()


def globals_for(zone: tzinfo) -> dict[str, Any]:
    """Helpers every template gets: times on the centre's clock, numbers."""
    return {
        "hm": lambda value, seconds=False: clock_time(value, zone, seconds=seconds),
        "iso": lambda value: iso(parse_time(value)),
        "day": lambda value: _day(value, zone),
        "local": lambda text: localise(str(text), zone),
    }
