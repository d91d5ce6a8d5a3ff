"""What one served resource type is (``ResourceType``), and the search parameters and read
helpers the type table (``resources.py``, ``clinical_types.py``) shares."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from msinfusion.adapters.fhir import search as s
from msinfusion.adapters.fhir.common import JsonObject
from msinfusion.adapters.fhir.record import Record, SessionRecord
from msinfusion.application.permissions import Action
from msinfusion.errors import RecordNotFound, SessionNotFound

Fetch = Callable[[Record, s.Query], list[JsonObject]]
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Include:
    """An ``_include`` this type serves: ``Type:param`` -> the element and the target type."""

    field: str
    target: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceType:
    name: str
    profile: str
    params: tuple[s.SearchParam, ...]
    fetch: Fetch
    documentation: str
    actions: tuple[Action, ...]
    """The permissions a read needs (docs/fhir.md; checked by the use cases it calls)."""
    includes: Mapping[str, Include] = field(default_factory=dict)
    patient_param: str | None = None
    """The search parameter naming the patient: the type is in the Patient compartment
    (``$everything``, Patient-level ``$export``)."""


def id_param() -> s.SearchParam:
    return s.SearchParam(
        name="_id", type="token", documentation="The logical id.", values=s.token_id
    )


def patient_params(field_name: str) -> tuple[s.SearchParam, ...]:
    read = s.reference_to(field_name)
    return (
        s.SearchParam(name="patient", type="reference", documentation="The patient.", values=read),
        s.SearchParam(name="subject", type="reference", documentation="The patient.", values=read),
    )


def status_param() -> s.SearchParam:
    return s.SearchParam(
        name="status", type="token", documentation="The status.", values=s.token_field("status")
    )


def patient_hint(query: s.Query) -> str | None:
    """The one patient a query names in ``patient`` or ``subject`` (None: any or several)."""
    for name in ("patient", "subject"):
        wanted = query.values_of(name)
        if wanted is not None and len(wanted) == 1:
            return next(iter(wanted))
    return None


def session_of(resource_id: str, kinds: Iterable[str]) -> str:
    """The session an id of a session-derived resource belongs to."""
    pattern = re.compile(rf"^(?P<session>.+)-(?:{'|'.join(kinds)})-\d+$")
    match = pattern.match(resource_id)
    return resource_id if match is None else match["session"]


def sessions_for(record: Record, query: s.Query, kinds: Iterable[str]) -> list[SessionRecord]:
    """The sessions a query can match: those its ``_id`` values name, else one patient's."""
    ids = query.values_of("_id")
    if ids is not None:
        sessions = sorted({session_of(i, kinds) for i in ids})
        return list(found(record.session, sessions))
    return record.sessions(patient_id=patient_hint(query))


def found(read: Callable[[str], T], ids: Iterable[str]) -> Iterator[T]:
    """What exists of ``ids`` (a search for a missing id finds nothing)."""
    for i in ids:
        try:
            yield read(i)
        except (RecordNotFound, SessionNotFound):
            continue
