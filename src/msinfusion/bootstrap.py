"""The composition root: the only module that knows every concrete adapter.

Nothing happens at import; callers ask for what they need::

    >>> factory = build_unit_of_work_factory("memory")
    >>> with factory() as uow:
    ...     uow.events.version("session-1")
    0

``build_centre(settings)`` wires the whole service layer: units of work on
``settings.database_url`` (``MSINFUSION_DATABASE_URL``, else the SQLite file in the user's data
directory; ``"memory"`` for a fresh in-memory database), the shipped catalog, argon2 password
hashing, the system clock, login limits, the message bus with its notice handlers, the live
updates (relayed over PostgreSQL LISTEN/NOTIFY when the database is PostgreSQL) and the device
codecs (JSON and HL7 PCD-01). Tests and tools pass their own unit-of-work factory, hasher or
clock; nothing falls back silently. ``adapters.web.create_app(centre, settings=...)`` only
adapts what this builds.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from msinfusion.adapters.hl7.codec import Pcd01Codec
from msinfusion.adapters.pumps.pcd03 import Pcd03Writer
from msinfusion.adapters.pumps.pcd10 import Pcd10Codec
from msinfusion.adapters.web.passwords import Argon2Hasher
from msinfusion.adapters.web.settings import Settings
from msinfusion.application.accounts import Accounts, PasswordHasher, Principal
from msinfusion.application.alerts import AlertUseCases
from msinfusion.application.audit import AuditedAccess
from msinfusion.application.browser_sessions import BrowserSessions
from msinfusion.application.bus import MessageBus, SessionCommitted
from msinfusion.application.centre import Centre
from msinfusion.application.clinical_records import ClinicalRecords
from msinfusion.application.courses import CourseUseCases
from msinfusion.application.fakes import InMemoryDatabase, InMemoryUnitOfWork
from msinfusion.application.ledger import LedgerUseCases
from msinfusion.application.live import LiveUpdates
from msinfusion.application.monitoring import DeviceFeed
from msinfusion.application.notices import register_notice_handlers
from msinfusion.application.observations import JsonObservationCodec
from msinfusion.application.ports import Clock, UnitOfWork
from msinfusion.application.principal_cache import PrincipalCache
from msinfusion.application.pump_dispatch import PumpDispatcher
from msinfusion.application.pump_feed import PumpFeed
from msinfusion.application.pump_orders import PumpOrders
from msinfusion.application.queries import CatalogQueries, RecordQueries
from msinfusion.application.rate_limit import LoginThrottle
from msinfusion.application.record_keeping import RecordKeeping
from msinfusion.application.scheduling import SchedulingUseCases
from msinfusion.application.session_streams import SessionStreams
from msinfusion.application.sessions import SessionService, SessionUseCases
from msinfusion.application.tdm import TdmUseCases
from msinfusion.application.worklist import WorklistUseCases
from msinfusion.catalog.registry import Catalog, shipped_catalog

MEMORY = "memory"
"""The ``url`` that selects the in-memory store."""

UnitOfWorkFactory = Callable[[], UnitOfWork]

LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_FAILURES_PER_USER_AND_ADDRESS = 5
LOGIN_FAILURES_PER_ADDRESS = 50
LOGIN_FAILURES_PER_ACCOUNT = 100
"""NIST SP 800-63B 5.2.2: no more than 100 consecutive failed attempts on one account."""


def system_clock() -> datetime:
    """The one real clock (UTC); everything else is handed a ``Clock``."""
    return datetime.now(UTC)


def random_id(prefix: str) -> str:
    """A new opaque record id, e.g. ``patient-3f2a9c1b0d4e4f6a``."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def build_unit_of_work_factory(
    url: str | None = None, *, migrate: bool = True
) -> UnitOfWorkFactory:
    """Units of work on ``url`` (see the module docstring); SQL imports happen only here."""
    if url == MEMORY:
        return functools.partial(InMemoryUnitOfWork, InMemoryDatabase())
    # Imported here so that commands without a database never pay for SQLAlchemy's import.
    from msinfusion.adapters.storage import (  # noqa: PLC0415
        create_engine_for,
        sql_unit_of_work_factory,
        upgrade,
    )

    engine = create_engine_for(url)
    if migrate:
        upgrade(engine)
    return sql_unit_of_work_factory(engine)


def build_session_service(
    url: str | None = None, *, catalog: Catalog | None = None, migrate: bool = True
) -> SessionService:
    """The actor-less session engine stored at ``url`` (``session replay``, tools)."""
    return SessionService(
        catalog or shipped_catalog(), unit_of_work=build_unit_of_work_factory(url, migrate=migrate)
    )


def build_live_updates(url: str | None = None) -> LiveUpdates:
    """The live-update broadcaster for a server on ``url``; on PostgreSQL it is relayed to every
    other server process on the same database (LISTEN/NOTIFY), elsewhere it is in-process."""
    live = LiveUpdates()
    if url == MEMORY:
        return live
    from msinfusion.adapters.storage.engine import database_url  # noqa: PLC0415

    resolved = url or database_url()
    if resolved.startswith("postgresql"):
        from msinfusion.adapters.storage.live_relay import connect_live_updates  # noqa: PLC0415

        connect_live_updates(resolved, live)
    return live


