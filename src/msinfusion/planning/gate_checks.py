"""Therapy-specific gate checks (vaccination lead times, VZV, MRI, JCV, LVEF, cumulative dose).

Thresholds are read from course_rules.toml (cited); dossier items are named beside each check.
"""

from __future__ import annotations

from decimal import Decimal

from msinfusion.planning import course_data as data
from msinfusion.planning.calendar_units import add_months
from msinfusion.planning.gate_evaluators import (
    at_least,
    present,
    since_previous,
    up_to,
    vaccines_before,
)
from msinfusion.planning.gates import DoseContext, Outcome
from msinfusion.planning.jcv_status import read_serostatus
from msinfusion.planning.patient_record import PatientRecord

LIVER = ("alt", "ast", "alp", "bilirubin")


def anti_cd20_vaccines(record: PatientRecord, context: DoseContext) -> Outcome:
    """Dossier Q4: US live >= 4 wk, non-live >= 2 wk ('whenever possible'); EU/unknown all >= 6."""
    if not record.vaccination_history_reviewed:
        return Outcome.missing("vaccination history not reviewed")
    if context.jurisdiction == "US":
        live_w = int(data.number("gates.anti_cd20_live_vaccine_weeks_us"))
        nonlive_w = int(data.number("gates.anti_cd20_nonlive_vaccine_weeks_us"))
    else:
        live_w = nonlive_w = int(data.number("gates.anti_cd20_all_vaccine_weeks_eu"))
    live, nonlive = vaccines_before(record, context.on, live_weeks=live_w, nonlive_weeks=nonlive_w)
    if live:
        return Outcome.fail(
            f"live vaccine within {live_w} weeks: {', '.join(live)}", overridable=False
        )
    if nonlive:
        return Outcome.fail(
            f"non-live vaccine within {nonlive_w} weeks: {', '.join(nonlive)}",
            overridable=context.jurisdiction == "US",  # US: 'whenever possible'
        )
    return Outcome.ok(f"no vaccination within {live_w} (live) / {nonlive_w} (non-live) weeks")


def alemtuzumab_vaccines(record: PatientRecord, context: DoseContext) -> Outcome:
    if not record.vaccination_history_reviewed:
        return Outcome.missing("vaccination history not reviewed")
    lead = int(data.number("gates.alemtuzumab_vaccine_weeks"))
    live, nonlive = vaccines_before(record, context.on, live_weeks=lead, nonlive_weeks=lead)
    if live or nonlive:
        return Outcome.fail(
            f"vaccination within {lead} weeks of the course: " + ", ".join(live + nonlive)
        )
    return Outcome.ok(f"no vaccination within {lead} weeks of the course")


def vzv(record: PatientRecord, context: DoseContext) -> Outcome:
    result = up_to(record, "vzv_igg", context)
    if result is None or result.positive is None:
        return Outcome.missing("no VZV IgG result")
    if result.positive:
        return Outcome.ok(f"VZV IgG positive on {result.on}")
    lead = int(data.number("gates.alemtuzumab_vaccine_weeks"))
    names = ("varicella", "vzv", "zoster")
    done = [v for v in record.vaccinations if any(n in v.name.lower() for n in names)]
    early = [v for v in done if v.on > result.on and (context.on - v.on).days >= 7 * lead]
    if early:
        return Outcome.ok(f"VZV IgG negative; vaccinated {early[-1].on} (>= {lead} weeks before)")
    return Outcome.fail(f"VZV IgG negative on {result.on}: vaccinate, then wait >= {lead} weeks")


def liver_us(record: PatientRecord, context: DoseContext) -> Outcome:
    if context.jurisdiction == "EU":
        return Outcome.not_applicable(
            "liver tests before the first dose are a US label item (8/2025)"
        )
    return present(LIVER)(record, context)


def mri_baseline(record: PatientRecord, context: DoseContext) -> Outcome:
    mri = up_to(record, "mri_brain", context)
    if mri is None:
        return Outcome.missing("no baseline brain MRI")
    if context.jurisdiction == "US":
        return Outcome.ok(f"MRI {mri.on} before start (US)")
    months = int(data.number("gates.natalizumab_baseline_mri_months_eu"))
    if mri.on < add_months(context.on, -months):
        return Outcome.fail(f"MRI {mri.on} is older than {months} months before start (EU)")
    return Outcome.ok(f"MRI {mri.on} within {months} months before start")


def jcv(record: PatientRecord, context: DoseContext) -> Outcome:
    """A known serostatus: stated, or read from the STRATIFY index (NTZEU-15); an
    indeterminate or unreadable result is a missing status (retest), never a positive."""
    result = up_to(record, "anti_jcv", context)
    if result is None:
        return Outcome.missing("no anti-JCV antibody result")
    reading = read_serostatus(result.positive, result.value, result.assay)
    if not reading.status.known:
        return Outcome.missing(f"anti-JCV status unknown on {result.on}: {reading.reason}")
    index = f", index {result.value}" if result.value is not None else ", no index"
    assay = f" ({result.assay})" if result.assay else " (assay not recorded, dossier N5)"
    how = f" [{reading.reason}]" if reading.from_index else ""
    return Outcome.ok(
        f"anti-JCV {reading.status.value} on {result.on}{index}{assay}{how}: see the PML risk"
    )


def pml_never(record: PatientRecord, context: DoseContext) -> Outcome:
    if record.ever("pml", on_or_before=context.on):
        return Outcome.fail("current or prior PML: natalizumab is contraindicated")
    return Outcome.ok("no PML recorded")


def lvef(record: PatientRecord, context: DoseContext) -> Outcome:
    floor = data.number("gates.mitoxantrone_lvef_min_pct")
    outcome = at_least("lvef_pct", floor, "%", overridable=False)(record, context)
    if outcome.status.value != "pass":
        return outcome
    fall = data.number("gates.mitoxantrone_lvef_fall_points")
    baseline, latest = record.earliest("lvef_pct"), since_previous(record, "lvef_pct", context)
    drop = lvef_drop(baseline.value if baseline else None, latest.value if latest else None)
    if baseline is not None and drop is not None and drop >= fall:
        return Outcome.fail(
            f"LVEF fell {drop} points since {baseline.on} (>= {fall}, dossier M3 practice): "
            "prescriber review",
            overridable=True,
        )
    return outcome


def lvef_drop(first: Decimal | None, last: Decimal | None) -> Decimal | None:
    return None if first is None or last is None else first - last


def cumulative(record: PatientRecord, context: DoseContext) -> Outcome:
    del record
    before, dose = context.cumulative_before_mg_per_m2, context.dose_mg_per_m2
    limit = context.cumulative_limit_mg_per_m2
    if before is None or dose is None or limit is None:
        return Outcome.missing(
            "prior mitoxantrone exposure (incl. oncology) not stated: record "
            "prior_mitoxantrone_mg_per_m2 or the order option prior_mg_per_m2 (0 if none)"
        )
    after = before + dose
    if after > limit:
        return Outcome.fail(f"{before} + {dose} = {after} mg/m2 exceeds the {limit} mg/m2 limit")
    return Outcome.ok(f"{after} of {limit} mg/m2 after this dose")


def ivmp_onset(record: PatientRecord, context: DoseContext) -> Outcome:
    if record.relapse_onset is None:
        return Outcome.missing("relapse onset date not recorded")
    limit = int(data.number("methylprednisolone.start_within_days_of_onset"))
    age = (context.on - record.relapse_onset).days
    if age > limit:
        return Outcome.fail(f"{age} days after onset (NICE: within {limit} days)")
    return Outcome.ok(f"{age} days after onset (within {limit})")
