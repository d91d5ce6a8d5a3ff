"""The service layer assembled: every use case an adapter may call.

``bootstrap.build_centre`` builds the one ``Centre`` of a process; adapters (web, CLI, HL7)
call nothing else of the application. ``clock`` is the centre's clock port: adapters stamp each
request's ``Actor.at`` from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from msinfusion.application.accounts import Accounts
from msinfusion.application.alerts import AlertUseCases
from msinfusion.application.audit import AuditedAccess
from msinfusion.application.browser_sessions import BrowserSessions
from msinfusion.application.bus import MessageBus
from msinfusion.application.clinical_records import ClinicalRecords
from msinfusion.application.courses import CourseUseCases
from msinfusion.application.ledger import LedgerUseCases
from msinfusion.application.live import LiveUpdates
from msinfusion.application.monitoring import DeviceFeed
from msinfusion.application.notices import EscalationWatch
from msinfusion.application.ports import Clock
from msinfusion.application.pump_dispatch import PumpDispatcher
from msinfusion.application.pump_feed import PumpFeed
from msinfusion.application.pump_orders import PumpOrders
from msinfusion.application.queries import CatalogQueries, RecordQueries
from msinfusion.application.record_keeping import RecordKeeping
from msinfusion.application.scheduling import SchedulingUseCases
from msinfusion.application.sessions import SessionUseCases
from msinfusion.application.tdm import TdmUseCases
from msinfusion.application.worklist import WorklistUseCases


@dataclass(frozen=True, slots=True, kw_only=True)
class Centre:
    access: AuditedAccess
    clock: Clock
    accounts: Accounts
    browser_sessions: BrowserSessions
    records: RecordKeeping
    queries: RecordQueries
    catalog: CatalogQueries
    sessions: SessionUseCases
    bus: MessageBus
    live: LiveUpdates
    courses: CourseUseCases
    scheduling: SchedulingUseCases
    monitoring: DeviceFeed
    alerts: AlertUseCases
    clinical: ClinicalRecords
    tdm: TdmUseCases
    escalations: EscalationWatch
    worklist: WorklistUseCases
    """The centre worklist: open actions across patients, assignments."""
    ledger: LedgerUseCases
    """The REMS / TOUCH ledger per patient."""

    pump_orders: PumpOrders
    """Pump associations and the PCD-03 order outbox (``application/pump_orders.py``)."""
    pump_feed: PumpFeed
    """PCD-10 pump events in (``application/pump_feed.py``)."""
    pump_dispatcher: PumpDispatcher
    """Sends the order outbox off the request path (``application/pump_dispatch.py``); the web
    server's lifespan and ``pumps listen`` start it when a gateway is set."""
    """Pushes an escalation for every alert left unacknowledged; a server runs it
    (``entrypoints.server_cli.build_server_centre``), otherwise it checks on each commit."""
