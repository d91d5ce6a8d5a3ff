"""``GET /fhir/metadata``: the CapabilityStatement, generated from the served resource table so
that it states exactly what is implemented (read and search-type, the search parameters)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from msinfusion import __version__
from msinfusion.adapters.fhir.codes import FHIR_VERSION
from msinfusion.adapters.fhir.common import JsonObject, instant, validated
from msinfusion.adapters.fhir.resources import ResourceType
from msinfusion.adapters.fhir.search import CONTROL


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
            "fhirVersion": FHIR_VERSION,
            "format": ["json", "application/fhir+json"],
            "rest": [
                {
                    "mode": "server",
                    "documentation": (
                        "Read-only. Search parameters: "
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
                    "resource": [
                        {
                            "type": t.name,
                            "profile": t.profile,
                            "documentation": t.documentation,
                            "interaction": [{"code": "read"}, {"code": "search-type"}],
                            "versioning": "no-version",
                            "readHistory": False,
                            "updateCreate": False,
                            "searchParam": [
                                {"name": p.name, "type": p.type, "documentation": p.documentation}
                                for p in t.params
                            ],
                        }
                        for t in types.values()
                    ],
                }
            ],
        },
    )
