"""Medications given at the chair: a dose with its unit, a route, and what they count for.

A premedication counts for the protocol's premedication only when drug, dose and route all
match it (``premedication-mismatch`` otherwise): "methylprednisolone 10 mg PO" is not the
required 100 mg IV. A listed alternative counts within its dose range and routes (ublituximab,
EU: dexamethasone 10-20 mg). A premedication the label leaves to local practice ("an
antihistamine") counts for any drug of that class from the formulary, at any plausible dose.
A dose above the formulary's cited single-dose maximum is refused as implausible
(``medication-dose-implausible``): it catches a unit slip, it does not prescribe.

>>> dose_in_mg("1 g"), dose_in_mg("100 mg"), dose_in_mg("500 microgram")
(Fraction(1000, 1), Fraction(100, 1), Fraction(1, 2))
>>> dose_in_mg("per local practice") is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from msinfusion.catalog.formulary import (
    ROUTES,
    Formulary,
    FormularyDrug,
    normalise_route,
)
from msinfusion.catalog.model import Premedication, Protocol
from msinfusion.errors import CommandRefused
from msinfusion.session.rules import format_number

_UNITS_IN_MG = {
    "mg": Fraction(1),
    "milligram": Fraction(1),
    "milligrams": Fraction(1),
    "g": Fraction(1000),
    "gram": Fraction(1000),
    "grams": Fraction(1000),
    "mcg": Fraction(1, 1000),
    "µg": Fraction(1, 1000),
    "ug": Fraction(1, 1000),
    "microgram": Fraction(1, 1000),
    "micrograms": Fraction(1, 1000),
}
_DOSE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*([a-zA-Zµ]+)\s*$")


def dose_in_mg(text: str) -> Fraction | None:
    """The dose ``text`` ("100 mg", "1 g", "0.5 mg") in mg, or None when it is not a dose."""
    match = _DOSE.match(text)
    if match is None:
        return None
    factor = _UNITS_IN_MG.get(match.group(2).lower())
    if factor is None:
        return None
    value = Fraction(Decimal(match.group(1).replace(",", ".")))
    return value * factor if value > 0 else None


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedMedication:
    """A medication entry read and checked: the dose in mg, the route's standard name, and the
    formulary drug it is (None for a drug the formulary does not list)."""

    dose_mg: Fraction
    route: str
    drug: FormularyDrug | None


def check_medication(drug: str, dose: str, route: str, formulary: Formulary) -> CheckedMedication:
    """Read ``dose`` and ``route`` and refuse what no clinician meant (rule names the field)."""
    dose_mg = dose_in_mg(dose)
    if dose_mg is None:
        raise CommandRefused(
            "medication-dose",
            f"dose must be a number and a unit (mg, g or microgram), e.g. 100 mg; got {dose!r}",
        )
    standard_route = normalise_route(route)
    if standard_route is None:
        raise CommandRefused(
            "medication-route", f"route must be one of {', '.join(ROUTES)}; got {route!r}"
        )
    known = formulary.find(drug)
    if known is not None:
        if standard_route not in known.routes:
            raise CommandRefused(
                "medication-route",
                f"{known.id} is not given {standard_route} (routes: {', '.join(known.routes)})",
            )
        limit = Fraction(known.max_single_dose_mg.value)
        if dose_mg > limit:
            raise CommandRefused(
                "medication-dose-implausible",
                f"{known.id} {format_number(dose_mg)} mg is above the largest plausible single "
                f"dose, {format_number(limit)} mg (catalog formulary); check the unit",
            )
    return CheckedMedication(dose_mg=dose_mg, route=standard_route, drug=known)


def _names(premedication: Premedication, drug: FormularyDrug | None, given: str) -> bool:
    """Is ``given`` (or its formulary drug) the drug, or of the class, this premedication names?"""
    if drug is not None:
        return drug.is_named(premedication.drug)
    return given.strip().lower() in premedication.drug.lower().split()


def _fits(premedication: Premedication, checked: CheckedMedication) -> bool:
    dose_ok = premedication.dose_mg is None or checked.dose_mg == Fraction(premedication.dose_mg)
    route_ok = premedication.route is None or checked.route == premedication.route.upper()
    return dose_ok and route_ok


def _fits_alternative(premedication: Premedication, checked: CheckedMedication) -> bool:
    return checked.drug is not None and any(
        checked.drug.is_named(alternative.drug)
        and Fraction(alternative.dose_mg_min)
        <= checked.dose_mg
        <= Fraction(alternative.dose_mg_max)
        and checked.route in alternative.routes
        for alternative in premedication.alternatives
    )


def expected(premedication: Premedication) -> str:
    """What the protocol asks for, as a nurse reads it: "methylprednisolone 100 mg IV"."""
    dose = premedication.dose if premedication.dose_mg is None else f"{premedication.dose_mg} mg"
    route = "" if premedication.route is None else f" {premedication.route}"
    options = "".join(
        f"; or {a.drug} {a.dose_mg_min}-{a.dose_mg_max} mg {'/'.join(a.routes)}"
        for a in premedication.alternatives
    )
    return f"{premedication.drug} {dose}{route}{options}"


def premedication_counted(
    protocol: Protocol,
    given_drug: str,
    checked: CheckedMedication,
    for_premedication: str | None,
    *,
    counts: bool,
) -> str | None:
    """The protocol premedication (its ``drug`` text) this administration counts for, or None.

    Raises ``premedication-mismatch`` when the entry is meant to count (``counts``) and names a
    protocol premedication (by drug, class or ``for_premedication``) whose dose or route it
    does not match. ``counts=False`` charts what was given without counting it.
    """
    if not counts:
        return None
    ordered = sorted(protocol.premedications, key=lambda p: not p.required)
    if for_premedication is not None:
        named = [p for p in ordered if for_premedication.strip().lower() in p.drug.lower()]
        if not named:
            known = "; ".join(p.drug for p in protocol.premedications) or "none"
            raise CommandRefused(
                "premedication-mismatch",
                f"this protocol has no premedication {for_premedication!r} (it has: {known})",
            )
        candidates = named
    else:
        candidates = [
            p
            for p in ordered
            if _names(p, checked.drug, given_drug)
            or (
                checked.drug is not None
                and any(checked.drug.is_named(a.drug) for a in p.alternatives)
            )
        ]
    for premedication in candidates:
        by_drug = _names(premedication, checked.drug, given_drug)
        if (by_drug and _fits(premedication, checked)) or _fits_alternative(premedication, checked):
            return premedication.drug
    if not candidates:
        return None  # another medication: charted, counts for nothing
    wanted = candidates[0]
    raise CommandRefused(
        "premedication-mismatch",
        f"{given_drug} {format_number(checked.dose_mg)} mg {checked.route} does not match the "
        f"protocol's premedication ({expected(wanted)}); chart it with "
        "counts_as_premedication=false to record it without counting it",
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PremedicationChoice:
    """One pick-list line for a protocol premedication: what to chart if it is what was given.

    ``dose`` is empty when neither the protocol nor the formulary suggests one (the nurse types
    the ordered dose); ``routes`` lists every route the drug takes, ``route`` (the protocol's)
    first."""

    for_premedication: str
    drug: str
    dose: str
    route: str
    routes: tuple[str, ...]


def _routes(wanted: str | None, possible: tuple[str, ...]) -> tuple[str, ...]:
    """Every route the drug takes, the protocol's first: the nurse charts what was done."""
    first = () if wanted is None else (wanted.upper(),)
    return (*first, *(r for r in possible if r not in first))


def _mg(value: Decimal) -> str:
    return f"{format_number(Fraction(value))} mg"


def premedication_choices(
    premedication: Premedication, formulary: Formulary
) -> tuple[PremedicationChoice, ...]:
    """The pick-list for ``premedication``: the labelled drug, dose and route first, then its
    listed alternatives, or for a class ("an antihistamine") each formulary drug of it.

    >>> from msinfusion.catalog.registry import shipped_catalog
    >>> protocol = shipped_catalog().get_protocol("ocrelizumab-600-standard")
    >>> from msinfusion.catalog.formulary import shipped_formulary
    >>> [(c.drug, c.dose, c.route) for p in protocol.premedications
    ...  for c in premedication_choices(p, shipped_formulary())]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('methylprednisolone', '100 mg', 'IV'), ('diphenhydramine', '50 mg', 'IV'),
     ('cetirizine', '10 mg', 'PO'), ('paracetamol', '1000 mg', 'PO')]
    """
    named = formulary.of_class(premedication.drug)
    choices: list[PremedicationChoice] = []
    if premedication.dose_mg is not None:
        drug = next((d for d in named if d.id in premedication.drug.lower()), None)
        routes = _routes(premedication.route, drug.routes if drug else ROUTES)
        choices.append(
            PremedicationChoice(
                for_premedication=premedication.drug,
                drug=drug.id if drug else premedication.drug,
                dose=_mg(premedication.dose_mg),
                route=routes[0] if routes else "",
                routes=routes,
            )
        )
    else:
        for drug in named:
            usual = drug.usual_single_dose_mg
            routes = _routes(premedication.route, drug.routes)
            choices.append(
                PremedicationChoice(
                    for_premedication=premedication.drug,
                    drug=drug.id,
                    dose="" if usual is None else _mg(usual.value),
                    route=routes[0],
                    routes=routes,
                )
            )
    for alternative in premedication.alternatives:
        choices.append(
            PremedicationChoice(
                for_premedication=premedication.drug,
                drug=alternative.drug,
                dose=_mg(alternative.dose_mg_min),
                route=alternative.routes[0],
                routes=alternative.routes,
            )
        )
    return tuple(choices)
