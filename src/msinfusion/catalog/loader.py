"""Read therapy TOML files, validate them, and build frozen domain values.

Loading refuses a bad file as a whole (``InvalidTherapyFile``) and lists every problem, each
naming the field: unknown keys, missing sources, rates above the maximum, ladders that cannot
deliver the bag, windows that make no sense, negative or zero quantities.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from msinfusion.catalog import schema as s
from msinfusion.catalog.model import (
    Cited,
    Code,
    CourseKind,
    CumulativeDose,
    CumulativeLimit,
    Dose,
    Eligibility,
    Interval,
    IntervalUnit,
    Mechanism,
    Monitoring,
    MonitoringPlan,
    ObservationRule,
    PlanningTraits,
    Premedication,
    PremedicationAlternative,
    PremedicationWindow,
    Protocol,
    ProtocolId,
    RateLadder,
    RateStep,
    ReactionAction,
    ReactionRule,
    ReEscalation,
    ScheduleEntry,
    Severity,
    Source,
    Therapy,
    TherapyId,
)
from msinfusion.catalog.validation import check_therapy
from msinfusion.errors import InvalidTherapyFile

_MECHANISMS = {
    "anti-cd20-b-cell-depletion": Mechanism.ANTI_CD20_B_CELL_DEPLETION,
    "anti-vla4-migration-blocking": Mechanism.ANTI_VLA4_MIGRATION_BLOCKING,
    "anti-cd52-lymphocyte-depletion": Mechanism.ANTI_CD52_LYMPHOCYTE_DEPLETION,
    "topoisomerase-ii-inhibition": Mechanism.TOPOISOMERASE_II_INHIBITION,
    "glucocorticoid": Mechanism.GLUCOCORTICOID,
}

_PYDANTIC_REASONS = {
    "extra_forbidden": "unknown key (not part of the therapy file schema)",
    "missing": "required field is missing",
}


def load_therapy_file(path: Path) -> Therapy:
    """Load and validate one therapy file; raise ``InvalidTherapyFile`` naming every problem."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidTherapyFile(
            file=name, problems=(("file", f"cannot be read: {exc.strerror}"),)
        ) from None
    return load_therapy_text(text, file=name)


def load_therapy_text(text: str, *, file: str) -> Therapy:
    try:
        raw = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidTherapyFile(
            file=file, problems=(("toml", f"not valid TOML: {exc}"),)
        ) from None
    return build_therapy(raw, file=file)


def build_therapy(raw: Mapping[str, Any], *, file: str) -> Therapy:
    try:
        parsed = s.TherapyFile.model_validate(raw)
    except ValidationError as exc:
        raise InvalidTherapyFile(file=file, problems=_pydantic_problems(exc)) from None
    builder = _Builder(parsed, file=file)
    therapy = builder.therapy()
    problems = builder.problems + check_therapy(therapy)
    if problems:
        raise InvalidTherapyFile(file=file, problems=tuple(problems))
    return therapy


def _pydantic_problems(exc: ValidationError) -> tuple[tuple[str, str], ...]:
    problems = []
    for error in exc.errors(include_url=False):
        field = _dotted(error["loc"])
        reason = _PYDANTIC_REASONS.get(error["type"], error["msg"])
        if error["type"] not in _PYDANTIC_REASONS and "input" in error:
            reason = f"{reason} (got {error['input']!r})"
        problems.append((field, reason))
    return tuple(problems)


