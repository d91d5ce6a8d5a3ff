"""The searchset Bundle: one page of the matches with its total and paging links, then the
resources ``_include`` added (search mode include)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from fhir.resources.R4B.bundle import Bundle

from msinfusion.adapters.fhir.common import JsonObject, validated
from msinfusion.adapters.fhir.search import Query


def page_of(found: Sequence[JsonObject], query: Query) -> Sequence[JsonObject]:
    return found[query.offset : query.offset + query.count]


def searchset(
    base: str,
    resource_type: str,
    found: Sequence[JsonObject],
    query: Query,
    *,
    included: Sequence[JsonObject] = (),
    path: str | None = None,
) -> JsonObject:
    """A searchset Bundle of one page of ``found`` with its total and paging links, then the
    ``included`` resources (search mode include); ``path`` the links' path (default the type)."""
    total = len(found)
    page = page_of(found, query)

    def url(offset: int) -> str:
        items = [*query.given, ("_count", str(query.count)), ("_offset", str(offset))]
        return f"{base}/{path or resource_type}?{urlencode(items)}"

    links = [{"relation": "self", "url": url(query.offset)}, {"relation": "first", "url": url(0)}]
    if query.count > 0:
        if query.offset > 0:
            links.append({"relation": "previous", "url": url(max(0, query.offset - query.count))})
        if query.offset + query.count < total:
            links.append({"relation": "next", "url": url(query.offset + query.count)})
        last = max(0, (total - 1) // query.count * query.count)
        links.append({"relation": "last", "url": url(last)})
    return validated(
        Bundle,
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": links,
            "entry": [
                *(
                    {
                        "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                        "resource": r,
                        "search": {"mode": "match"},
                    }
                    for r in page
                ),
                *(
                    {
                        "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                        "resource": r,
                        "search": {"mode": "include"},
                    }
                    for r in included
                ),
            ],
        },
    )
