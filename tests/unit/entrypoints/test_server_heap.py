"""``msinfusion serve`` freezes what startup built before it serves (issue 22): a full garbage
collection then no longer walks the app, catalog and engine while requests wait."""

from __future__ import annotations

import gc
from types import SimpleNamespace
from typing import Any, cast

import pytest
import uvicorn

from msinfusion.entrypoints import server_cli


def test_the_server_freezes_its_startup_heap_before_serving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen_when_served: list[int] = []

    def run(app: object, **_: object) -> None:
        frozen_when_served.append(gc.get_freeze_count())

    monkeypatch.setattr(uvicorn, "run", run)
    gc.unfreeze()
    settings = cast(Any, SimpleNamespace(trusted_proxies=()))
    try:
        server_cli._run(cast(Any, object()), "127.0.0.1", 8000, settings)
    finally:
        gc.unfreeze()
    assert len(frozen_when_served) == 1
    assert frozen_when_served[0] > 1000  # the interpreter's and the test's objects at least
