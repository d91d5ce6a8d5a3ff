"""Calendar builders for the anti-CD20 antibodies and natalizumab.

Each builds one catalog course kind (``planning.course_kind`` in the therapy file). The number of
doses an open-ended calendar lists by default is the file's ``planning.listed_doses``.

Numbers come from ``course_data.rule`` (cited in course_rules.toml); the dossier items each choice
follows are named next to the code (A = anti-CD20 dossier, N = natalizumab/... dossier).
"""

from __future__ import annotations

from datetime import date

from msinfusion.errors import InvalidCourseOrder
from msinfusion.planning import course_data as data
from msinfusion.planning.calendar_units import describe, shift
from msinfusion.planning.course_options import Built, Options, cited, listed_doses
from msinfusion.planning.courses import (
    CourseOrder,
    Placer,
    Series,
    Slot,
    anchor_of,
    run_series,
)


def _anti_cd20_split_start(
    placer: Placer, order: CourseOrder, first: tuple[str, str], second: tuple[str, str], gap: str
) -> tuple[date, date]:
    """Dose 1 on the start date, dose 2 ``gap`` after the dose-1 date actually given."""
    one = placer.place(
        Slot(
            dose_number=1,
            protocol_id=first[0],
            label="Dose 1 (day 1)",
            dose=first[1],
            nominal_due=order.start,
            due_rule="start of therapy",
        )
    )
    e1 = anchor_of(one, placer.as_of)
    two = placer.place(
        Slot(
            dose_number=2,
            protocol_id=second[0],
            label="Dose 2 (day 15)",
            dose=second[1],
            nominal_due=shift(e1, data.interval(gap)),
            due_rule=f"{describe(data.interval(gap))} after dose 1",
            previous=e1,
        )
    )
    return e1, anchor_of(two, placer.as_of)


def build_ocrelizumab(order: CourseOrder, placer: Placer) -> Built:
    opts = Options(order, frozenset({"doses", "maintenance_unit"}))
    count = opts.integer("doses", listed_doses(order), 2, 60)
    unit = opts.choice("maintenance_unit", ("month", "week"), "month")  # dossier Q2
    every_key = "maintenance_every" if unit == "month" else "maintenance_every_weeks_alternative"
    every = data.interval(f"ocrelizumab.{every_key}")
    initial = ("ocrelizumab-300-initial", "300 mg")
    e1, e2 = _anti_cd20_split_start(
        placer, order, initial, initial, "ocrelizumab.initial_second_infusion"
    )
    maintenance = ("ocrelizumab-600-standard", "Maintenance", "600 mg", ("ocrelizumab-600-short",))
    run_series(
        placer,
        Series(
            numbers=range(3, count + 1),
            anchor=e1,  # first maintenance counts from infusion 1 (A 1.1)
            first_steps=1,
            previous=e2,  # minimum interval measured from infusion 2 (dossier Q3, conservative)
            every=every,
            every_text=f"every {describe(every)} from infusion 1 or the last dose given",
            min_interval=data.interval("ocrelizumab.min_interval"),  # dossier Q1: 5 months
        ),
        lambda n: maintenance,
    )
    notes = (
        "Dossier Q1: minimum interval 5 months (stricter); newest ocrevus.com says 20 weeks.",
        "Dossier Q3: the minimum interval after the split first dose is measured from infusion 2.",
        "Dossier Q2: maintenance in calendar months as labelled unless maintenance_unit=week.",
        "Missed dose: " + str(data.rule("ocrelizumab.missed_dose").value) + ".",
    )
    return Built(
        notes=notes, sources=cited("ocrelizumab.maintenance_every", "ocrelizumab.min_interval")
    )


def build_ublituximab(order: CourseOrder, placer: Placer) -> Built:
    opts = Options(order, frozenset({"doses"}))
    count = opts.integer("doses", listed_doses(order), 2, 60)
    every = data.interval("ublituximab.maintenance_every")
    e1, e2 = _anti_cd20_split_start(
        placer,
        order,
        ("ublituximab-150-day1", "150 mg"),
        ("ublituximab-450", "450 mg"),
        "ublituximab.second_infusion",
    )
    run_series(
        placer,
        Series(
            numbers=range(3, count + 1),
            anchor=e1,
            first_steps=1,
            previous=e2,
            every=every,
            every_text=f"every {describe(every)} from dose 1 or the last dose given",
            min_interval=data.interval("ublituximab.min_interval"),
        ),
        lambda n: ("ublituximab-450", "Maintenance", "450 mg", ()),
    )
    notes = (
        "Dossier Q2: strictly 24 weeks, never converted to months.",
        "Dossier Q12: minimum interval 5 months (EU/UK/CH); US text not seen verbatim.",
        "Dossier Q3: the minimum interval after the split first dose is measured from dose 2.",
        "Missed dose: " + str(data.rule("ublituximab.missed_dose").value) + " (source truncated).",
    )
    return Built(
        notes=notes, sources=cited("ublituximab.maintenance_every", "ublituximab.min_interval")
    )


NATALIZUMAB_INTERVALS = ("4w", "6w")
"""The intervals a natalizumab order takes: the label's 4 weeks, the off-label 6 weeks (N7)."""


