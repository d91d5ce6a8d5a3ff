"""Shared pieces of the registration, order, booking and admin pages: reading a posted form,
reading typed values with errors that name their field, and the refusal shown beside a form.

Only shape is read here (a number, a date, a time); what a value may be is the service layer's
to decide, as for the JSON API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from msinfusion.adapters.web.errors import classify
from msinfusion.adapters.web.ui.access import Viewer, render, require_csrf
from msinfusion.errors import InvalidCommand, MsinfusionError

Fields = dict[str, str]
MAX_FIELD = 2000


async def posted_fields(request: Request, viewer: Viewer) -> Fields:
    """The posted form, each name's last value (bounded), after the CSRF check."""
    form = await request.form()
    fields = {key: str(form.getlist(key)[-1])[:MAX_FIELD] for key in form}
    require_csrf(request, viewer, fields)
    return fields


def text(fields: Fields, name: str) -> str | None:
    value = " ".join(fields.get(name, "").split())
    return value or None


def required_text(fields: Fields, name: str, words: str) -> str:
    value = text(fields, name)
    if value is None:
        raise InvalidCommand(f"{name}: {words} is required", field=name)
    return value


def decimal(fields: Fields, name: str, *, low: Decimal, high: Decimal) -> Decimal | None:
    """A number in ``low``..``high`` (sanity bounds as the API's), or None when empty."""
    raw = text(fields, name)
    if raw is None:
        return None
    try:
        value = Decimal(raw.replace(",", "."))
    except InvalidOperation:
        raise InvalidCommand(f"{name} must be a number, got {raw!r}", field=name) from None
    if not value.is_finite() or not low <= value <= high:
        raise InvalidCommand(f"{name} must be a number from {low} to {high}", field=name)
    return value


def whole(fields: Fields, name: str, *, low: int, high: int) -> int | None:
    raw = text(fields, name)
    if raw is None:
        return None
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidCommand(f"{name} must be a whole number from {low} to {high}", field=name)
    return int(raw)


def day(fields: Fields, name: str) -> date | None:
    """A calendar date (``YYYY-MM-DD``, as a date input sends it), 1900 to 2200."""
    raw = text(fields, name)
    if raw is None:
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise InvalidCommand(f"{name} must be a date, e.g. 2026-03-02", field=name) from None
    if not date(1900, 1, 1) <= value <= date(2200, 1, 1):
        raise InvalidCommand(f"{name} must be between 1900 and 2200", field=name)
    return value


def clock(fields: Fields, name: str) -> time | None:
    raw = text(fields, name)
    if raw is None:
        return None
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise InvalidCommand(f"{name} must be a time, e.g. 09:30", field=name) from None


def local_moment(on: date, at: time, zone: Any) -> datetime:
    """A date and a wall-clock time at the centre, as an aware datetime."""
    return datetime.combine(on, at, tzinfo=zone)


@dataclass(frozen=True, slots=True, kw_only=True)
class Refusal:
    """What a page shows beside the form that was sent: the message, its field and code."""

    form: str
    field: str | None
    message: str
    code: str
    status: int


def refusal(form: str, error: MsinfusionError) -> Refusal:
    status, code = classify(error)
    rule = getattr(error, "rule", None)
    return Refusal(
        form=form,
        field=error.field,
        message=error.message,
        code=str(rule) if isinstance(rule, str) and code == "command-refused" else code,
        status=status,
    )


def error_page(request: Request, viewer: Viewer, error: MsinfusionError) -> HTMLResponse:
    status, code = classify(error)
    return render(request, "error.html", viewer, status_code=status, code=code, error=error)
