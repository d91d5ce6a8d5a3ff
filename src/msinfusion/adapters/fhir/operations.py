"""Searches beyond one type: ``_include`` and ``Patient/{id}/$everything``.

* ``_include=MedicationAdministration:request`` adds the MedicationRequest each administration
  of the page was given under; ``MedicationAdministration:patient`` (or ``:subject``) its
  Patient. Included resources follow the matches with search mode ``include``, once each, and
  are read with the reader's own permissions (a role that may not read orders gets 403).
* ``$everything``: the Patient and every resource of the Patient compartment served here
  (types with a ``patient`` search parameter), in type-table order, as one searchset Bundle
  paged by ``_count``/``_offset`` (https://hl7.org/fhir/R4/patient-operation-everything.html;
  ``start``, ``end``, ``_since`` and ``_type`` are not supported and refused with 400).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import tzinfo

from msinfusion.adapters.fhir.common import JsonObject
from msinfusion.adapters.fhir.record import Record
from msinfusion.adapters.fhir.resource_kind import ResourceType
from msinfusion.adapters.fhir.search import Query, matches, parse_query, reference_to


def read_ids(
    kind: ResourceType, record: Record, ids: Sequence[str], zone: tzinfo
) -> list[JsonObject]:
    """The resources of ``kind`` with these ids (missing ones are left out)."""
    if not ids:
        return []
    query = parse_query([("_id", ",".join(ids))], kind.params, zone)
    wanted = set(ids)
    return [r for r in kind.fetch(record, query) if r["id"] in wanted and matches(query, r)]


def included(
    types: Mapping[str, ResourceType],
    kind: ResourceType,
    record: Record,
    *,
    page: Sequence[JsonObject],
    query: Query,
    zone: tzinfo,
) -> list[JsonObject]:
    """What the query's ``_include`` values add to ``page``, once each."""
    wanted: dict[str, list[str]] = {}
    for name in query.includes:
        include = kind.includes[name]
        for resource in page:
            for ref in reference_to(include.field)(resource):
                target, _, target_id = ref.rpartition("/")
                if target.rsplit("/", 1)[-1] != include.target:
                    continue
                listed = wanted.setdefault(include.target, [])
                if target_id not in listed:
                    listed.append(target_id)
    found: list[JsonObject] = []
    for target, ids in wanted.items():
        found.extend(read_ids(types[target], record, ids, zone))
    return found


def compartment(
    types: Mapping[str, ResourceType], record: Record, patient_id: str, zone: tzinfo
) -> list[JsonObject]:
    """The Patient and everything of its compartment (``RecordNotFound`` if no such patient)."""
    patient_kind = types["Patient"]
    record.patient(patient_id)  # 404 for an unknown patient, with its audit entry
    result = read_ids(patient_kind, record, [patient_id], zone)
    for kind in types.values():
        if kind.patient_param is None or kind.name == "Patient":
            continue
        query = parse_query([(kind.patient_param, patient_id)], kind.params, zone)
        result.extend(r for r in kind.fetch(record, query) if matches(query, r))
    return result