def build_natalizumab(order: CourseOrder, placer: Placer) -> Built:
    opts = Options(
        order, frozenset({"doses", "interval", "acknowledge_off_label", "interval_from_dose"})
    )
    count = opts.integer("doses", listed_doses(order), 1, 200)
    extended = opts.choice("interval", NATALIZUMAB_INTERVALS, "4w") == "6w"
    # A course switched to every 6 weeks part-way (e.g. a TDM-guided change): doses before
    # ``interval_from_dose`` keep every 4 weeks, the clock of the rest runs from the dose before.
    switch = opts.integer("interval_from_dose", 1, 1, 200)
    if switch > 1 and not extended:
        raise InvalidCourseOrder(
            "option interval_from_dose applies only with interval=6w",
            field="option:interval_from_dose",
        )
    if extended and opts.values.get("acknowledge_off_label") != "yes":
        raise InvalidCourseOrder(
            "natalizumab every 6 weeks is extended-interval dosing, off-label (US) and not in "
            "the EU posology (dossier N7): add acknowledge_off_label=yes to order it",
            field="option:acknowledge_off_label",
        )
    every = data.interval("natalizumab.extended_every" if extended else "natalizumab.every")
    standard = data.interval("natalizumab.every")
    first_text = f"every {describe(standard)} from the start or the last dose given"
    last = run_series(
        placer,
        Series(
            numbers=range(1, min(switch, count + 1)) if switch > 1 else range(1, count + 1),
            anchor=order.start,
            first_steps=0,
            previous=None,
            every=standard if switch > 1 else every,
            every_text=first_text
            if switch > 1
            else f"every {describe(every)} from the start or the last dose given",
        ),
        lambda n: ("natalizumab-300", "Infusion", "300 mg", ()),
    )
    if switch > 1 and last is not None and switch <= count:
        run_series(
            placer,
            Series(
                numbers=range(switch, count + 1),
                anchor=last,
                first_steps=1,
                previous=last,
                every=every,
                every_text=f"every {describe(every)} from dose {switch - 1} or the last dose given",
            ),
            lambda n: ("natalizumab-300", "Infusion", "300 mg", ()),
        )
    notes = ["Missed dose: " + str(data.rule("natalizumab.missed_dose").value) + "."]
    if extended:
        notes.insert(
            0,
            "OFF-LABEL: extended-interval dosing every 6 weeks, prescriber's choice "
            "(dossier N7; NOVA: patients stable >= 12 months on every 4 weeks).",
        )
    notes.append("No label minimum interval: earliest = due unless early_days is set locally.")
    return Built(
        notes=tuple(notes),
        sources=cited("natalizumab.every", "natalizumab.missed_dose"),
        off_label=extended,
    )


RITUXIMAB_REGIMENS = ("hermes", "olympus")


def build_rituximab(order: CourseOrder, placer: Placer) -> Built:
    """Off-label templates only, chosen explicitly by the prescriber (dossier Q15)."""
    opts = Options(order, frozenset({"regimen"}))
    regimen = opts.choice("regimen", RITUXIMAB_REGIMENS, None)
    gap = data.interval("rituximab.second_infusion")
    courses = 1 if regimen == "hermes" else int(data.number("rituximab.olympus_courses"))
    every = data.interval("rituximab.olympus_course_every")
    min_between = data.interval("rituximab.min_interval_between_courses")
    course_start, previous = order.start, None
    anchor, steps = order.start, 0
    for course in range(1, courses + 1):
        first = "rituximab-1000-first" if course == 1 else "rituximab-1000-subsequent"
        floor = shift(course_start, min_between) if course > 1 else None
        nominal = shift(anchor, every, times=steps)
        one = placer.place(
            Slot(
                dose_number=2 * course - 1,
                protocol_id=first,
                label=f"Course {course}, infusion 1",
                dose="1000 mg",
                nominal_due=nominal,
                due_rule="start of therapy" if course == 1 else f"every {describe(every)}",
                previous=previous,
                floor=floor,
                floor_rule=f"not sooner than {describe(min_between)} after the prior course "
                "(RA label analogy, UNVERIFIED for MS)"
                if floor
                else None,
                course_number=course,
            )
        )
        course_start = anchor_of(one, placer.as_of)
        if course_start != nominal:
            anchor, steps = course_start, 0
        steps += 1
        two = placer.place(
            Slot(
                dose_number=2 * course,
                protocol_id="rituximab-1000-subsequent",
                label=f"Course {course}, infusion 2",
                dose="1000 mg",
                nominal_due=shift(course_start, gap),
                due_rule=f"{describe(gap)} after infusion 1 of the course",
                previous=course_start,
                course_number=course,
            )
        )
        previous = anchor_of(two, placer.as_of)
    notes = (
        "OFF-LABEL: rituximab is not authorised for MS; regimen template "
        f"'{regimen}' chosen by the prescriber (dossier Q15).",
        "Protocols assume 2 mg/mL; the 500 mg templates (rtx-norway, rtx-deescalated) need 500 mg "
        "protocols the catalog does not have yet.",
    )
    keys = ["rituximab.second_infusion"]
    if regimen == "olympus":
        keys += ["rituximab.olympus_course_every", "rituximab.min_interval_between_courses"]
    return Built(notes=notes, sources=cited(*keys), off_label=True)
