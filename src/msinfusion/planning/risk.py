"""Risk calculators: natalizumab PML risk, mitoxantrone cumulative dose, anti-CD20 repletion.

Which calculator applies is catalog data, never a test of the drug name: ``pml_risk`` and
``cumulative_dose`` in the therapy file's ``[planning]``, and an anti-CD20 mechanism for
repletion, whose figures are the ``[repletion]`` entries of course_rules.toml for that therapy.

- PML: table A of the natalizumab dossier (N 1.4), cell by cell, never interpolated or
  extrapolated (N4); the Ho 2017 bands are not used (cells not retrieved). An index given
  without serostatus is read by the assay's cut-offs (``jcv_status``, NTZEU-15), never as
  positive by default; an indeterminate or unknown status gives no risk number.
- Cumulative dose (mitoxantrone): mg/m2 (prior exposure + doses given + doses planned) against
  the lifetime limit (M1), projected over the course calendar; mg from Mosteller BSA when
  measured.
- Anti-CD20: weeks since the last dose and the label's median time to B-cell repletion
  (ocrelizumab 72 weeks, range 27-175; ublituximab 70 weeks) until a pharmacology model
  replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from msinfusion.errors import PlanningError
from msinfusion.planning import course_data as data
from msinfusion.planning.calendar_units import add_weeks
from msinfusion.planning.course_options import cumulative_plan
from msinfusion.planning.courses import CourseCalendar, DoseStatus, GivenDose
from msinfusion.planning.jcv_status import JcvStatus, is_stratify, read_serostatus


@dataclass(frozen=True, slots=True, kw_only=True)
class PmlRisk:
    risk_per_1000: Decimal | None
    row: str
    index_band: str
    months_band: str
    table: str
    sources: tuple[str, ...]
    verified: bool
    note: str


def _months_band(months: int) -> tuple[int | None, str]:
    bands: list[list[int]] = data.raw_rules()["pml_table_a"]["month_bands"]
    for column, (low, high) in enumerate(bands):
        if low <= months <= high:
            return column, ("<= 24" if column == 0 else f"{low}-{high}") + " months"
    return None, f"{months} months (beyond the 72-month table)"


def _row(positive: bool, index: Decimal | None, prior_is: bool) -> list[object]:
    rows: list[list[object]] = data.raw_rules()["pml_table_a"]["rows"]
    cutoff = Decimal(str(data.raw_rules()["pml_table_a"]["index_cutoff"]))
    if not positive:
        wanted = "negative-is" if prior_is else "negative-no-is"
    elif prior_is:
        wanted = "positive-is"
    elif index is None:
        wanted = "positive-no-is-index-unknown"
    else:
        wanted = "positive-no-is-index-low" if index <= cutoff else "positive-no-is-index-high"
    return next(row for row in rows if row[0] == wanted)


def pml_risk(
    *,
    jcv_positive: bool | None,
    index: Decimal | None,
    prior_immunosuppressant: bool,
    months: int,
    assay: str | None = None,
) -> PmlRisk:
    """Cases per 1000 from table A (dossier N 1.4); ``jcv_positive=None``: serostatus not
    given, read from the index (NTZEU-15).

    >>> pml_risk(jcv_positive=True, index=Decimal("1.2"), prior_immunosuppressant=False,
    ...          months=30).risk_per_1000
    Decimal('1.1')
    >>> print(pml_risk(jcv_positive=None, index=Decimal("0.3"), prior_immunosuppressant=False,
    ...                months=30).risk_per_1000)
    None
    """
    if months < 0:
        raise PlanningError(f"months on natalizumab must be >= 0, not {months}", field="months")
    if index is not None and index < 0:
        raise PlanningError(f"anti-JCV index must be >= 0, not {index}", field="jcv_index")
    table = data.raw_rules()["pml_table_a"]
    notes = [str(table["note"])]
    if jcv_positive is None:
        reading = read_serostatus(None, index, assay)
        if not reading.status.known:
            return _no_status_risk(reading.status, reading.reason, months, table)
        jcv_positive = reading.status is JcvStatus.POSITIVE
        notes.append(f"Serostatus read from the index: {reading.reason}.")
    if not is_stratify(assay) and index is not None:
        notes.append(
            f"Index cut-offs were derived with STRATIFY; '{assay}' index not applied (dossier N5)."
        )
        index = None
    row = _row(jcv_positive, index, prior_immunosuppressant)
    column, months_text = _months_band(months)
    cells: list[Decimal] = [Decimal(str(c)) for c in row[4]]  # type: ignore[attr-defined]
    return PmlRisk(
        risk_per_1000=None if column is None else cells[column],
        row=str(row[0]),
        index_band=str(row[3]),
        months_band=months_text,
        table=str(table["title"]),
        sources=tuple(data.source_url(s) for s in table["sources"]),
        verified=bool(table["verified"]),
        note=" ".join(notes),
    )


def _no_status_risk(status: JcvStatus, reason: str, months: int, table: dict[str, Any]) -> PmlRisk:
    """No table row fits an indeterminate or unknown serostatus: no number, retest."""
    sources: list[str] = table["sources"]
    return PmlRisk(
        risk_per_1000=None,
        row=f"serostatus-{status.value}",
        index_band="not used",
        months_band=_months_band(months)[1],
        table=str(table["title"]),
        sources=tuple(data.source_url(str(s)) for s in sources)
        + data.rule("natalizumab.jcv_index_negative_below").source_urls,
        verified=bool(table["verified"]),
        note=f"No risk number: {reason}. Retest (NTZEU-05, NTZEU-15).",
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class CumulativeDoseRow:
    dose_number: int
    on: date
    given: bool
    dose_mg_per_m2: Decimal
    dose_mg: Fraction | None
    cumulative_mg_per_m2: Decimal
    limit_mg_per_m2: Decimal
    within_limit: bool


def project_mitoxantrone(
    calendar: CourseCalendar,
    *,
    prior_mg_per_m2: Decimal,
    limit_mg_per_m2: Decimal,
    given: tuple[GivenDose, ...] = (),
    bsa_m2: Fraction | None = None,
) -> tuple[CumulativeDoseRow, ...]:
    """Cumulative mg/m2 after every dose of the calendar (given doses at their recorded mg/m2)."""
    plan = cumulative_plan(calendar.therapy_id)
    if plan is None:
        raise PlanningError(
            f"therapy '{calendar.therapy_id}' has no cumulative-dose limit", field="therapy_id"
        )
    planned = plan.dose_mg_per_m2
    recorded = {g.dose_number: g.mg_per_m2 for g in given}
    total, rows = prior_mg_per_m2, []
    for dose in calendar.doses:
        actual = recorded.get(dose.dose_number)
        per_m2 = Decimal(str(actual)) if actual is not None else planned
        total += per_m2
        rows.append(
            CumulativeDoseRow(
                dose_number=dose.dose_number,
                on=dose.effective,
                given=dose.status is DoseStatus.GIVEN,
                dose_mg_per_m2=per_m2,
                dose_mg=None if bsa_m2 is None else Fraction(per_m2) * bsa_m2,
                cumulative_mg_per_m2=total,
                limit_mg_per_m2=limit_mg_per_m2,
                within_limit=total <= limit_mg_per_m2,
            )
        )
    return tuple(rows)


@dataclass(frozen=True, slots=True, kw_only=True)
class Repletion:
    therapy_id: str
    last_dose: date
    weeks_since_last_dose: Fraction
    median_repletion_weeks: int | None
    median_repletion_date: date | None
    range_weeks: tuple[int, int] | None
    range_dates: tuple[date, date] | None
    sources: tuple[str, ...]
    verified: bool
    note: str


def anti_cd20_repletion(therapy_id: str, *, last_dose: date, as_of: date) -> Repletion:
    """Time since the last anti-CD20 dose and the label's expected B-cell repletion window."""
    weeks = Fraction((as_of - last_dose).days, 7)
    figures = data.raw_rules().get("repletion", {})
    if f"{therapy_id}_median_weeks" not in figures:
        return Repletion(
            therapy_id=therapy_id,
            last_dose=last_dose,
            weeks_since_last_dose=weeks,
            median_repletion_weeks=None,
            median_repletion_date=None,
            range_weeks=None,
            range_dates=None,
            sources=(),
            verified=False,
            note="No label repletion figure in the dossiers for this therapy.",
        )
    rule = data.rule(f"repletion.{therapy_id}_median_weeks")
    median = int(rule.value)
    span: tuple[int, int] | None = None
    if f"{therapy_id}_range_weeks" in figures:
        low, high = data.rule(f"repletion.{therapy_id}_range_weeks").value
        span = (int(low), int(high))
    return Repletion(
        therapy_id=therapy_id,
        last_dose=last_dose,
        weeks_since_last_dose=weeks,
        median_repletion_weeks=median,
        median_repletion_date=add_weeks(last_dose, median),
        range_weeks=span,
        range_dates=None
        if span is None
        else (add_weeks(last_dose, span[0]), add_weeks(last_dose, span[1])),
        sources=rule.source_urls,
        verified=rule.verified,
        note=rule.note or "",
    )
