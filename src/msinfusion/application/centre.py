"""The service layer assembled: every use case an adapter may call, over one unit-of-work factory.

Adapters (web, CLI) build one ``Centre`` at start-up and call nothing else of the application.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta, tzinfo

from msinfusion.application.accounts import Accounts, PasswordHasher
from msinfusion.application.alerts import AlertUseCases
from msinfusion.application.audit import Gate, UnitOfWorkFactory
from msinfusion.application.clinical_records import ClinicalRecords
from msinfusion.application.courses import CourseUseCases
from msinfusion.application.handlers import RecordHandlers
from msinfusion.application.live import LiveUpdates
from msinfusion.application.monitoring import DeviceFeed
from msinfusion.application.observations import JsonObservationCodec
from msinfusion.application.queries import CatalogQueries, RecordQueries
from msinfusion.application.rate_limit import SlidingWindowLimiter
from msinfusion.application.scheduling import SchedulingUseCases
from msinfusion.application.session_service import SessionService
from msinfusion.application.sessions import SessionUseCases
from msinfusion.catalog.registry import Catalog, shipped_catalog

LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_FAILURES_PER_USER_AND_ADDRESS = 5
LOGIN_FAILURES_PER_ADDRESS = 50


def random_id(prefix: str) -> str:
    """A new opaque record id, e.g. ``patient-3f2a9c1b0d4e4f6a``."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Centre:
    gate: Gate
    accounts: Accounts
    records: RecordHandlers
    queries: RecordQueries
    catalog: CatalogQueries
    sessions: SessionUseCases
    live: LiveUpdates
    courses: CourseUseCases
    scheduling: SchedulingUseCases
    monitoring: DeviceFeed
    alerts: AlertUseCases
    clinical: ClinicalRecords


def build_centre(
    uow_factory: UnitOfWorkFactory,
    *,
    hasher: PasswordHasher,
    session_service: SessionService,
    catalog: Catalog | None = None,
    new_id: Callable[[str], str] = random_id,
    login_limiter: SlidingWindowLimiter | None = None,
    address_limiter: SlidingWindowLimiter | None = None,
    live: LiveUpdates | None = None,
    centre_tz: tzinfo = UTC,
) -> Centre:
    """Every use case over ``uow_factory``; the limiters default to 5 (user + address) and 50
    (address) failed logins per 15 minutes. ``centre_tz`` decides the clinic day of a dose."""
    gate = Gate(uow_factory)
    shipped = catalog or shipped_catalog()
    updates = live or LiveUpdates()
    limiter = login_limiter or SlidingWindowLimiter(
        max_failures=LOGIN_FAILURES_PER_USER_AND_ADDRESS, window=LOGIN_WINDOW
    )
    per_address = address_limiter or SlidingWindowLimiter(
        max_failures=LOGIN_FAILURES_PER_ADDRESS, window=LOGIN_WINDOW
    )
    clinical = ClinicalRecords(gate, shipped, new_id=new_id, centre_tz=centre_tz)
    sessions = SessionUseCases(
        gate, session_service, new_id=new_id, live=updates, clinical=clinical
    )
    return Centre(
        gate=gate,
        accounts=Accounts(gate, hasher, limiter, address_limiter=per_address, new_id=new_id),
        records=RecordHandlers(gate, shipped, new_id=new_id, clinical=clinical),
        queries=RecordQueries(gate, session_service, shipped),
        catalog=CatalogQueries(gate, shipped),
        sessions=sessions,
        live=updates,
        courses=CourseUseCases(gate, clinical),
        scheduling=SchedulingUseCases(gate, shipped),
        monitoring=DeviceFeed(
            gate,
            session_service,
            live=updates,
            new_id=new_id,
            codecs=(JsonObservationCodec(),),
        ),
        alerts=AlertUseCases(gate, session_service, sessions),
        clinical=clinical,
    )
