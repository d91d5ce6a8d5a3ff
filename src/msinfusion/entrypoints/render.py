"""Rich rendering of catalog entries and infusion plans for people at the terminal."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

from msinfusion.catalog import Catalog, Cited, Protocol, Therapy
from msinfusion.planning import InfusionPlan

DISCLAIMER = (
    "msinfusion supports clinicians; the current label and the prescriber have the last word."
)
UNVERIFIED_MARK = " [yellow](unverified)[/]"


def catalog_summary(catalog: Catalog) -> list[dict[str, Any]]:
    """The catalog as JSON-ready data: one object per protocol."""
    return [
        {
            "therapy_id": therapy.id,
            "inn": therapy.inn,
            "brands": list(therapy.brands),
            "mechanism": therapy.mechanism.value,
            "off_label_in_ms": therapy.off_label_in_ms,
            "protocol_id": protocol.id,
            "protocol_version": protocol.version,
            "title": protocol.title,
            "review_date": protocol.review_date.isoformat(),
        }
        for therapy in catalog
        for protocol in therapy.protocols
    ]


def catalog_table(catalog: Catalog) -> Table:
    table = Table(title="msinfusion therapy catalog", box=box.SIMPLE_HEAD)
    table.add_column("protocol id", no_wrap=True)
    for column in ("dose", "bag mL", "max mL/h"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("use", no_wrap=True)
    for therapy in catalog:
        for protocol in therapy.protocols:
            table.add_row(
                protocol.id,
                dose_text(protocol),
                _n(protocol.bag_volume_ml.value),
                _n(protocol.max_rate_ml_per_h.value),
                "[bold magenta]off-label[/]" if protocol.off_label else "label",
            )
    return table


def dose_text(protocol: Protocol) -> str:
    if protocol.dose.mg is not None:
        return f"{_n(protocol.dose.mg.value)} mg"
    assert protocol.dose.mg_per_m2 is not None
    return f"{_n(protocol.dose.mg_per_m2.value)} mg/m2"


def protocol_panel(protocol: Protocol, therapy: Therapy) -> Panel:
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    facts.add_row("therapy", f"{therapy.inn} — {therapy.mechanism.value}")
    facts.add_row("dose", dose_text(protocol))
    facts.add_row("diluent / bag", f"{protocol.diluent}, {_cited(protocol.bag_volume_ml, 'mL')}")
    facts.add_row("maximum rate", _cited(protocol.max_rate_ml_per_h, "mL/h"))
    if protocol.label_duration_text:
        facts.add_row("label duration", protocol.label_duration_text)
    if therapy.off_label_in_ms:
        facts.add_row("status", f"[bold magenta]OFF-LABEL in MS[/] — {therapy.off_label_note}")
    ladder = Table(title="rate ladder (last step runs until the bag is empty)")
    ladder.add_column("from minute", justify="right")
    ladder.add_column("rate mL/h", justify="right")
    for step in protocol.ladder.steps:
        ladder.add_row(_n(step.start_min), _n(step.rate_ml_per_h))
    rules = Table(title="reaction rules")
    for column in ("severity", "action", "rate", "hold", "resume"):
        rules.add_column(column)
    for rule in protocol.reaction_rules:
        factor = rule.rate_factor_of_onset
        rules.add_row(
            rule.severity.value,
            rule.action.value + (" + discontinue therapy" if rule.discontinue_therapy else ""),
            "-" if factor is None else f"<= {_n(factor.value)} x onset rate",
            "-" if rule.hold_min is None else f">= {_n(rule.hold_min.value)} min",
            ("after resolution, " if rule.resume_requires_resolution else "")
            + (rule.re_escalation.value if rule.may_resume else "no"),
        )
    sources = "\n".join(f"[{s.evidence}] {s.id}: {s.url}" for s in therapy.sources)
    return Panel(
        Group(
            facts,
            ladder,
            _premedication_table(protocol),
            _observation_table(protocol),
            rules,
            f"[dim]{sources}[/]",
            f"[dim]{DISCLAIMER}[/]",
        ),
        title=f"{protocol.id} v{protocol.version} (reviewed {protocol.review_date})",
    )


def _premedication_table(protocol: Protocol) -> Table:
    table = Table(title="premedication (minutes before the drug starts)")
    for column in ("drug", "dose", "route", "when", "required"):
        table.add_column(column)
    for premed in protocol.premedications:
        window = premed.window
        when = "before the start"
        if window is not None:
            latest = _n(window.min_before_start_min.value)
            earliest = window.max_before_start_min
            if earliest is None:
                when = f"at least {latest}"
            elif earliest.value == window.min_before_start_min.value:
                when = latest
            else:
                when = f"{_n(earliest.value)}-{latest}"
            if window.approximate and window.tolerance_min is not None:
                when += f" (approx., ±{_cited(window.tolerance_min, 'min')})"
        if premed.applies_to_course_days:
            when += f"; course days {', '.join(map(str, premed.applies_to_course_days))}"
        table.add_row(
            premed.drug + ("" if premed.verified else UNVERIFIED_MARK),
            premed.dose,
            premed.route or "-",
            when,
            "yes" if premed.required else "optional",
        )
    return table


def _observation_table(protocol: Protocol) -> Table:
    table = Table(title="post-infusion observation")
    for column in ("infusion numbers", "minutes", "may be waived when"):
        table.add_column(column)
    for rule in protocol.observation:
        upper = "" if rule.to_dose_number is None else str(rule.to_dose_number)
        table.add_row(
            f"{rule.from_dose_number}-{upper}" if upper else f"{rule.from_dose_number}+",
            _cited(rule.observation_min, "").strip(),
            rule.waivable_when or "-",
        )
    return table


def print_plan(console: Console, plan: InfusionPlan, protocol: Protocol) -> None:
    off_label = " [bold magenta]OFF-LABEL[/]" if plan.off_label else ""
    console.print(
        f"[bold]{protocol.title}[/]{off_label}\n"
        f"dose {_f(plan.dose_mg)} mg in {_f(plan.bag_volume_ml)} mL "
        f"({_f(plan.concentration_mg_per_ml, 3)} mg/mL), infusion {plan.dose_number}"
        + (f", BSA {_f(plan.body_surface_area_m2, 3)} m2" if plan.body_surface_area_m2 else "")
    )
    if plan.premedications:
        premeds = Table(title="premedication")
        for column in ("drug", "dose", "route", "give", "required"):
            premeds.add_column(column)
        for p in plan.premedications:
            window = f"by {_t(p.give_until)}"
            if p.give_from is not None:
                window = f"{_t(p.give_from)}-{_t(p.give_until)}"
                if p.approximate and p.tolerance:
                    window += f" (approx., ±{int(p.tolerance.total_seconds() // 60)} min"
                    window += ", local policy)" if not p.verified else ")"
            premeds.add_row(
                p.name, p.dose, p.route or "-", window, "yes" if p.required else "optional"
            )
        console.print(premeds)
    steps = Table(title="rate steps")
    for column in (
        "step",
        "from",
        "to",
        "rate mL/h",
        "volume mL",
        "cumulative mL",
        "cumulative mg",
    ):
        steps.add_column(column, justify="right")
    for s in plan.steps:
        steps.add_row(
            str(s.index + 1),
            _t(s.start),
            _t(s.end),
            _f(s.rate_ml_per_h),
            _f(s.volume_ml),
            _f(s.cumulative_volume_ml),
            _f(s.cumulative_dose_mg),
        )
    console.print(steps)
    duration = plan.infusion_duration.total_seconds() / 60
    console.print(
        f"infusion {_t(plan.infusion_start)} → {_t(plan.infusion_end)} ({duration:.1f} min); "
        f"observation until {_t(plan.observation_end)}; "
        f"chair {_t(plan.chair_start)} → {_t(plan.observation_end)} "
        f"({plan.chair_time.total_seconds() / 60:.0f} min)",
        soft_wrap=True,
    )
    console.print(DISCLAIMER, style="dim", soft_wrap=True)


def _cited(value: Cited[Decimal], unit: str) -> str:
    return f"{_n(value.value)} {unit}" + ("" if value.verified else UNVERIFIED_MARK)


def _n(value: Decimal) -> str:
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def _f(value: Fraction | None, places: int = 1) -> str:
    if value is None:
        return "-"
    text = f"{float(value):.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _t(value: datetime) -> str:
    return value.strftime("%H:%M:%S") if value.second else value.strftime("%H:%M")
