"""Shared fixtures: the shipped catalog and a raw, mutable copy of one therapy file."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from msinfusion.catalog import Catalog, shipped_catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return shipped_catalog()


def raw_therapy(name: str = "ocrelizumab") -> dict[str, Any]:
    """A fresh, mutable dict of a shipped therapy file, for tests that break it on purpose."""
    text = resources.files("msinfusion.catalog").joinpath("data", f"{name}.toml").read_text()
    return tomllib.loads(text, parse_float=Decimal)
