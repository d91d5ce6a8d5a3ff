"""The catalog as a smart-pump drug library (DERS): one entry per protocol, one row per step.

Every number is the protocol's own cited value (``Cited``), never a default: the hard maximum
rate is the protocol's maximum rate, the volume limit its bag volume, the concentration its
cited concentration (None where the protocol cites none: the pump is then programmed in mL/h
only). Soft limits and minimums are None: no protocol source gives them, and a soft limit
must lie inside the hard one (device-interop dossier §F), which None keeps trivially true.
An entry whose limits rest on an unverified value says ``verified: false`` and names them in
``unverified``; ``build_library(..., refuse_unverified=True)`` refuses the export instead.

``library_drug_id`` is the protocol id: it is what PCD-03 orders send in RXG-4 and what pumps
report back in OBR-4, so an order always matches exactly one library entry.

>>> from msinfusion.catalog import shipped_catalog
>>> entry = next(e for e in build_library(shipped_catalog()).entries
...              if e.protocol_id == "ocrelizumab-600-standard")
>>> entry.drug, entry.rate_hard_max_ml_per_h, entry.volume_ml, entry.verified
('ocrelizumab', Decimal('200'), Decimal('500'), True)
>>> [str(s.rate_ml_per_h) for s in entry.steps]
['40', '80', '120', '160', '200']
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from msinfusion.catalog.model import Cited, Protocol
from msinfusion.catalog.registry import Catalog
from msinfusion.errors import CatalogError

FORMAT_VERSION = "1"
CARE_AREA = "MS infusion centre"
DOSING_UNIT = "mL/h"
DOSING_UNIT_MDC = "265266^MDC_DIM_MILLI_L_PER_HR^MDC"
DOSING_UNIT_UCUM = "mL/h"


@dataclass(frozen=True, slots=True, kw_only=True)
class LibraryStep:
    """A ladder step: from ``start_min`` of running infusion, at most ``rate_ml_per_h``."""

    step: int
    start_min: Decimal
    rate_ml_per_h: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class LibraryEntry:
    protocol_id: str
    protocol_version: str
    library_drug_id: str
    drug: str
    title: str
    drug_amount_mg: Decimal | None
    dose_mg_per_m2: Decimal | None
    diluent_volume_ml: Decimal
    concentration_mg_per_ml: Decimal | None
    rate_hard_max_ml_per_h: Decimal
    volume_ml: Decimal
    steps: tuple[LibraryStep, ...]
    verified: bool
    unverified: tuple[str, ...]
    sources: tuple[str, ...]
    requires_bsa: bool

    def to_json_dict(self) -> dict[str, Any]:
        def num(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "protocol_id": self.protocol_id,
            "protocol_version": self.protocol_version,
            "library_drug_id": self.library_drug_id,
            "drug": self.drug,
            "display_name": self.title,
            "care_area": CARE_AREA,
            "drug_amount_mg": num(self.drug_amount_mg),
            "dose_mg_per_m2": num(self.dose_mg_per_m2),
            "amount_unit": "mg",
            "diluent_volume_ml": num(self.diluent_volume_ml),
            "concentration_mg_per_ml": num(self.concentration_mg_per_ml),
            "dosing_unit": DOSING_UNIT,
            "dosing_unit_mdc": DOSING_UNIT_MDC,
            "dosing_unit_ucum": DOSING_UNIT_UCUM,
            "rate_hard_max_ml_per_h": num(self.rate_hard_max_ml_per_h),
            "rate_soft_max_ml_per_h": None,
            "rate_hard_min_ml_per_h": None,
            "volume_ml": num(self.volume_ml),
            "vtbi_hard_max_ml": num(self.volume_ml),
            "requires_weight": False,
            "requires_height": self.requires_bsa,
            "requires_bsa": self.requires_bsa,
            "bolus_allowed": False,
            "delivery_mode": "multi-step" if len(self.steps) > 1 else "continuous",
            "steps": [
                {
                    "step": s.step,
                    "start_min": num(s.start_min),
                    "rate_ml_per_h": num(s.rate_ml_per_h),
                }
                for s in self.steps
            ],
            "verified": self.verified,
            "unverified": list(self.unverified),
            "sources": list(self.sources),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DrugLibrary:
    entries: tuple[LibraryEntry, ...]

    def to_json_dict(self) -> dict[str, Any]:
        """The documented JSON (``docs/pumps.md``), with ``library_version`` = the SHA-256 of
        the canonical entries, so a pump reporting a version can be compared with it."""
        entries = [e.to_json_dict() for e in self.entries]
        canonical = json.dumps(entries, sort_keys=True, separators=(",", ":"))
        return {
            "format": f"msinfusion-drug-library/{FORMAT_VERSION}",
            "care_area": CARE_AREA,
            "library_version": hashlib.sha256(canonical.encode()).hexdigest()[:16],
            "entries": entries,
        }


def _sources(*values: Cited[Any] | None) -> tuple[str, ...]:
    urls: list[str] = []
    for value in values:
        if value is not None:
            urls.extend(s.url for s in value.sources if s.url not in urls)
    return tuple(urls)


def library_entry(protocol: Protocol, drug: str) -> LibraryEntry:
    cited = {
        "rate_hard_max_ml_per_h": protocol.max_rate_ml_per_h,
        "volume_ml": protocol.bag_volume_ml,
        "concentration_mg_per_ml": protocol.concentration_mg_per_ml,
        "drug_amount_mg": protocol.dose.mg,
        "dose_mg_per_m2": protocol.dose.mg_per_m2,
    }
    unverified = [name for name, value in cited.items() if value is not None and not value.verified]
    if not protocol.ladder.verified:
        unverified.append("steps")
    steps = tuple(
        LibraryStep(step=i, start_min=s.start_min, rate_ml_per_h=s.rate_ml_per_h)
        for i, s in enumerate(protocol.ladder.steps, start=1)
    )
    return LibraryEntry(
        protocol_id=protocol.id,
        protocol_version=protocol.version,
        library_drug_id=protocol.id,
        drug=drug,
        title=protocol.title,
        drug_amount_mg=None if protocol.dose.mg is None else protocol.dose.mg.value,
        dose_mg_per_m2=None if protocol.dose.mg_per_m2 is None else protocol.dose.mg_per_m2.value,
        diluent_volume_ml=protocol.bag_volume_ml.value,
        concentration_mg_per_ml=(
            None
            if protocol.concentration_mg_per_ml is None
            else protocol.concentration_mg_per_ml.value
        ),
        rate_hard_max_ml_per_h=protocol.max_rate_ml_per_h.value,
        volume_ml=protocol.bag_volume_ml.value,
        steps=steps,
        verified=not unverified,
        unverified=tuple(unverified),
        sources=_sources(*cited.values())
        + tuple(s.url for s in protocol.ladder.sources if s.url not in _sources(*cited.values())),
        requires_bsa=protocol.dose.is_bsa_based,
    )


def build_library(catalog: Catalog, *, refuse_unverified: bool = False) -> DrugLibrary:
    """Every protocol of ``catalog`` as a library entry; with ``refuse_unverified``, a
    ``CatalogError`` naming the protocols whose limits are not verified."""
    entries = tuple(
        library_entry(protocol, catalog.therapy_of(protocol).inn)
        for protocol in catalog.protocols()
    )
    flagged = [e for e in entries if not e.verified]
    if refuse_unverified and flagged:
        names = ", ".join(f"{e.protocol_id} ({', '.join(e.unverified)})" for e in flagged)
        raise CatalogError(f"unverified drug-library values: {names}", field="verified")
    return DrugLibrary(entries=entries)
