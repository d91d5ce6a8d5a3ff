"""Shared fixtures: the shipped catalog and a raw, mutable copy of one therapy file."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from msinfusion.catalog import Catalog, Protocol, Therapy, shipped_catalog

# The shared assertion helpers report like test-module asserts do.
pytest.register_assert_rewrite("tests.catalog_walk")


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return shipped_catalog()


def raw_therapy(name: str = "ocrelizumab") -> dict[str, Any]:
    """A fresh, mutable dict of a shipped therapy file, for tests that break it on purpose."""
    text = resources.files("msinfusion.catalog").joinpath("data", f"{name}.toml").read_text()
    return tomllib.loads(text, parse_float=Decimal)


@pytest.fixture
def therapy(catalog: Catalog, request: pytest.FixtureRequest) -> Therapy:
    """The shipped therapy named by the requesting test module's ``THERAPY_ID``."""
    therapy_id: str = request.module.THERAPY_ID
    return catalog.get_therapy(therapy_id)


@pytest.fixture
def protocol(catalog: Catalog, request: pytest.FixtureRequest) -> Protocol:
    """The shipped protocol named by the requesting test module's ``PROTOCOL_ID``."""
    protocol_id: str = request.module.PROTOCOL_ID
    return catalog.get_protocol(protocol_id)
