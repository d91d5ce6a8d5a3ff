"""One seeded FHIR world per test module (read-only tests share it)."""

from __future__ import annotations

import pytest

from tests.e2e.fhir.world import FhirWorld, build_fhir_world


@pytest.fixture(scope="module")
def fhir_world() -> FhirWorld:
    return build_fhir_world()
