"""Use case: check one patient's course - calendar, gates for the next dose, monitoring, risks.

Framework-free: the CLI (``msinfusion course check``), the API routes and the patient page call
``check_course`` / ``course_check_to_dict``. Which risks and monitoring apply is catalog data
(the therapy file's ``[planning]``), never a test of the drug name.

``jurisdiction`` is the centre's (``MSINFUSION_JURISDICTION``): it applies to an order that
names none (``with_jurisdiction``); unknown -> the strictest rules. Prior cumulative exposure
(mitoxantrone) is what the order (``prior_mg_per_m2``) or the record
(``prior_<therapy>_mg_per_m2``) states, the larger if both; stated by neither, the cumulative
gates are missing - never 0 (dossier M1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from msinfusion.catalog.model import Mechanism
from msinfusion.errors import InvalidCourseOrder
from msinfusion.planning.course_options import (
    cumulative_plan,
    planned_therapy,
    with_jurisdiction,
)
from msinfusion.planning.course_plan import plan_course
from msinfusion.planning.course_views import (
    calendar_to_dict,
    cumulative_to_dict,
    gate_to_dict,
    pml_to_dict,
    repletion_to_dict,
    slot_to_dict,
)
from msinfusion.planning.courses import CourseCalendar, CourseOrder, DoseStatus, GivenDose
from msinfusion.planning.gate_rules import GATES
from msinfusion.planning.gates import (
    DoseContext,
    GateResult,
    GateStage,
    blocking,
    evaluate_gates,
)
from msinfusion.planning.monitoring_calendar import (
    MonitoringSlot,
    monitoring_items,
    record_results,
)
from msinfusion.planning.patient_record import (
    LabResult,
    PatientRecord,
    patient_record_from_dict,
)
from msinfusion.planning.risk import (
    CumulativeDoseRow,
    PmlRisk,
    Repletion,
    anti_cd20_repletion,
    pml_risk,
    project_mitoxantrone,
)

CALENDARS_KEPT = 4096
"""Course calendars kept between checks (least recently used dropped): a memory bound."""


@lru_cache(maxsize=CALENDARS_KEPT)
def planned_calendar(order: CourseOrder, as_of: date) -> CourseCalendar:
    """``plan_course(order, as_of=as_of)``, kept: the calendar is a pure function of the order
    (therapy, start, options, doses given) and the day, and a centre's patients often share
    them (same regimen, same clinic days); the calendar is frozen, so sharing it is safe."""
    return plan_course(order, as_of=as_of)


@dataclass(frozen=True, slots=True, kw_only=True)
class CourseCheck:
    calendar: CourseCalendar
    gates: tuple[GateResult, ...]
    monitoring: tuple[MonitoringSlot, ...]
    pml: PmlRisk | None
    cumulative: tuple[CumulativeDoseRow, ...]
    repletion: Repletion | None
    gates_on: date | None = None
    """The date the next dose's gates were checked for (None when every dose is given)."""

    @property
    def blocked(self) -> bool:
        return bool(blocking(self.gates))

    @property
    def next_dose_due_now(self) -> bool:
        """The next dose may be given on the day checked (its earliest date has come)."""
        return self.gates_on is not None and self.gates_on == self.calendar.as_of


def stated_prior_mg_per_m2(order: CourseOrder, record: PatientRecord, on: date) -> Decimal | None:
    """Lifetime exposure before this course as stated: the order's ``prior_mg_per_m2``, the
    record's newest ``prior_<therapy>_mg_per_m2`` on or before ``on``; both: the larger."""
    raw = order.option_map.get("prior_mg_per_m2")
    stated = [] if raw is None else [Decimal(raw)]
    entry = record.latest(f"prior_{order.therapy_id}_mg_per_m2", on_or_before=on)
    if entry is not None and entry.value is not None:
        stated.append(entry.value)
    return max(stated) if stated else None


