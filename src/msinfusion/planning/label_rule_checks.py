"""Gate checks for the REMS and label rules of ``rems-and-label-rules.md`` (row ids named).

Natalizumab: immune status before every infusion (TOUCH-18/19/23, NTZEU-10) and the EU
re-information at 24 months (NTZEU-01/02). Alemtuzumab: the EU contraindication checklist
before each course (LEMEU-02; anticoagulation LEMEU-03 is grade C and its own, unverified
gate). Mitoxantrone: the EU rule against re-treatment (MITO-05). Where a gate applies (its
jurisdictions) is declared with the gate in ``gate_rules``; numbers are in course_rules.toml.
"""

from __future__ import annotations

from datetime import timedelta

from msinfusion.planning import course_data as data
from msinfusion.planning.calendar_units import shift
from msinfusion.planning.gates import DoseContext, Outcome
from msinfusion.planning.patient_record import (
    ALEMTUZUMAB_EU_CONTRAINDICATIONS,
    Finding,
    PatientRecord,
)

NATALIZUMAB_IMMUNE_FINDINGS = ("immunocompromised", "immunosuppressant_current")
"""TOUCH checklist questions 2 and 3 (TOUCH-18) and the EU contraindications (NTZEU-10)."""


def _listed(found: dict[str, Finding | None]) -> tuple[list[str], list[str]]:
    """(names not assessed, names assessed present)."""
    absent = [name for name, f in found.items() if f is None]
    present = [name for name, f in found.items() if f is not None and f.present]
    return absent, present


def natalizumab_immune_status(record: PatientRecord, context: DoseContext) -> Outcome:
    """Immunocompromise and current immunosuppressants, asked on the day of the infusion.

    A "yes" blocks. In the US the prescriber decides (TOUCH-19; TOUCH-23 "should not
    ordinarily be treated"): a physician may override. In the EU both are contraindications
    (NTZEU-10), as they are where the jurisdiction is unknown: no override.
    """
    found = {n: record.finding_on(n, context.on) for n in NATALIZUMAB_IMMUNE_FINDINGS}
    absent, present = _listed(found)
    if absent:
        return Outcome.missing(f"{', '.join(absent)} not assessed on {context.on}")
    if present:
        us = context.jurisdiction == "US"
        why = (
            "do not infuse until the prescriber decides (TOUCH-19, TOUCH-23)"
            if us
            else "contraindicated (EU leaflet, NTZEU-10; unknown jurisdiction: the EU rule)"
        )
        return Outcome.fail(f"{', '.join(present)} on {context.on}: {why}", overridable=us)
    return Outcome.ok(f"not immunocompromised, no immunosuppressant ({context.on})")


def natalizumab_reinformation(record: PatientRecord, context: DoseContext) -> Outcome:
    """EU: from 24 months after the first dose, the patient is informed again about PML and
    signs the continuation form (NTZEU-01/02) - recorded on or after that date."""
    first = context.first_dose_on or (context.on if context.is_first_dose else None)
    if first is None:
        return Outcome.missing(
            "date of the first dose not known: the 24-month re-information cannot be checked"
        )
    after = data.rule("natalizumab.reinformation_after")
    due = shift(first, after.interval)
    if context.on < due:
        return Outcome.not_applicable(
            f"re-information due from {due} ({after.value} months after the first dose {first})"
        )
    done = record.latest_finding(
        "natalizumab_reinformed", on_or_before=context.on, after=due - timedelta(days=1)
    )
    if done is None:
        return Outcome.missing(
            f"{after.value}-month re-information and continuation form not recorded since {due}"
        )
    if not done.present:
        return Outcome.fail(f"re-information / continuation form refused on {done.on}")
    return Outcome.ok(f"patient re-informed on {done.on} (due {due})")


def alemtuzumab_eu_contraindications(record: PatientRecord, context: DoseContext) -> Outcome:
    """Each item of the EU checklist assessed before this course (since the previous dose)."""
    found = {
        name: record.latest_finding(name, on_or_before=context.on, after=context.previous_dose_on)
        for name in ALEMTUZUMAB_EU_CONTRAINDICATIONS
    }
    absent, present = _listed(found)
    if absent:
        return Outcome.missing(f"not assessed before this course: {', '.join(absent)}")
    if present:
        return Outcome.fail(
            f"contraindicated (EU leaflet, LEMEU-02): {', '.join(present)}", overridable=False
        )
    return Outcome.ok("EU contraindication checklist: none present")


def alemtuzumab_anticoagulation(record: PatientRecord, context: DoseContext) -> Outcome:
    """LEMEU-03 (grade C): anticoagulant or antiplatelet therapy, a prescriber decision."""
    finding = record.latest_finding(
        "anticoagulant_or_antiplatelet", on_or_before=context.on, after=context.previous_dose_on
    )
    if finding is None:
        return Outcome.missing("anticoagulant or antiplatelet therapy not assessed this course")
    if finding.present:
        return Outcome.fail(
            f"on anticoagulant or antiplatelet therapy ({finding.on}): prescriber decision "
            "(whether the EU label makes it a contraindication is unverified, LEMEU-03)"
        )
    return Outcome.ok(f"no anticoagulant or antiplatelet therapy ({finding.on})")


def mitoxantrone_no_retreatment(record: PatientRecord, context: DoseContext) -> Outcome:
    """EU (and unknown jurisdiction): never start in a previously treated patient (MITO-05)."""
    del record
    prior = context.prior_mg_per_m2
    if prior is None:
        return Outcome.missing(
            "prior mitoxantrone exposure (incl. oncology) not stated: the EU rule against "
            "re-treatment cannot be checked"
        )
    if prior > 0:
        return Outcome.fail(
            f"previously treated with mitoxantrone ({prior} mg/m2): the EU SmPC forbids "
            "starting again (MITO-05)",
            overridable=False,
        )
    return Outcome.ok("no prior mitoxantrone (0 mg/m2 stated)")
