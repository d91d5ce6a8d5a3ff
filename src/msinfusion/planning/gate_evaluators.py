"""Reusable gate checks: a result is present, negative, above a floor; a finding on the day.

Timing of results (docs/clinical/courses.md): a gate checked "before every infusion" reads the
newest result dated after the previous dose and on or before this dose; a first-dose or course
gate reads the newest result on or before the dose date. Same-day findings (active infection,
REMS authorisation) must be recorded on the dose date itself.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from msinfusion.planning.calendar_units import add_weeks
from msinfusion.planning.gates import DoseContext, Evaluate, Outcome
from msinfusion.planning.patient_record import LabResult, PatientRecord


def since_previous(record: PatientRecord, test: str, context: DoseContext) -> LabResult | None:
    return record.latest(test, on_or_before=context.on, after=context.previous_dose_on)


def up_to(record: PatientRecord, test: str, context: DoseContext) -> LabResult | None:
    return record.latest(test, on_or_before=context.on)


def negative(
    test: str, *, positive_reason: str, overridable: bool, every_dose: bool = False
) -> Evaluate:
    """Pass when the newest ``test`` is negative; a positive fails with ``positive_reason``."""

    def check(record: PatientRecord, context: DoseContext) -> Outcome:
        result = (since_previous if every_dose else up_to)(record, test, context)
        if result is None or result.positive is None:
            return Outcome.missing(f"no {test} result on or before {context.on}")
        if result.positive:
            return Outcome.fail(
                f"{test} positive on {result.on}: {positive_reason}", overridable=overridable
            )
        return Outcome.ok(f"{test} negative on {result.on}")

    return check


def present(
    tests: tuple[str, ...], *, every_dose: bool = False, abnormal_fails: bool = True
) -> Evaluate:
    """Pass when every test has a result; a result the lab flagged abnormal fails (overridable)."""

    def check(record: PatientRecord, context: DoseContext) -> Outcome:
        found = {t: (since_previous if every_dose else up_to)(record, t, context) for t in tests}
        absent = [t for t, r in found.items() if r is None]
        if absent:
            window = " since the previous dose" if every_dose and context.previous_dose_on else ""
            return Outcome.missing(f"no result for {', '.join(absent)}{window}")
        abnormal = [f"{t} ({r.on})" for t, r in found.items() if r is not None and r.abnormal]
        if abnormal and abnormal_fails:
            return Outcome.fail(f"abnormal: {', '.join(abnormal)}; review before dosing")
        dates = ", ".join(f"{t} {r.on}" for t, r in found.items() if r is not None)
        extra = f"; abnormal (review): {', '.join(abnormal)}" if abnormal else ""
        return Outcome.ok(f"results present: {dates}{extra}")

    return check


def at_least(test: str, floor: Decimal, unit: str, *, overridable: bool) -> Evaluate:
    """Pass when the newest result since the previous dose is ``>= floor``."""

    def check(record: PatientRecord, context: DoseContext) -> Outcome:
        result = since_previous(record, test, context)
        if result is None or result.value is None:
            return Outcome.missing(f"no {test} value since the previous dose")
        if result.value < floor:
            return Outcome.fail(
                f"{test} {result.value} {unit} on {result.on} is below {floor}",
                overridable=overridable,
            )
        return Outcome.ok(f"{test} {result.value} {unit} on {result.on} (>= {floor})")

    return check


def no_finding_today(name: str, *, fail_reason: str, overridable: bool) -> Evaluate:
    """Pass when ``name`` was assessed on the dose date and is absent."""

    def check(record: PatientRecord, context: DoseContext) -> Outcome:
        finding = record.finding_on(name, context.on)
        if finding is None:
            return Outcome.missing(f"{name} not assessed on {context.on}")
        if finding.present:
            return Outcome.fail(f"{name} on {context.on}: {fail_reason}", overridable=overridable)
        return Outcome.ok(f"no {name} on {context.on}")

    return check


def finding_today(name: str, *, fail_reason: str) -> Evaluate:
    """Pass when ``name`` was confirmed (present) on the dose date."""

    def check(record: PatientRecord, context: DoseContext) -> Outcome:
        finding = record.finding_on(name, context.on)
        if finding is None:
            return Outcome.missing(f"{name} not confirmed on {context.on}")
        if not finding.present:
            return Outcome.fail(f"{name} refused on {context.on}: {fail_reason}")
        return Outcome.ok(f"{name} confirmed on {context.on}")

    return check


def vaccines_before(
    record: PatientRecord, start: date, *, live_weeks: int, nonlive_weeks: int
) -> tuple[list[str], list[str]]:
    """Live and non-live vaccinations given within their lead time before ``start``."""
    live = [
        f"{v.name or 'live vaccine'} {v.on}"
        for v in record.vaccinations
        if v.live and add_weeks(start, -live_weeks) < v.on <= start
    ]
    nonlive = [
        f"{v.name or 'non-live vaccine'} {v.on}"
        for v in record.vaccinations
        if not v.live and add_weeks(start, -nonlive_weeks) < v.on <= start
    ]
    return live, nonlive


def pregnancy(*, every_dose: bool, overridable: bool) -> Evaluate:
    """Not applicable if the patient cannot become pregnant; else a negative test is needed."""

    def check(record: PatientRecord, context: DoseContext) -> Outcome:
        if record.can_become_pregnant is False:
            return Outcome.not_applicable("patient cannot become pregnant (recorded)")
        if record.can_become_pregnant is None:
            return Outcome.missing("whether the patient can become pregnant is not recorded")
        test = negative(
            "pregnancy_test",
            positive_reason="do not give; prescriber decision",
            overridable=overridable,
            every_dose=every_dose,
        )
        return test(record, context)

    return check
