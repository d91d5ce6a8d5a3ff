"""What every msinfusion command shares: output formats, exit codes, failing, reading times."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import NoReturn

import typer

from msinfusion.clinical_time import read_aware_datetime, read_iso_date
from msinfusion.errors import InvalidCommand

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
        return read_aware_datetime(
            value,
            option,
            not_a_time=(
                "{field}: '{value}' is not an ISO 8601 date-time (e.g. 2026-11-25T09:00:00+01:00)"
            ),
            no_offset="{field}: '{value}' has no UTC offset; add one, e.g. +01:00 or Z",
        )
    except InvalidCommand as error:
        fail(error.message)


def parse_date(value: str, option: str, *, example: str) -> date:
    """An ISO 8601 date, or a clear error naming the option and showing ``example``."""
    try:
        return read_iso_date(
            value, option, not_a_date=f"{{field}}: '{{value}}' is not an ISO date (e.g. {example})"
        )
    except InvalidCommand as error:
        fail(error.message)
