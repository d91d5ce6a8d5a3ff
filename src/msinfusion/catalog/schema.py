"""The therapy file format: pydantic models that mirror one TOML file exactly.

These models only check shape and signs (unknown keys, missing fields, negative or zero numbers);
the clinical cross-checks (ladder against maximum rate and bag, windows, reaction rules) live in
``catalog.validation`` and run on the domain values. ``therapy_file_json_schema`` is what
``msinfusion catalog schema`` prints for protocol authors.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PositiveDecimal = Annotated[Decimal, Field(gt=0)]
NonNegativeDecimal = Annotated[Decimal, Field(ge=0)]
SourceIds = Annotated[list[str], Field(min_length=1, description="ids of entries in [sources]")]
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]

_PLACEHOLDER_CODES = frozenset({"unknown", "na", "n/a", "none", "tbd", "todo"})

SeverityName = Literal["mild", "moderate", "severe", "life-threatening"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceFile(_Strict):
    url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    evidence: Literal["L", "M", "S", "P", "C", "derived", "UNVERIFIED"]
    title: str | None = None


class _CitedBase(_Strict):
    sources: SourceIds
    note: str | None = None
    verified: bool = True


class CitedPositive(_CitedBase):
    value: PositiveDecimal


class CitedNonNegative(_CitedBase):
    value: NonNegativeDecimal


class CodeFile(_Strict):
    system: Literal["ATC", "ATC-previous", "RxNorm", "SNOMED-CT", "UNII", "HCPCS", "BLA", "EU"]
    value: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9./-]*$")]
    sources: SourceIds
    verified: bool = True
    note: str | None = None

    @field_validator("value")
    @classmethod
    def _not_a_placeholder(cls, value: str) -> str:
        if value.casefold() in _PLACEHOLDER_CODES:
            raise ValueError("a code you could not verify is left out (say so in a comment)")
        return value


class DoseFile(_Strict):
    mg: CitedPositive | None = None
    mg_per_m2: CitedPositive | None = None


class LadderFile(_CitedBase):
    steps: Annotated[
        list[tuple[NonNegativeDecimal, PositiveDecimal]],
        Field(min_length=1, description="[start_min, rate_ml_per_h]; the last runs until empty"),
    ]


class WindowFile(_Strict):
    """Minutes before the drug start; no ``max_before_start_min`` means no earliest time."""

    min_before_start_min: CitedNonNegative
    max_before_start_min: CitedNonNegative | None = None
    approximate: bool = False
    tolerance_min: CitedPositive | None = None


class PremedicationAlternativeFile(_Strict):
    drug: Annotated[str, Field(min_length=1)]
    dose_mg_min: Annotated[Decimal, Field(gt=0)]
    dose_mg_max: Annotated[Decimal, Field(gt=0)]
    routes: Annotated[list[str], Field(min_length=1)]
    sources: SourceIds
    note: str | None = None


class PremedicationFile(_Strict):
    drug: Annotated[str, Field(min_length=1)]
    dose: Annotated[str, Field(min_length=1)]
    dose_mg: Annotated[Decimal, Field(gt=0)] | None = None
    route: str | None = None
    alternatives: list[PremedicationAlternativeFile] = Field(default_factory=list)
    required: bool
    sources: SourceIds
    window: WindowFile | None = None
    applies_to_course_days: list[Annotated[int, Field(ge=1)]] | None = None
    note: str | None = None
    verified: bool = True


class ObservationFile(_Strict):
    from_dose_number: Annotated[int, Field(ge=1)]
    to_dose_number: Annotated[int, Field(ge=1)] | None = None
    observation_min: CitedNonNegative
    waivable_when: str | None = None


class ReactionRuleFile(_Strict):
    severity: SeverityName
    action: Literal["reduce_rate", "interrupt", "stop"]
    rate_factor_of_onset: CitedPositive | None = None
    hold_min: CitedPositive | None = None
    may_resume: bool
    resume_requires_resolution: bool = False
    resume_requires_decision: bool = False
    re_escalation: Literal["per_ladder", "manual", "none"]
    re_escalation_increment_ml_per_h: CitedPositive | None = None
    discontinue_therapy: bool = False
    sources: SourceIds
    note: str | None = None
    verified: bool = True


class EligibilityFile(_Strict):
    min_dose_number: Annotated[int, Field(ge=1)] = 1
    max_dose_number: Annotated[int, Field(ge=1)] | None = None
    excluded_if_prior_reaction_at_least: SeverityName | None = None
    sources: list[str] = Field(default_factory=list)
    note: str | None = None


class ProtocolFile(_Strict):
    id: Identifier
    version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]
    review_date: date
    title: Annotated[str, Field(min_length=1)]
    dose: DoseFile
    diluent: Annotated[str, Field(min_length=1)]
    bag_volume_ml: CitedPositive
    diluent_volume_ml: CitedPositive | None = None
    concentrate_volume_ml: CitedPositive | None = None
    concentration_mg_per_ml: CitedPositive | None = None
    max_rate_ml_per_h: CitedPositive
    ladder: LadderFile
    expected_duration_min: CitedPositive | None = None
    label_duration_text: str | None = None
    premedications: list[PremedicationFile] = Field(default_factory=list)
    observation: Annotated[list[ObservationFile], Field(min_length=1)]
    reaction_rules: Annotated[list[ReactionRuleFile], Field(min_length=4, max_length=4)]
    eligibility: EligibilityFile = Field(default_factory=EligibilityFile)
    off_label: bool = False
    notes: list[str] = Field(default_factory=list)


class IntervalFile(_Strict):
    value: Annotated[int, Field(ge=0)]
    unit: Literal["day", "week", "month"]


class ScheduleEntryFile(_Strict):
    name: Annotated[str, Field(min_length=1)]
    protocol_ids: Annotated[list[Identifier], Field(min_length=1)]
    infusions: Annotated[int, Field(ge=1)] = 1
    consecutive_days: bool = False
    anchor: str = "start of therapy"
    first_due_after: IntervalFile | None = None
    repeat_every: IntervalFile | None = None
    max_repeats: Annotated[int, Field(ge=0)] | None = None
    sources: SourceIds
    note: str | None = None
    verified: bool = True


class CumulativeLimitFile(_Strict):
    jurisdiction: Annotated[str, Field(min_length=2)]
    mg_per_m2: CitedPositive


class CitedIntervalFile(_CitedBase):
    value: Annotated[int, Field(gt=0)]
    unit: Literal["day", "week", "month"]


class CitedFlagFile(_CitedBase):
    value: bool


IntervalName = Annotated[str, Field(pattern=r"^[a-z0-9]+(_[a-z0-9]+)*$")]
GateId = Annotated[str, Field(pattern=r"^[a-z0-9]+(_[a-z0-9]+)*$")]


class MonitoringFile(_Strict):
    """Which monitoring calendar the therapy follows, and that calendar's cited cadences."""

    plan: Literal["lymphocyte-depletion", "pml-surveillance", "b-cell-depletion", "cardiotoxicity"]
    intervals: dict[IntervalName, CitedIntervalFile] = Field(default_factory=dict)


