"""The physician's premedication choices on an order, from the protocols' own pick-lists.

Each premedication a protocol of the ordered therapy names (methylprednisolone, an
antihistamine, an antipyretic...) is offered with its choices from
``session.medication.premedication_choices`` (the labelled drug and its listed alternatives,
or each formulary drug of a class). The order stores one pick per premedication: a drug of its
list, or ``none`` for an optional one; a required premedication cannot be left out. Nothing
here doses: the chair still charts what was given, against the protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from msinfusion.catalog.formulary import shipped_formulary
from msinfusion.catalog.model import Therapy
from msinfusion.errors import InvalidCommand
from msinfusion.session.medication import PremedicationChoice, premedication_choices

LEFT_OUT = "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class PremedicationOffer:
    """One premedication of the therapy's protocols and what the physician may pick."""

    premedication: str
    required: bool
    choices: tuple[PremedicationChoice, ...]


def premedication_offers(therapy: Therapy) -> tuple[PremedicationOffer, ...]:
    """Every premedication of ``therapy``'s protocols, once each, in protocol order; required
    when any protocol requires it.

    >>> from msinfusion.catalog.registry import shipped_catalog
    >>> [(o.premedication.split()[0], o.required, [c.drug for c in o.choices])
    ...  for o in premedication_offers(shipped_catalog().get_therapy("ocrelizumab"))]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('methylprednisolone', True, ['methylprednisolone']),
     ('antihistamine', True, ['diphenhydramine', 'cetirizine']),
     ('antipyretic', False, ['paracetamol'])]
    """
    offers: dict[str, PremedicationOffer] = {}
    formulary = shipped_formulary()
    for protocol in therapy.protocols:
        for premedication in protocol.premedications:
            known = offers.get(premedication.drug)
            choices = premedication_choices(premedication, formulary)
            if known is None:
                offers[premedication.drug] = PremedicationOffer(
                    premedication=premedication.drug,
                    required=premedication.required,
                    choices=choices,
                )
            else:
                extra = tuple(c for c in choices if c.drug not in {k.drug for k in known.choices})
                offers[premedication.drug] = PremedicationOffer(
                    premedication=known.premedication,
                    required=known.required or premedication.required,
                    choices=known.choices + extra,
                )
    return tuple(offers.values())


def checked_premedications(
    therapy: Therapy, picked: Mapping[str, str]
) -> tuple[tuple[str, str], ...]:
    """``picked`` (premedication → drug or ``none``) checked against the offers; a
    premedication not picked is left to the protocol's first choice (not stored)."""
    offers = {o.premedication: o for o in premedication_offers(therapy)}
    checked = []
    for premedication, drug in picked.items():
        field = f"premedication:{premedication}"
        offer = offers.get(premedication)
        if offer is None:
            raise InvalidCommand(
                f"{field}: not a premedication of {therapy.id}'s protocols", field=field
            )
        if drug == LEFT_OUT:
            if offer.required:
                raise InvalidCommand(
                    f"{field}: a required premedication cannot be left out", field=field
                )
        elif drug not in {c.drug for c in offer.choices}:
            allowed = ", ".join(c.drug for c in offer.choices)
            raise InvalidCommand(f"{field}: {drug!r} is not one of {allowed}", field=field)
        checked.append((premedication, drug))
    return tuple(checked)
