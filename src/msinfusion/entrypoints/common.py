"""What every msinfusion command shares: output formats, exit codes, failing, reading times."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import NoReturn

import typer

EXIT_INVALID_FILE = 1
EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """One plain line on stderr (never wrapped, so scripts can match it), then exit ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def parse_time(value: str, option: str) -> datetime:
    """An ISO 8601 date-time with a UTC offset, or a clear error naming the option."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option}: '{value}' is not an ISO 8601 date-time (e.g. 2026-11-25T09:00:00+01:00)")
    if parsed.tzinfo is None:
        fail(f"{option}: '{value}' has no UTC offset; add one, e.g. +01:00 or Z")
    return parsed
