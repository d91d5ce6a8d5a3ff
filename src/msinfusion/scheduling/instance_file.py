"""The day-instance JSON format (``msinfusion-day/1``), read and written without a framework.

Visits name a protocol and dose number; their chair time and nurse tasks are computed from the
catalog's infusion plan, so a file can never disagree with the protocol. See docs/scheduling.md
for the format with an example. Every error names the JSON path of the bad field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from msinfusion.catalog.registry import Catalog
from msinfusion.clinical_time import read_aware_datetime, read_iso_date
from msinfusion.errors import InvalidSchedulingProblem, MsinfusionError
from msinfusion.scheduling.problem import (
    Chair,
    ChairId,
    DayProblem,
    Nurse,
    NurseId,
    PatientWindow,
    Pin,
    Visit,
)
from msinfusion.scheduling.visits import (
    DEFAULT_TASK_DURATIONS,
    NurseTaskDurations,
    visit_from_protocol,
)

FORMAT = "msinfusion-day/1"
_TASK_FIELDS = ("setup", "premedication", "infusion_start", "rate_change", "discharge")


def _bad(path: str, reason: str) -> InvalidSchedulingProblem:
    return InvalidSchedulingProblem(f"{path}: {reason}", field=path)


def _get(data: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in data:
        raise _bad(f"{path}.{key}".lstrip("."), "is required")
    return data[key]


def _time(value: Any, path: str) -> datetime:
    return read_aware_datetime(value, path, error=InvalidSchedulingProblem)


def _maybe_time(value: Any, path: str) -> datetime | None:
    return None if value is None else _time(value, path)


def _int(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(path, f"'{value}' is not a whole number")
    return int(value)


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(path, "must be a list")
    return value


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _bad(path, "must be an object")
    return value


def day_problem_from_json(data: Any, catalog: Catalog) -> DayProblem:
    """Build and validate a ``DayProblem`` from the parsed JSON of an instance file."""
    root = _object(data, "$")
    if root.get("format") != FORMAT:
        raise _bad("format", f"must be '{FORMAT}'")
    durations = _durations(root.get("nurse_task_min", {}))
    day = read_iso_date(_get(root, "date", ""), "date", error=InvalidSchedulingProblem)
    chairs = tuple(
        Chair(
            id=ChairId(str(_get(_object(c, f"chairs[{i}]"), "id", f"chairs[{i}]"))),
            attributes=frozenset(
                str(a) for a in _list(c.get("attributes", []), f"chairs[{i}].attributes")
            ),
        )
        for i, c in enumerate(_list(_get(root, "chairs", ""), "chairs"))
    )
    nurses = tuple(
        Nurse(
            id=NurseId(str(_get(_object(n, f"nurses[{i}]"), "id", f"nurses[{i}]"))),
            shift_start=_time(_get(n, "shift_start", f"nurses[{i}]"), f"nurses[{i}].shift_start"),
            shift_end=_time(_get(n, "shift_end", f"nurses[{i}]"), f"nurses[{i}].shift_end"),
        )
        for i, n in enumerate(_list(_get(root, "nurses", ""), "nurses"))
    )
    visits = tuple(
        _visit(_object(v, f"visits[{i}]"), f"visits[{i}]", catalog, durations)
        for i, v in enumerate(_list(_get(root, "visits", ""), "visits"))
    )
    return DayProblem(
        day=day,
        opens=_time(_get(root, "opens", ""), "opens"),
        closes=_time(_get(root, "closes", ""), "closes"),
        latest_end=_time(_get(root, "latest_end", ""), "latest_end"),
        chairs=chairs,
        nurses=nurses,
        visits=visits,
        nurse_ratio=_int(root.get("nurse_ratio", 4), "nurse_ratio"),
        observation_monitored=bool(root.get("observation_monitored", True)),
        not_before=_maybe_time(root.get("not_before"), "not_before"),
    )


def _durations(raw: Any) -> NurseTaskDurations:
    given = _object(raw, "nurse_task_min")
    unknown = set(given) - set(_TASK_FIELDS)
    if unknown:
        raise _bad("nurse_task_min", f"unknown task kinds {sorted(unknown)}")
    values = {
        name: timedelta(minutes=_int(given[name], f"nurse_task_min.{name}"))
        if name in given
        else getattr(DEFAULT_TASK_DURATIONS, name)
        for name in _TASK_FIELDS
    }
    return NurseTaskDurations(
        setup=values["setup"],
        premedication=values["premedication"],
        infusion_start=values["infusion_start"],
        rate_change=values["rate_change"],
        discharge=values["discharge"],
    )


def _visit(
    raw: Mapping[str, Any], path: str, catalog: Catalog, durations: NurseTaskDurations
) -> Visit:
    window = PatientWindow(
        earliest=_time(_get(raw, "earliest", path), f"{path}.earliest"),
        start_by=_time(_get(raw, "start_by", path), f"{path}.start_by"),
    )
    pin_raw = raw.get("pin")
    pin = (
        None
        if pin_raw is None
        else Pin(
            chair_id=ChairId(str(_get(_object(pin_raw, f"{path}.pin"), "chair_id", f"{path}.pin"))),
            start=_time(_get(pin_raw, "start", f"{path}.pin"), f"{path}.pin.start"),
        )
    )
    try:
        protocol = catalog.get_protocol(str(_get(raw, "protocol_id", path)))
        visit = visit_from_protocol(
            protocol,
            visit_id=str(_get(raw, "id", path)),
            patient_id=str(_get(raw, "patient_id", path)),
            window=window,
            dose_number=_int(_get(raw, "dose_number", path), f"{path}.dose_number"),
            course_day=raw.get("course_day"),
            height_cm=raw.get("height_cm"),
            weight_kg=raw.get("weight_kg"),
            durations=durations,
            drug_ready_at=_maybe_time(raw.get("drug_ready_at"), f"{path}.drug_ready_at"),
            requires=frozenset(str(a) for a in _list(raw.get("requires", []), f"{path}.requires")),
            mandatory=bool(raw.get("mandatory", False)),
        )
    except InvalidSchedulingProblem:
        raise
    except MsinfusionError as error:
        raise _bad(f"{path}.{error.field or 'protocol_id'}", error.message) from None
    return visit if pin is None else replace(visit, pin=pin)


def day_problem_to_json(
    problem: DayProblem, durations: NurseTaskDurations = DEFAULT_TASK_DURATIONS
) -> dict[str, Any]:
    """The instance file of a problem whose visits were built from shipped protocols."""
    return {
        "format": FORMAT,
        "date": problem.day.isoformat(),
        "opens": problem.opens.isoformat(),
        "closes": problem.closes.isoformat(),
        "latest_end": problem.latest_end.isoformat(),
        "nurse_ratio": problem.nurse_ratio,
        "observation_monitored": problem.observation_monitored,
        "not_before": None if problem.not_before is None else problem.not_before.isoformat(),
        "nurse_task_min": {
            name: getattr(durations, name) // timedelta(minutes=1) for name in _TASK_FIELDS
        },
        "chairs": [{"id": c.id, "attributes": sorted(c.attributes)} for c in problem.chairs],
        "nurses": [
            {
                "id": n.id,
                "shift_start": n.shift_start.isoformat(),
                "shift_end": n.shift_end.isoformat(),
            }
            for n in problem.nurses
        ],
        "visits": [_visit_json(v) for v in problem.visits],
    }


def _visit_json(visit: Visit) -> dict[str, Any]:
    return {
        "id": visit.id,
        "patient_id": visit.patient_id,
        "protocol_id": visit.protocol_id,
        "dose_number": visit.dose_number,
        "course_day": visit.course_day,
        "earliest": visit.window.earliest.isoformat(),
        "start_by": visit.window.start_by.isoformat(),
        "drug_ready_at": None if visit.drug_ready_at is None else visit.drug_ready_at.isoformat(),
        "requires": sorted(visit.requires),
        "mandatory": visit.mandatory,
        "pin": None
        if visit.pin is None
        else {"chair_id": visit.pin.chair_id, "start": visit.pin.start.isoformat()},
    }