def build_pumps(
    settings: Settings,
    access: AuditedAccess,
    sessions: SessionUseCases,
    bus: MessageBus,
    *,
    new_id: Callable[[str], str],
    clock: Clock,
) -> tuple[PumpOrders, PumpFeed, PumpDispatcher]:
    """The smart-pump interface (docs/pumps.md): PCD-03 orders stored in the nurse's command
    transaction (a projector: a chair without a pump costs one indexed read, whatever
    ``settings.pumps`` says), sent by the dispatcher to ``settings.pump_gateway`` (none:
    queued only); PCD-10 events in."""
    gateway = None
    if settings.pump_gateway:
        from msinfusion.adapters.pumps.link import MllpPumpGateway  # noqa: PLC0415 - asyncio

        host, _, port = settings.pump_gateway.rpartition(":")
        gateway = MllpPumpGateway(host or "127.0.0.1", int(port))
    streams = sessions.streams
    orders = PumpOrders(
        access,
        streams,
        writer=Pcd03Writer(),
        gateway=gateway,
        refuse_unverified=settings.pump_refuse_unverified,
    )
    sessions.add_projector(orders.project)
    dispatcher = PumpDispatcher(orders, clock)
    bus.subscribe(SessionCommitted, dispatcher.on_committed)
    tolerance = settings.pump_volume_tolerance_ml
    feed = PumpFeed(
        access,
        streams,
        bus=bus,
        codec=Pcd10Codec(),
        new_id=new_id,
        volume_tolerance_ml=None if tolerance is None else Fraction(tolerance),
    )
    return orders, feed, dispatcher


def build_centre(
    settings: Settings,
    *,
    uow_factory: UnitOfWorkFactory | None = None,
    hasher: PasswordHasher | None = None,
    clock: Clock = system_clock,
    catalog: Catalog | None = None,
    new_id: Callable[[str], str] = random_id,
    login_throttle: LoginThrottle | None = None,
    live: LiveUpdates | None = None,
    token_cache: PrincipalCache[Principal] | None = None,
) -> Centre:
    """Every use case, wired once (see the module docstring). The login throttle defaults to 5
    (user + address), 50 (address) and 100 (account) failed logins per 15 minutes;
    ``settings.zone`` decides the clinic day of a dose; ``settings.jurisdiction`` (US, EU or
    unknown) whose rules course checks follow; browser sessions are stored with the
    rest and end after ``settings.session_idle`` / ``session_lifetime``."""
    factory = uow_factory or build_unit_of_work_factory(settings.database_url)
    protocols = catalog or shipped_catalog()
    updates = live or (
        LiveUpdates() if uow_factory is not None else build_live_updates(settings.database_url)
    )
    bus = MessageBus()
    escalations = register_notice_handlers(bus, updates)
    access = AuditedAccess(factory)
    streams = SessionStreams(protocols, policy=settings.charting)
    throttle = login_throttle or LoginThrottle(
        per_account_and_address=LOGIN_FAILURES_PER_USER_AND_ADDRESS,
        per_address=LOGIN_FAILURES_PER_ADDRESS,
        per_account=LOGIN_FAILURES_PER_ACCOUNT,
        window=LOGIN_WINDOW,
    )
    clinical = ClinicalRecords(
        access,
        protocols,
        new_id=new_id,
        centre_tz=settings.zone,
        jurisdiction=settings.jurisdiction,
    )
    sessions = SessionUseCases(access, streams, new_id=new_id, bus=bus, clinical=clinical)
    accounts = Accounts(
        access, hasher or Argon2Hasher(), throttle, new_id=new_id, token_cache=token_cache
    )
    pump_orders, pump_feed, pump_dispatcher = build_pumps(
        settings, access, sessions, bus, new_id=new_id, clock=clock
    )
    return Centre(
        pump_orders=pump_orders,
        pump_feed=pump_feed,
        pump_dispatcher=pump_dispatcher,
        escalations=escalations,
        access=access,
        clock=clock,
        accounts=accounts,
        browser_sessions=BrowserSessions(
            factory, idle=settings.session_idle, lifetime=settings.session_lifetime
        ),
        records=RecordKeeping(
            access,
            protocols,
            new_id=new_id,
            clinical=clinical,
            streams=streams,
            confirm_password=accounts.confirm_password,
        ),
        queries=RecordQueries(access, streams, protocols),
        catalog=CatalogQueries(access, protocols),
        sessions=sessions,
        bus=bus,
        live=updates,
        courses=CourseUseCases(access, clinical, jurisdiction=settings.jurisdiction),
        scheduling=SchedulingUseCases(access, protocols),
        monitoring=DeviceFeed(
            access,
            streams,
            bus=bus,
            new_id=new_id,
            codecs=(
                JsonObservationCodec(),
                Pcd01Codec(
                    zones=settings.device_zone_map,
                    default_zone=settings.zone,
                    chair_component=settings.device_chair_component,
                ),
            ),
        ),
        alerts=AlertUseCases(access, sessions),
        clinical=clinical,
        worklist=WorklistUseCases(access, clinical, protocols, new_id=new_id),
        ledger=LedgerUseCases(access, clinical),
        tdm=TdmUseCases(access, protocols, new_id=new_id, centre_tz=settings.zone),
    )
