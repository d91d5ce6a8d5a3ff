"""Upcasters: read events stored under an older schema version as the current version.

Stored events are never rewritten. On read, a payload of ``(type, version)`` passes through the
chain of upcasters registered here until it reaches the class's current ``VERSION``. Each upcaster
is a pure function from one payload dict to the next version's payload dict.

Example: ``VitalsRecorded`` v1 stored the temperature in degrees Fahrenheit as ``temperature_f``;
v2 stores ``temperature_c`` = (F - 32) x 5/9, exactly, as a fraction. v3 adds ``consciousness``
and ``supplemental_oxygen``; an older set did not record them, so they read as ``None`` (not
observed: NEWS2 stays incomplete rather than assuming "alert, on air"). Every event then gained
``recorded_at`` (v2; ``VitalsRecorded`` v4): an older event was recorded as it arrived, so it
reads with ``recorded_at = at``. ``VitalsRecorded`` v5 adds ``mean_arterial_mmhg``; a set
stored before it kept no mean arterial pressure, so it reads as ``None`` (not measured).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from msinfusion.errors import InvalidEvent
from msinfusion.session.events import EVENT_TYPES

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


def _vitals_v1_to_v2(payload: Payload) -> Payload:
    upgraded = {k: v for k, v in payload.items() if k != "temperature_f"}
    fahrenheit = payload.get("temperature_f")
    upgraded["temperature_c"] = (
        None if fahrenheit is None else str((Fraction(str(fahrenheit)) - 32) * Fraction(5, 9))
    )
    upgraded["version"] = 2
    return upgraded


def _vitals_v2_to_v3(payload: Payload) -> Payload:
    upgraded = dict(payload)
    upgraded.setdefault("consciousness", None)
    upgraded.setdefault("supplemental_oxygen", None)
    upgraded["version"] = 3
    return upgraded


def _vitals_v4_to_v5(payload: Payload) -> Payload:
    upgraded = dict(payload)
    upgraded.setdefault("mean_arterial_mmhg", None)
    upgraded["version"] = 5
    return upgraded


def _recorded_at(payload: Payload) -> Payload:
    """Events before the two-time schema were recorded when they happened (in arrival order)."""
    upgraded = dict(payload)
    upgraded.setdefault("recorded_at", payload.get("at"))
    upgraded["version"] = int(payload["version"]) + 1
    return upgraded


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("VitalsRecorded", 1): _vitals_v1_to_v2,
    ("VitalsRecorded", 2): _vitals_v2_to_v3,
    ("VitalsRecorded", 3): _recorded_at,
    ("VitalsRecorded", 4): _vitals_v4_to_v5,
    **{(name, 1): _recorded_at for name in EVENT_TYPES if name != "VitalsRecorded"},
}


def upcast(payload: Payload) -> Payload:
    """Bring a stored event payload (with ``type`` and ``version`` keys) to its current version."""
    name = payload.get("type")
    if not isinstance(name, str) or name not in EVENT_TYPES:
        raise InvalidEvent(f"unknown event type {name!r}", field="type")
    current = EVENT_TYPES[name].VERSION
    version = payload.get("version", 1)
    if not isinstance(version, int) or version < 1 or version > current:
        raise InvalidEvent(f"{name} has unsupported schema version {version!r}", field="version")
    while version < current:
        step = UPCASTERS.get((name, version))
        if step is None:
            raise InvalidEvent(f"no upcaster for {name} v{version}", field="version")
        payload = step(payload)
        version = payload["version"]
    return payload
