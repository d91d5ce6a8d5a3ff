"""The web adapter: the FastAPI JSON API (``create_app``), auth, one error table to HTTP."""

from __future__ import annotations

from msinfusion.adapters.web.app import create_app
from msinfusion.adapters.web.settings import Settings

__all__ = ["Settings", "create_app"]
