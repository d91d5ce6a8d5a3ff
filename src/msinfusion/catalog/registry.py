"""The loaded catalog: every shipped therapy, looked up by therapy or protocol id or name."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources

from msinfusion.catalog.loader import load_therapy_text
from msinfusion.catalog.model import Protocol, Therapy
from msinfusion.errors import CatalogError, ProtocolNotFound


@dataclass(frozen=True, slots=True)
class Catalog:
    therapies: tuple[Therapy, ...]

    @classmethod
    def from_therapies(cls, therapies: Iterable[Therapy]) -> Catalog:
        ordered = tuple(sorted(therapies, key=lambda t: t.id))
        seen: dict[str, str] = {}
        for therapy in ordered:
            for protocol in therapy.protocols:
                if protocol.id in seen:
                    raise CatalogError(
                        f"protocol id '{protocol.id}' is also defined in {seen[protocol.id]}",
                        file=therapy.file,
                        field=f"protocols[{protocol.id}].id",
                    )
                seen[protocol.id] = therapy.file
        return cls(ordered)

    def __iter__(self) -> Iterator[Therapy]:
        return iter(self.therapies)

    def protocols(self) -> Iterator[Protocol]:
        for therapy in self.therapies:
            yield from therapy.protocols

    def get_protocol(self, protocol_id: str) -> Protocol:
        for protocol in self.protocols():
            if protocol.id == protocol_id:
                return protocol
        known = ", ".join(p.id for p in self.protocols())
        raise ProtocolNotFound(
            f"unknown protocol id '{protocol_id}'; known ids: {known}", field="protocol_id"
        )

    def get_therapy(self, therapy_id: str) -> Therapy:
        for therapy in self.therapies:
            if therapy.id == therapy_id:
                return therapy
        raise ProtocolNotFound(f"unknown therapy id '{therapy_id}'", field="therapy_id")

    def therapy_of(self, protocol: Protocol) -> Therapy:
        return self.get_therapy(protocol.therapy_id)

    def find_therapies(self, name: str) -> tuple[Therapy, ...]:
        """Therapies whose INN, brand, alias or biosimilar name matches ``name`` (any case)."""
        wanted = name.strip().casefold()
        return tuple(t for t in self.therapies if wanted in (n.casefold() for n in t.names))


@cache
def shipped_catalog() -> Catalog:
    """The catalog shipped in ``msinfusion/catalog/data``, loaded and validated once."""
    data = resources.files("msinfusion.catalog").joinpath("data")
    therapies = [
        load_therapy_text(entry.read_text(encoding="utf-8"), file=entry.name)
        for entry in sorted(data.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".toml")
    ]
    return Catalog.from_therapies(therapies)