def dose_context(
    calendar: CourseCalendar,
    prior_mg_per_m2: Decimal | None,
    given: tuple[GivenDose, ...] = (),
    *,
    on: date | None = None,
) -> DoseContext | None:
    """The context of the next dose not yet given (None when every dose is given).

    ``on`` is the date the dose is booked or started; by default the earliest date it may be
    given from ``calendar.as_of``. Where the therapy file declares a cumulative-dose projection
    (mitoxantrone), exposure so far = prior + each given dose at its recorded mg/m2 (the
    protocol's mg/m2, 12, if none); a prior exposure not stated (None) leaves it unknown.
    """
    dose = calendar.next_dose()
    if dose is None:
        return None
    if on is None:
        on = max(dose.earliest, calendar.as_of) if calendar.as_of else dose.due
    previous = calendar.last_given()
    course_start = dose.dose_number == 1 or (
        previous is not None
        and previous.course_number != dose.course_number
        and dose.course_number is not None
    )
    plan = cumulative_plan(calendar.therapy_id)
    before = dose_mg_per_m2 = limit = None
    if plan is not None and prior_mg_per_m2 is not None:
        recorded = {g.dose_number: g.mg_per_m2 for g in given}
        given_so_far = sum(
            (
                plan.dose_mg_per_m2
                if recorded.get(d.dose_number) is None
                else Decimal(str(recorded[d.dose_number]))
                for d in calendar.doses
                if d.status is DoseStatus.GIVEN
            ),
            Decimal(0),
        )
        before = prior_mg_per_m2 + given_so_far
        dose_mg_per_m2 = plan.dose_mg_per_m2
        limit = plan.limit_mg_per_m2(calendar.jurisdiction)
    return DoseContext(
        therapy_id=calendar.therapy_id,
        dose_number=dose.dose_number,
        on=on,
        course_start=course_start,
        previous_dose_on=None if previous is None else previous.given_on,
        jurisdiction=calendar.jurisdiction,
        first_dose_on=calendar.doses[0].given_on,
        prior_mg_per_m2=prior_mg_per_m2,
        cumulative_before_mg_per_m2=before,
        dose_mg_per_m2=dose_mg_per_m2,
        cumulative_limit_mg_per_m2=limit,
    )


def _pml(calendar: CourseCalendar, record: PatientRecord, as_of: date) -> PmlRisk | None:
    jcv = record.latest("anti_jcv", on_or_before=as_of)
    if jcv is None or record.prior_immunosuppressant is None:
        return None
    first = calendar.doses[0].given_on
    months = (
        0 if first is None else max((as_of.year - first.year) * 12 + as_of.month - first.month, 0)
    )
    return pml_risk(
        jcv_positive=jcv.positive,
        index=jcv.value,
        assay=jcv.assay,
        prior_immunosuppressant=record.prior_immunosuppressant,
        months=months,
    )


def _monitoring(
    calendar: CourseCalendar, record: PatientRecord, as_of: date, until: date | None
) -> tuple[MonitoringSlot, ...]:
    """Every monitoring slot that follows from ``calendar`` with the results that fill them."""
    by_test: dict[str, list[LabResult]] = {}
    for lab in record.labs:
        by_test.setdefault(lab.test, []).append(lab)
    return tuple(
        slot
        for item in monitoring_items(calendar, record)
        for slot in record_results(
            item, record, as_of, until=until, results=tuple(by_test.get(item.test, ()))
        )
    )


def check_stopped_course(
    order: CourseOrder,
    record: PatientRecord,
    *,
    as_of: date,
    jurisdiction: str | None = None,
    monitoring_until: date | None = None,
) -> CourseCheck:
    """A discontinued course: only the doses given (no dose is due any more, so no gates), and
    the monitoring that follows them - the cited calendars count from the last infusion
    *given* (alemtuzumab: to 48 months after it, LEMUS-10), not from planned doses.

    >>> from msinfusion.planning.courses import GivenDose
    >>> order = CourseOrder.create(therapy_id="alemtuzumab", start=date(2025, 12, 1),
    ...     given=tuple(GivenDose(dose_number=n, on=date(2025, 12, n)) for n in range(1, 6)))
    >>> check = check_stopped_course(order, PatientRecord(patient_id="p"), as_of=date(2026, 3, 2))
    >>> check.calendar.next_dose() is None, check.gates
    (True, ())
    >>> [s.due.isoformat() for s in check.monitoring if s.item_id == "alemtuzumab_cbc"][-1]
    '2029-12-01'
    """
    order = with_jurisdiction(order, jurisdiction)
    planned = planned_calendar(order, as_of)
    calendar = replace(
        planned, doses=tuple(d for d in planned.doses if d.status is DoseStatus.GIVEN)
    )
    slots = _monitoring(calendar, record, as_of, monitoring_until) if calendar.doses else ()
    return CourseCheck(
        calendar=calendar, gates=(), monitoring=slots, pml=None, cumulative=(), repletion=None
    )


