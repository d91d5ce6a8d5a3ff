"""Plain-dict views of calendars, gates, monitoring and risks: the stable JSON for CLI and API."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from msinfusion.planning.courses import CourseCalendar
from msinfusion.planning.gates import GateResult
from msinfusion.planning.monitoring_calendar import MonitoringSlot
from msinfusion.planning.risk import CumulativeDoseRow, PmlRisk, Repletion


def _num(value: Decimal | Fraction | None, places: int = 2) -> float | None:
    return None if value is None else round(float(value), places)


def calendar_to_dict(calendar: CourseCalendar) -> dict[str, Any]:
    return {
        "therapy_id": calendar.therapy_id,
        "start": calendar.start.isoformat(),
        "options": dict(calendar.options),
        "jurisdiction": calendar.jurisdiction,
        "off_label": calendar.off_label,
        "as_of": None if calendar.as_of is None else calendar.as_of.isoformat(),
        "doses": [
            {
                "protocol_id": d.protocol_id,
                "dose_number": d.dose_number,
                "label": d.label,
                "dose": d.dose,
                "course_number": d.course_number,
                "earliest": d.earliest.isoformat(),
                "due": d.due.isoformat(),
                "latest": d.latest.isoformat(),
                "status": d.status.value,
                "given_on": None if d.given_on is None else d.given_on.isoformat(),
                "rule": d.rule,
                "alternative_protocol_ids": list(d.alternative_protocol_ids),
            }
            for d in calendar.doses
        ],
        "notes": list(calendar.notes),
        "sources": list(calendar.sources),
    }


def gate_to_dict(result: GateResult) -> dict[str, Any]:
    override = result.override
    return {
        "gate_id": result.gate_id,
        "title": result.title,
        "when": result.when.value,
        "status": result.status.value,
        "reason": result.reason,
        "mandatory": result.mandatory,
        "overridable": result.overridable,
        "blocks": result.blocks,
        "verified": result.verified,
        "sources": list(result.sources),
        "override": None
        if override is None
        else {
            "physician_id": override.physician_id,
            "justification": override.justification,
            "on": override.on.isoformat(),
        },
    }


def slot_to_dict(slot: MonitoringSlot) -> dict[str, Any]:
    result = slot.result
    return {
        "item_id": slot.item_id,
        "title": slot.title,
        "test": slot.test,
        "due": slot.due.isoformat(),
        "status": slot.status.value,
        "abnormal": slot.abnormal,
        "result_on": None if result is None else result.on.isoformat(),
        "sources": list(slot.sources),
        "verified": slot.verified,
    }


def pml_to_dict(risk: PmlRisk) -> dict[str, Any]:
    return {
        "risk_per_1000": _num(risk.risk_per_1000),
        "band": {"row": risk.row, "index": risk.index_band, "months": risk.months_band},
        "table": risk.table,
        "source": " ; ".join(risk.sources),
        "sources": list(risk.sources),
        "verified": risk.verified,
        "note": risk.note,
    }


def cumulative_to_dict(row: CumulativeDoseRow) -> dict[str, Any]:
    return {
        "dose_number": row.dose_number,
        "on": row.on.isoformat(),
        "given": row.given,
        "dose_mg_per_m2": _num(row.dose_mg_per_m2),
        "dose_mg": _num(row.dose_mg, 1),
        "cumulative_mg_per_m2": _num(row.cumulative_mg_per_m2),
        "limit_mg_per_m2": _num(row.limit_mg_per_m2),
        "within_limit": row.within_limit,
    }


def repletion_to_dict(rep: Repletion) -> dict[str, Any]:
    return {
        "therapy_id": rep.therapy_id,
        "last_dose": rep.last_dose.isoformat(),
        "weeks_since_last_dose": _num(rep.weeks_since_last_dose, 1),
        "median_repletion_weeks": rep.median_repletion_weeks,
        "median_repletion_date": None
        if rep.median_repletion_date is None
        else rep.median_repletion_date.isoformat(),
        "range_weeks": None if rep.range_weeks is None else list(rep.range_weeks),
        "range_dates": None
        if rep.range_dates is None
        else [d.isoformat() for d in rep.range_dates],
        "sources": list(rep.sources),
        "verified": rep.verified,
        "note": rep.note,
    }
