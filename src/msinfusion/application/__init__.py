"""The service layer: use cases over ports, called by every adapter (CLI, web, HL7)."""

from __future__ import annotations

from msinfusion.application.sessions import SessionService

__all__ = ["SessionService"]
