"""``GET /fhir/metadata``: the CapabilityStatement, generated from the served resource table so
that it states exactly what is implemented: read and search-type, the search parameters and
``_include`` values per type, ``create`` of Observation (device input), the operations
``Patient/{id}/$everything`` and Bulk Data ``$export`` (system and Patient level)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from msinfusion import __version__
from msinfusion.adapters.fhir.codes import FHIR_VERSION
from msinfusion.adapters.fhir.common import JsonObject, instant, validated
from msinfusion.adapters.fhir.resources import ResourceType
from msinfusion.adapters.fhir.search import CONTROL

BULK_DATA = "http://hl7.org/fhir/uv/bulkdata"
"""The HL7 Bulk Data Access IG (https://hl7.org/fhir/uv/bulkdata/): its CapabilityStatement and
OperationDefinitions."""
CREATED = frozenset({"Observation"})
"""Types a client may create: a device's vital signs (docs/fhir.md "Input")."""
OPERATIONS: dict[str, list[dict[str, str]]] = {
    "Patient": [
        {
            "name": "everything",
            "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
        },
        {"name": "export", "definition": f"{BULK_DATA}/OperationDefinition/patient-export"},
    ]
}


def _resource(t: ResourceType) -> JsonObject:
    interactions = [{"code": "read"}, {"code": "search-type"}]
    if t.name in CREATED:
        interactions.append({"code": "create"})
    return {
        "type": t.name,
        "profile": t.profile,
        "documentation": t.documentation,
        "interaction": interactions,
        "versioning": "no-version",
        "readHistory": False,
        "updateCreate": False,
        "searchInclude": list(t.includes) or None,
        "searchParam": [
            {"name": p.name, "type": p.type, "documentation": p.documentation} for p in t.params
        ],
        "operation": OPERATIONS.get(t.name),
    }


def capability_statement(
    types: Mapping[str, ResourceType], *, base: str, at: datetime, title: str
) -> JsonObject:
    return validated(
        CapabilityStatement,
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": instant(at),
            "kind": "instance",
            "software": {"name": "msinfusion", "version": __version__},
            "implementation": {"description": f"{title}: FHIR R4 interface", "url": base},
            "instantiates": [f"{BULK_DATA}/CapabilityStatement/bulk-data"],
            "fhirVersion": FHIR_VERSION,
            "format": ["json", "application/fhir+json"],
            "rest": [
                {
                    "mode": "server",
                    "documentation": (
                        "Read and search; POST /fhir/Observation takes a device's vital signs "
                        "through the device feed. Search parameters: "
                        + ", ".join(sorted(CONTROL))
                        + " besides those listed per type; an unknown parameter is refused "
                        "(400). Errors are OperationOutcomes."
                    ),
                    "security": {
                        "cors": False,
                        "description": (
                            "Authorization: Bearer <msinfusion API token> (or a signed-in "
                            "browser session); the roles and permissions of the JSON API. "
                            "GET /fhir/metadata needs no sign-in."
                        ),
                    },
                    "resource": [_resource(t) for t in types.values()],
                    "operation": [
                        {"name": "export", "definition": f"{BULK_DATA}/OperationDefinition/export"}
                    ],
                }
            ],
        },
    )
