"""Reading dosing histories and measured levels from plain data (parsed JSON and CSV text).

A regimen/history document is a JSON object::

    {"origin": "2026-01-05T09:00:00+00:00",                       # optional: day 0
     "infusions": [{"protocol": "natalizumab-300", "start": "2026-01-05T09:00:00+00:00"}],
     "sessions": [[{"type": "SessionCheckedIn", ...}, ...]]}      # optional: recorded sessions

``infusions`` are planned (the protocol ladder run uninterrupted); ``sessions`` are the session
engine's event streams in its stored format (``session.codec``), with exact rates and pauses.
Levels are CSV with a header ``time,conc_ug_per_ml`` (ISO 8601 times with an offset).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from msinfusion.catalog.registry import Catalog
from msinfusion.clinical_time import read_aware_datetime
from msinfusion.errors import InvalidDosing, MsinfusionError
from msinfusion.pharmacology.dosing import (
    InfusionSchedule,
    combine,
    schedule_from_events,
    schedule_from_protocol,
)
from msinfusion.pharmacology.tdm import Level
from msinfusion.session.codec import event_from_dict


def _time(value: object, where: str) -> datetime:
    return read_aware_datetime(
        value,
        where,
        error=InvalidDosing,
        not_a_time="'{value}' is not an ISO 8601 time",
        no_offset="'{value}' has no UTC offset",
    )


def schedule_from_document(doc: Any, catalog: Catalog) -> InfusionSchedule:
    """The schedule of a regimen/history document; planned infusions name ``catalog`` protocols."""
    if not isinstance(doc, dict):
        raise InvalidDosing("the regimen file must hold a JSON object", field="regimen")
    infusions = doc.get("infusions", [])
    sessions = doc.get("sessions", [])
    if not isinstance(infusions, list) or not isinstance(sessions, list):
        raise InvalidDosing("'infusions' and 'sessions' must be lists", field="regimen")
    starts = [_time(item.get("start"), f"infusions[{i}].start") for i, item in enumerate(infusions)]
    streams = []
    for i, stream in enumerate(sessions):
        try:
            streams.append([event_from_dict(e) for e in stream])
        except (MsinfusionError, KeyError, TypeError, AttributeError) as error:
            raise InvalidDosing(f"session {i} cannot be read: {error}", field="sessions") from None
    firsts = starts + [s[0].at for s in streams if s]
    if not firsts and "origin" not in doc:
        raise InvalidDosing("the regimen has no infusions and no sessions", field="regimen")
    origin = _time(doc["origin"], "origin") if "origin" in doc else min(firsts)
    parts = []
    if infusions:
        protocols = [catalog.get_protocol(str(item.get("protocol"))) for item in infusions]
        parts.append(schedule_from_protocol(protocols, starts, origin=origin))
    if streams:
        parts.append(schedule_from_events(streams, origin=origin))
    return combine(parts)


def levels_from_csv(text: str, schedule: InfusionSchedule) -> list[Level]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"time", "conc_ug_per_ml"} <= set(reader.fieldnames):
        raise InvalidDosing("levels CSV needs the header time,conc_ug_per_ml", field="levels")
    levels = []
    for row_number, row in enumerate(reader, start=2):
        try:
            value = float(row["conc_ug_per_ml"])
        except ValueError:
            raise InvalidDosing(
                f"line {row_number}: '{row['conc_ug_per_ml']}' is not a number", field="levels"
            ) from None
        day = schedule.day_of(_time(row["time"], f"levels line {row_number}"))
        levels.append(Level(day=day, conc_ug_per_ml=value))
    return levels