def check_course(
    order: CourseOrder,
    record: PatientRecord,
    *,
    as_of: date,
    jurisdiction: str | None = None,
    monitoring_until: date | None = None,
) -> CourseCheck:
    """Calendar as of ``as_of``, the gates of the next dose, monitoring slots and the risks
    (``jurisdiction``: the centre's, for an order that names none).

    ``monitoring_until``: only the monitoring slots due by then and the few after them, each as
    in the full list (``record_results(until=...)``: what the worklist reads)."""
    order = with_jurisdiction(order, jurisdiction)
    calendar = planned_calendar(order, as_of)
    prior = stated_prior_mg_per_m2(order, record, as_of)
    context = dose_context(calendar, prior, order.given)
    gates = () if context is None else evaluate_gates(GATES, record, context)
    slots = _monitoring(calendar, record, as_of, monitoring_until)
    last = calendar.last_given()
    therapy = planned_therapy(calendar.therapy_id)
    traits = None if therapy is None else therapy.planning
    plan = cumulative_plan(calendar.therapy_id)
    b_cell_depleting = (
        therapy is not None and therapy.mechanism is Mechanism.ANTI_CD20_B_CELL_DEPLETION
    )
    return CourseCheck(
        calendar=calendar,
        gates=gates,
        monitoring=slots,
        pml=_pml(calendar, record, as_of) if traits and traits.pml_risk_applies else None,
        cumulative=()
        if plan is None
        else project_mitoxantrone(
            calendar,
            prior_mg_per_m2=Decimal(0) if prior is None else prior,
            given=order.given,
            limit_mg_per_m2=plan.limit_mg_per_m2(calendar.jurisdiction),
        ),
        repletion=anti_cd20_repletion(calendar.therapy_id, last_dose=last.effective, as_of=as_of)
        if last is not None and b_cell_depleting
        else None,
        gates_on=None if context is None else context.on,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class DoseGates:
    """The gates of one dose on the date it is booked or started, with the calendar read."""

    dose_number: int
    on: date
    gates: tuple[GateResult, ...]
    calendar: CourseCalendar | None

    def blocking(self, stage: GateStage) -> tuple[GateResult, ...]:
        return blocking(self.gates, stage)


def gates_for_dose(
    order: CourseOrder,
    record: PatientRecord,
    *,
    dose_number: int,
    on: date,
    jurisdiction: str | None = None,
) -> DoseGates:
    """The gates of dose ``dose_number`` given on ``on``, after the doses in ``order.given``.

    Refuses the dose as the calendar would refuse recording it: ``DoseTooEarly`` before its
    earliest date (the label's minimum interval), ``InvalidCourseOrder`` when an earlier dose
    of the course is not recorded as given or the dose is already given. ``jurisdiction``:
    the centre's, for an order that names none.
    """
    order = with_jurisdiction(order, jurisdiction)
    if any(g.dose_number == dose_number for g in order.given):
        raise InvalidCourseOrder(
            f"dose {dose_number} of this course is already recorded as given",
            field="dose_number",
        )
    before = tuple(g for g in order.given if g.dose_number < dose_number)
    if len(before) != dose_number - 1 or len(before) != len(order.given):
        numbers = ", ".join(str(g.dose_number) for g in sorted(order.given, key=_number)) or "none"
        raise InvalidCourseOrder(
            f"dose {dose_number} is not the next dose of this course (given: {numbers})",
            field="dose_number",
        )
    proposed = GivenDose(dose_number=dose_number, on=on)
    plan_course(replace(order, given=(*before, proposed)), as_of=on)  # DoseTooEarly
    calendar = plan_course(order, as_of=on)
    prior = stated_prior_mg_per_m2(order, record, on)
    context = dose_context(calendar, prior, order.given, on=on)
    gates = () if context is None else evaluate_gates(GATES, record, context)
    return DoseGates(dose_number=dose_number, on=on, gates=gates, calendar=calendar)


def gates_without_order(
    therapy_id: str,
    record: PatientRecord,
    *,
    dose_number: int,
    on: date,
    previous_dose_on: date | None,
    course_start: bool,
    jurisdiction: str | None = None,
) -> DoseGates:
    """The gates of a dose booked or started with no therapy order on file.

    Without an order there is no calendar: the minimum interval is not checked and the caller
    says so. The gates themselves are still evaluated from the dose number and the last dose,
    under the centre's ``jurisdiction``; the first dose's date is known only for dose 1, and
    prior exposure only as the record states it (no cumulative projection without an order).
    """
    empty = CourseOrder.create(therapy_id=therapy_id, start=on)
    context = DoseContext(
        therapy_id=therapy_id,
        dose_number=dose_number,
        on=on,
        course_start=course_start,
        previous_dose_on=previous_dose_on,
        jurisdiction=jurisdiction,
        first_dose_on=on if dose_number == 1 else None,
        prior_mg_per_m2=stated_prior_mg_per_m2(empty, record, on),
    )
    return DoseGates(
        dose_number=dose_number,
        on=on,
        gates=evaluate_gates(GATES, record, context),
        calendar=None,
    )


def _number(given: GivenDose) -> int:
    return given.dose_number


def order_from_dict(raw: Any) -> CourseOrder:
    """The ``order`` object of a check file: therapy_id, start, options, given."""
    if not isinstance(raw, dict):
        raise InvalidCourseOrder("order must be an object", field="order")
    try:
        start = date.fromisoformat(str(raw.get("start")))
        given = tuple(
            GivenDose(
                dose_number=int(g["dose_number"]),
                on=date.fromisoformat(str(g["on"])),
                mg_per_m2=None if g.get("mg_per_m2") is None else float(g["mg_per_m2"]),
            )
            for g in raw.get("given", [])
        )
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidCourseOrder(f"order: {error}", field="order") from None
    options = raw.get("options", {})
    if not isinstance(options, dict):
        raise InvalidCourseOrder("order.options must be an object", field="order.options")
    return CourseOrder.create(
        therapy_id=str(raw.get("therapy_id")),
        start=start,
        options={str(k): str(v) for k, v in options.items()},
        given=given,
    )


def check_from_dict(raw: Any) -> CourseCheck:
    """Run a check file: ``{"as_of": DATE, "order": {...}, "patient": {...}}``."""
    if not isinstance(raw, dict):
        raise InvalidCourseOrder("the check file must be a JSON object", field="file")
    try:
        as_of = date.fromisoformat(str(raw.get("as_of")))
    except ValueError:
        raise InvalidCourseOrder("as_of must be an ISO date", field="as_of") from None
    return check_course(
        order_from_dict(raw.get("order")),
        patient_record_from_dict(raw.get("patient", {})),
        as_of=as_of,
    )


def course_check_to_dict(check: CourseCheck) -> dict[str, Any]:
    return {
        "calendar": calendar_to_dict(check.calendar),
        "blocked": check.blocked,
        "gates_on": None if check.gates_on is None else check.gates_on.isoformat(),
        "gates": [gate_to_dict(g) for g in check.gates],
        "monitoring": [slot_to_dict(s) for s in check.monitoring],
        "flags": {
            "overdue": [slot_to_dict(s) for s in check.monitoring if s.status.value == "overdue"],
            "abnormal": [slot_to_dict(s) for s in check.monitoring if s.abnormal],
        },
        "risks": {
            "pml": None if check.pml is None else pml_to_dict(check.pml),
            "mitoxantrone_cumulative": [cumulative_to_dict(r) for r in check.cumulative],
            "anti_cd20_repletion": None
            if check.repletion is None
            else repletion_to_dict(check.repletion),
        },
    }