def _dotted(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "file"


class _Builder:
    """Turns a shape-checked file into domain values, resolving source ids as it goes."""

    def __init__(self, parsed: s.TherapyFile, *, file: str) -> None:
        self.parsed = parsed
        self.file = file
        self.problems: list[tuple[str, str]] = []
        self.sources = {
            key: Source(id=key, url=src.url, evidence=src.evidence, title=src.title)
            for key, src in parsed.sources.items()
        }
        self._used: set[str] = set()

    def therapy(self) -> Therapy:
        p = self.parsed
        therapy = Therapy(
            id=TherapyId(p.id),
            inn=p.inn,
            brands=tuple(p.brands),
            aliases=tuple(p.aliases),
            biosimilars=tuple(p.biosimilars),
            drug_class=p.drug_class,
            mechanism=_MECHANISMS[p.mechanism],
            mechanism_summary=p.mechanism_summary,
            target_antigen=p.target_antigen,
            indications=tuple(p.indications),
            off_label_in_ms=p.off_label_in_ms,
            off_label_note=p.off_label_note,
            label_basis=p.label_basis,
            review_date=p.review_date,
            codes=tuple(self._code(c, f"codes[{i}]") for i, c in enumerate(p.codes)),
            sources=tuple(self.sources.values()),
            protocols=tuple(
                self._protocol(proto, f"protocols[{proto.id}]") for proto in p.protocols
            ),
            schedule=tuple(self._schedule(e, f"schedule[{i}]") for i, e in enumerate(p.schedule)),
            cumulative_limits=tuple(
                CumulativeLimit(
                    jurisdiction=lim.jurisdiction,
                    mg_per_m2=self._cited(lim.mg_per_m2, f"cumulative_limits[{i}].mg_per_m2"),
                )
                for i, lim in enumerate(p.cumulative_limits)
            ),
            planning=None if p.planning is None else self._planning(p.planning),
            file=self.file,
        )
        for key in sorted(set(self.sources) - self._used):
            self.problems.append((f"sources.{key}", "source is never cited; remove it or cite it"))
        return therapy

    def _resolve(self, ids: Iterable[str], field: str) -> tuple[Source, ...]:
        resolved = []
        for source_id in ids:
            if source_id not in self.sources:
                self.problems.append((f"{field}.sources", f"unknown source id '{source_id}'"))
                continue
            self._used.add(source_id)
            resolved.append(self.sources[source_id])
        return tuple(resolved)

    def _cited(self, value: s.CitedPositive | s.CitedNonNegative, field: str) -> Cited[Decimal]:
        return Cited(
            value=value.value,
            sources=self._resolve(value.sources, field),
            note=value.note,
            verified=value.verified,
        )

    def _maybe(
        self, value: s.CitedPositive | s.CitedNonNegative | None, field: str
    ) -> Cited[Decimal] | None:
        return None if value is None else self._cited(value, field)

    def _flagged(self, value: s.CitedFlagFile, field: str) -> Cited[bool]:
        return Cited(
            value=value.value,
            sources=self._resolve(value.sources, field),
            note=value.note,
            verified=value.verified,
        )

    def _planning(self, p: s.PlanningFile) -> PlanningTraits:
        field = "planning"
        monitoring = None
        if p.monitoring is not None:
            monitoring = Monitoring(
                plan=MonitoringPlan(p.monitoring.plan),
                intervals=tuple(
                    (
                        name,
                        Cited(
                            value=Interval(value=raw.value, unit=IntervalUnit(raw.unit)),
                            sources=self._resolve(
                                raw.sources, f"{field}.monitoring.intervals.{name}"
                            ),
                            note=raw.note,
                            verified=raw.verified,
                        ),
                    )
                    for name, raw in p.monitoring.intervals.items()
                ),
            )
        return PlanningTraits(
            course_kind=CourseKind(p.course_kind),
            listed_doses=p.listed_doses,
            gate_ids=tuple(p.gates),
            monitoring=monitoring,
            pml_risk=None if p.pml_risk is None else self._flagged(p.pml_risk, f"{field}.pml_risk"),
            cumulative_dose=None
            if p.cumulative_dose is None
            else CumulativeDose(protocol_id=ProtocolId(p.cumulative_dose.protocol_id)),
        )

    def _code(self, code: s.CodeFile, field: str) -> Code:
        return Code(
            system=code.system,
            value=code.value,
            sources=self._resolve(code.sources, field),
            verified=code.verified,
            note=code.note,
        )

    def _protocol(self, p: s.ProtocolFile, field: str) -> Protocol:
        return Protocol(
            id=ProtocolId(p.id),
            therapy_id=TherapyId(self.parsed.id),
            version=p.version,
            review_date=p.review_date,
            title=p.title,
            dose=Dose(
                mg=self._maybe(p.dose.mg, f"{field}.dose.mg"),
                mg_per_m2=self._maybe(p.dose.mg_per_m2, f"{field}.dose.mg_per_m2"),
            ),
            diluent=p.diluent,
            bag_volume_ml=self._cited(p.bag_volume_ml, f"{field}.bag_volume_ml"),
            diluent_volume_ml=self._maybe(p.diluent_volume_ml, f"{field}.diluent_volume_ml"),
            concentrate_volume_ml=self._maybe(
                p.concentrate_volume_ml, f"{field}.concentrate_volume_ml"
            ),
            concentration_mg_per_ml=self._maybe(
                p.concentration_mg_per_ml, f"{field}.concentration_mg_per_ml"
            ),
            max_rate_ml_per_h=self._cited(p.max_rate_ml_per_h, f"{field}.max_rate_ml_per_h"),
            ladder=RateLadder(
                steps=tuple(
                    RateStep(start_min=start, rate_ml_per_h=rate) for start, rate in p.ladder.steps
                ),
                sources=self._resolve(p.ladder.sources, f"{field}.ladder"),
                note=p.ladder.note,
                verified=p.ladder.verified,
            ),
            expected_duration_min=self._maybe(
                p.expected_duration_min, f"{field}.expected_duration_min"
            ),
            label_duration_text=p.label_duration_text,
            premedications=tuple(
                self._premedication(m, f"{field}.premedications[{i}]")
                for i, m in enumerate(p.premedications)
            ),
            observation=tuple(
                ObservationRule(
                    from_dose_number=o.from_dose_number,
                    to_dose_number=o.to_dose_number,
                    observation_min=self._cited(
                        o.observation_min, f"{field}.observation[{i}].observation_min"
                    ),
                    waivable_when=o.waivable_when,
                )
                for i, o in enumerate(p.observation)
            ),
            reaction_rules=tuple(
                self._reaction_rule(r, f"{field}.reaction_rules[{r.severity}]")
                for r in p.reaction_rules
            ),
            eligibility=Eligibility(
                min_dose_number=p.eligibility.min_dose_number,
                max_dose_number=p.eligibility.max_dose_number,
                excluded_if_prior_reaction_at_least=(
                    None
                    if p.eligibility.excluded_if_prior_reaction_at_least is None
                    else Severity(p.eligibility.excluded_if_prior_reaction_at_least)
                ),
                sources=self._resolve(p.eligibility.sources, f"{field}.eligibility"),
                note=p.eligibility.note,
            ),
            off_label=p.off_label or self.parsed.off_label_in_ms,
            notes=tuple(p.notes),
        )

    def _premedication(self, m: s.PremedicationFile, field: str) -> Premedication:
        window = None
        if m.window is not None:
            window = PremedicationWindow(
                min_before_start_min=self._cited(
                    m.window.min_before_start_min, f"{field}.window.min_before_start_min"
                ),
                max_before_start_min=self._maybe(
                    m.window.max_before_start_min, f"{field}.window.max_before_start_min"
                ),
                approximate=m.window.approximate,
                tolerance_min=self._maybe(m.window.tolerance_min, f"{field}.window.tolerance_min"),
            )
        return Premedication(
            drug=m.drug,
            dose=m.dose,
            route=m.route,
            required=m.required,
            sources=self._resolve(m.sources, field),
            window=window,
            applies_to_course_days=(
                None if m.applies_to_course_days is None else tuple(m.applies_to_course_days)
            ),
            note=m.note,
            verified=m.verified,
            dose_mg=m.dose_mg,
            alternatives=tuple(
                PremedicationAlternative(
                    drug=a.drug,
                    dose_mg_min=a.dose_mg_min,
                    dose_mg_max=a.dose_mg_max,
                    routes=tuple(a.routes),
                    sources=self._resolve(a.sources, f"{field}.alternatives[{j}]"),
                    note=a.note,
                )
                for j, a in enumerate(m.alternatives)
            ),
        )

    def _reaction_rule(self, r: s.ReactionRuleFile, field: str) -> ReactionRule:
        return ReactionRule(
            severity=Severity(r.severity),
            action=ReactionAction(r.action),
            rate_factor_of_onset=self._maybe(
                r.rate_factor_of_onset, f"{field}.rate_factor_of_onset"
            ),
            hold_min=self._maybe(r.hold_min, f"{field}.hold_min"),
            may_resume=r.may_resume,
            resume_requires_resolution=r.resume_requires_resolution,
            resume_requires_decision=r.resume_requires_decision,
            re_escalation=ReEscalation(r.re_escalation),
            re_escalation_increment_ml_per_h=self._maybe(
                r.re_escalation_increment_ml_per_h, f"{field}.re_escalation_increment_ml_per_h"
            ),
            discontinue_therapy=r.discontinue_therapy,
            sources=self._resolve(r.sources, field),
            note=r.note,
            verified=r.verified,
        )

    def _schedule(self, e: s.ScheduleEntryFile, field: str) -> ScheduleEntry:
        return ScheduleEntry(
            name=e.name,
            protocol_ids=tuple(ProtocolId(pid) for pid in e.protocol_ids),
            infusions=e.infusions,
            consecutive_days=e.consecutive_days,
            first_due_after=_interval(e.first_due_after),
            anchor=e.anchor,
            repeat_every=_interval(e.repeat_every),
            max_repeats=e.max_repeats,
            sources=self._resolve(e.sources, field),
            note=e.note,
            verified=e.verified,
        )


def _interval(value: s.IntervalFile | None) -> Interval | None:
    return None if value is None else Interval(value=value.value, unit=IntervalUnit(value.unit))