class CumulativeDoseFile(_Strict):
    """A lifetime cumulative-dose projection; the per-dose mg/m2 is this protocol's dose."""

    protocol_id: Identifier


class PlanningFile(_Strict):
    """Therapy traits the planning core reads instead of branching on the drug name."""

    course_kind: Literal[
        "split-start-calendar-months",
        "split-start-weeks",
        "fixed-interval",
        "off-label-regimens",
        "repeated-daily-courses",
        "cumulative-limited",
        "relapse-daily-course",
    ]
    listed_doses: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="display horizon of an open-ended calendar (not clinical)"
    )
    gates: list[GateId] = Field(default_factory=list)
    monitoring: MonitoringFile | None = None
    pml_risk: CitedFlagFile | None = None
    cumulative_dose: CumulativeDoseFile | None = None


class TherapyFile(_Strict):
    """One therapy file (``catalog/data/<id>.toml``)."""

    schema_version: Literal[1]
    id: Identifier
    inn: Annotated[str, Field(min_length=1)]
    brands: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    biosimilars: list[str] = Field(default_factory=list)
    drug_class: Annotated[str, Field(min_length=1)]
    mechanism: Literal[
        "anti-cd20-b-cell-depletion",
        "anti-vla4-migration-blocking",
        "anti-cd52-lymphocyte-depletion",
        "topoisomerase-ii-inhibition",
        "glucocorticoid",
    ]
    mechanism_summary: Annotated[str, Field(min_length=1)]
    target_antigen: str | None = None
    indications: Annotated[list[str], Field(min_length=1)]
    off_label_in_ms: bool = False
    off_label_note: str | None = None
    label_basis: Annotated[str, Field(min_length=1)]
    review_date: date
    sources: Annotated[dict[Identifier, SourceFile], Field(min_length=1)]
    codes: list[CodeFile] = Field(default_factory=list)
    schedule: list[ScheduleEntryFile] = Field(default_factory=list)
    cumulative_limits: list[CumulativeLimitFile] = Field(default_factory=list)
    planning: PlanningFile | None = None
    protocols: Annotated[list[ProtocolFile], Field(min_length=1)]


def therapy_file_json_schema() -> dict[str, Any]:
    """JSON Schema of a therapy file, for protocol authors and editors."""
    schema = TherapyFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "msinfusion therapy file (TOML)"
    return schema
