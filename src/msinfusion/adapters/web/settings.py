"""Web server settings, read once at start-up (``MSINFUSION_*`` environment variables)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from msinfusion.application.schedule_day import MAX_NURSES
from msinfusion.session.charting import ChartingPolicy

PUMP_VOLUME_TOLERANCE_ML = Decimal("5")
"""UNVERIFIED: no source in /work/shared/reference gives a pump-versus-record volume threshold;
this default is a centre setting, shipped marked unverified (docs/pumps.md)."""
PUMP_VOLUME_TOLERANCE_VERIFIED = False

MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """``cookie_secure`` stays True outside tests: browsers also send Secure cookies to
    ``http://localhost``. ``centre_timezone`` is the clock the board and times are shown in."""

    centre_timezone: str = "UTC"
    database_url: str | None = None
    """SQLAlchemy URL, or ``"memory"``; None: ``MSINFUSION_DATABASE_URL``, else the SQLite file
    in the user's data directory (``adapters/storage/engine.py``)."""
    cookie_secure: bool = True
    session_idle: timedelta = timedelta(minutes=30)
    session_lifetime: timedelta = timedelta(hours=12)
    max_body_bytes: int = MAX_BODY_BYTES
    stream_max: timedelta = timedelta(minutes=5)
    """A live-update stream closes after this; EventSource reconnects with Last-Event-ID."""
    title: str = "msinfusion"
    schedule_max_time_limit_s: float = 30.0
    """The longest CP-SAT run a scheduling request may ask for (requests are capped to it)."""
    schedule_workers: int = 2
    """CP-SAT worker threads per scheduling request."""
    clock_future_tolerance: timedelta = timedelta(minutes=2)
    """How far ahead of its recording an entry's time may be (``clock-future`` beyond)."""
    late_entry_after: timedelta = timedelta(minutes=30)
    """An entry charted later than this after it happened is late: it needs a reason."""
    charting_reach_back: timedelta = timedelta(hours=24)
    """How far back an entry may be charted."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses (or CIDR networks) of reverse proxies whose ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` are believed; from nobody else. Empty: the peer address is the
    caller's (``MSINFUSION_TRUSTED_PROXIES``, comma-separated)."""
    api_docs: bool = True
    """Serve the interactive API docs at ``/api/docs`` (Swagger UI from the local
    ``swagger-ui-bundle`` package, nothing from outside); ``MSINFUSION_API_DOCS=0`` turns
    them off. ``/api/openapi.json`` is always served."""

    device_zones: tuple[tuple[str, str], ...] = ()
    """Per device or gateway (MSH-3 namespace, or ``namespace/universal id``): the time zone
    of its times that carry no UTC offset (when MSH-7 has none either); others use the centre's
    (``MSINFUSION_DEVICE_ZONES``: ``MON-A=Europe/Zurich,GW-2=Europe/Berlin``)."""
    device_chair_component: str = "bed"
    """The PV1-3 component that names the chair: ``bed`` (PV1-3.3), ``room`` (.2) or
    ``point-of-care`` (.1) (``MSINFUSION_DEVICE_CHAIR_COMPONENT``)."""
    jurisdiction: str | None = None
    """The centre's jurisdiction, ``US`` or ``EU`` (``MSINFUSION_JURISDICTION``): whose label
    and REMS rules the gates, calendars and limits follow for an order that names none (an
    order's own ``jurisdiction`` option wins). None: unknown - every rule applies, the
    strictest (TOUCH and SmPC gates alike). docs/clinical/therapy-rules.md."""

    nurses_on_duty: int = 2
    """Nurses on shift that the day plan (``/schedule``) assumes until its form says otherwise
    (``MSINFUSION_NURSES_ON_DUTY``, 1 to 200): a site setting, not a staffing rule."""

    opens: time = time(8, 0)
    closes: time = time(18, 0)
    """The centre's opening hours (``MSINFUSION_OPENS``, ``MSINFUSION_CLOSES``, ``HH:MM``
    local time): the booking page warns before opening and past closing, and the day plan
    solves within them. Site settings; the defaults are examples."""

    pump_gateway: str | None = None
    """``host:port`` of the pump vendor's IHE PIV gateway that takes PCD-03 orders
    (``MSINFUSION_PUMP_GATEWAY``); None: orders are queued and not sent (docs/pumps.md)."""
    pump_volume_tolerance_ml: Decimal | None = PUMP_VOLUME_TOLERANCE_ML
    """How far the pump's reported volume may differ from the record's before it is flagged
    (``MSINFUSION_PUMP_VOLUME_TOLERANCE_ML``; empty: not compared). UNVERIFIED default: the
    reference dossier gives no threshold, so 5 mL is a site setting to review, not a rule."""
    pump_refuse_unverified: bool = False
    """Refuse to send pump orders whose protocol limits are unverified
    (``MSINFUSION_PUMP_REFUSE_UNVERIFIED=1``); otherwise they are sent and flagged."""
    pumps: bool = False
    """``MSINFUSION_PUMPS=1`` (implied by ``MSINFUSION_PUMP_GATEWAY``): the centre says its
    chairs have smart pumps. Still accepted (a contract), but nothing depends on it: an order
    is stored in the nurse's own command transaction exactly when the session's chair has an
    associated pump, and a chair without one costs one indexed read (docs/pumps.md)."""

    idle_signout: timedelta = timedelta(minutes=15)
    """An open page with no key press, click or touch for this long signs out, after a
    warning a minute before (``MSINFUSION_IDLE_SIGNOUT_MIN``; 0 turns it off)."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.centre_timezone)

    @property
    def device_zone_map(self) -> dict[str, ZoneInfo]:
        return {sender: ZoneInfo(name) for sender, name in self.device_zones}

    @property
    def charting(self) -> ChartingPolicy:
        return ChartingPolicy(
            future_tolerance=self.clock_future_tolerance,
            late_after=self.late_entry_after,
            reach_back=self.charting_reach_back,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``MSINFUSION_TIMEZONE``, ``MSINFUSION_DATABASE_URL``,
        ``MSINFUSION_COOKIE_SECURE`` (0/1), ``MSINFUSION_SESSION_IDLE_MIN``,
        ``MSINFUSION_TRUSTED_PROXIES`` (comma-separated addresses or networks),
        ``MSINFUSION_API_DOCS`` (0/1), ``MSINFUSION_DEVICE_ZONES``,
        ``MSINFUSION_DEVICE_CHAIR_COMPONENT``, ``MSINFUSION_JURISDICTION`` (US/EU, unset:
        unknown), ``MSINFUSION_IDLE_SIGNOUT_MIN``, ``MSINFUSION_NURSES_ON_DUTY``,
        ``MSINFUSION_OPENS``/``MSINFUSION_CLOSES``; defaults otherwise."""
        values = os.environ if env is None else env
        settings = cls(
            trusted_proxies=parse_trusted_proxies(values.get("MSINFUSION_TRUSTED_PROXIES", "")),
            api_docs=values.get("MSINFUSION_API_DOCS", "1") != "0",
            centre_timezone=values.get("MSINFUSION_TIMEZONE", "UTC"),
            database_url=values.get("MSINFUSION_DATABASE_URL") or None,
            cookie_secure=values.get("MSINFUSION_COOKIE_SECURE", "1") != "0",
            session_idle=timedelta(minutes=int(values.get("MSINFUSION_SESSION_IDLE_MIN", "30"))),
            clock_future_tolerance=timedelta(
                seconds=int(values.get("MSINFUSION_CLOCK_FUTURE_TOLERANCE_S", "120"))
            ),
            late_entry_after=timedelta(
                minutes=int(values.get("MSINFUSION_LATE_ENTRY_AFTER_MIN", "30"))
            ),
            charting_reach_back=timedelta(
                hours=int(values.get("MSINFUSION_CHARTING_REACH_BACK_H", "24"))
            ),
            device_zones=parse_device_zones(values.get("MSINFUSION_DEVICE_ZONES", "")),
            device_chair_component=values.get("MSINFUSION_DEVICE_CHAIR_COMPONENT", "bed"),
            jurisdiction=parse_jurisdiction(values.get("MSINFUSION_JURISDICTION", "")),
            idle_signout=timedelta(minutes=int(values.get("MSINFUSION_IDLE_SIGNOUT_MIN", "15"))),
            nurses_on_duty=int(values.get("MSINFUSION_NURSES_ON_DUTY", "2")),
            opens=parse_clock(values.get("MSINFUSION_OPENS", "08:00"), "MSINFUSION_OPENS"),
            closes=parse_clock(values.get("MSINFUSION_CLOSES", "18:00"), "MSINFUSION_CLOSES"),
            pump_gateway=values.get("MSINFUSION_PUMP_GATEWAY") or None,
            pump_volume_tolerance_ml=parse_tolerance(
                values.get("MSINFUSION_PUMP_VOLUME_TOLERANCE_ML", str(PUMP_VOLUME_TOLERANCE_ML))
            ),
            pump_refuse_unverified=values.get("MSINFUSION_PUMP_REFUSE_UNVERIFIED", "0") == "1",
            pumps=values.get("MSINFUSION_PUMPS", "0") == "1"
            or bool(values.get("MSINFUSION_PUMP_GATEWAY")),
        )
        if settings.opens >= settings.closes:
            raise ValueError("MSINFUSION_CLOSES: must be after MSINFUSION_OPENS")
        if not 1 <= settings.nurses_on_duty <= MAX_NURSES:
            raise ValueError(f"MSINFUSION_NURSES_ON_DUTY: must be a whole number 1 to {MAX_NURSES}")
        if settings.device_chair_component not in DEVICE_CHAIR_COMPONENTS:
            raise ValueError(
                "MSINFUSION_DEVICE_CHAIR_COMPONENT: must be one of "
                f"{', '.join(DEVICE_CHAIR_COMPONENTS)}"
            )
        try:
            settings.zone  # noqa: B018  # fail at start-up, not on the first request
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f"MSINFUSION_TIMEZONE: unknown time zone {settings.centre_timezone!r}"
            ) from error
        return settings


DEVICE_CHAIR_COMPONENTS = ("bed", "room", "point-of-care")
JURISDICTIONS = ("US", "EU")


def parse_clock(text: str, name: str) -> time:
    """``"07:30"`` → 07:30; ValueError naming the variable otherwise.

    >>> parse_clock("07:30", "MSINFUSION_OPENS")
    datetime.time(7, 30)
    """
    try:
        hours, minutes = text.strip().split(":")
        if len(hours) != 2 or len(minutes) != 2:  # HH:MM
            raise ValueError(text)
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a time of day HH:MM") from None


def parse_jurisdiction(text: str) -> str | None:
    """``"eu"`` → ``"EU"``; empty → None (unknown: the strictest rules); ValueError otherwise.

    >>> parse_jurisdiction(" us "), parse_jurisdiction("")
    ('US', None)
    """
    value = text.strip().upper()
    if not value:
        return None
    if value not in JURISDICTIONS:
        raise ValueError(
            f"MSINFUSION_JURISDICTION: {text!r} is not US or EU (unset: unknown, the strictest)"
        )
    return value


def parse_device_zones(text: str) -> tuple[tuple[str, str], ...]:
    """``"MON-A=Europe/Zurich, GW-2=UTC"`` → the pairs; ValueError on an unknown zone.

    >>> parse_device_zones("MON-A=Europe/Zurich, GW-2=UTC,")
    (('MON-A', 'Europe/Zurich'), ('GW-2', 'UTC'))
    """
    found = []
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        sender, _, name = part.partition("=")
        try:
            ZoneInfo(name.strip())
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f"MSINFUSION_DEVICE_ZONES: {part!r} is not SENDER=<IANA time zone>"
            ) from error
        if not sender.strip():
            raise ValueError(f"MSINFUSION_DEVICE_ZONES: {part!r} names no sender")
        found.append((sender.strip(), name.strip()))
    return tuple(found)


def parse_trusted_proxies(text: str) -> tuple[str, ...]:
    """``"10.0.0.2, 192.168.0.0/16"`` → the addresses and networks; ValueError on a bad one.

    >>> parse_trusted_proxies(" 10.0.0.2, 192.168.0.0/16 ,")
    ('10.0.0.2', '192.168.0.0/16')
    """
    found = tuple(part.strip() for part in text.replace(";", ",").split(",") if part.strip())
    for part in found:
        try:
            ipaddress.ip_network(part, strict=False)
        except ValueError as error:
            raise ValueError(
                f"MSINFUSION_TRUSTED_PROXIES: {part!r} is not an IP address or network"
            ) from error
    return found


def parse_tolerance(text: str) -> Decimal | None:
    """``MSINFUSION_PUMP_VOLUME_TOLERANCE_ML``: mL, zero or more; empty: not compared."""
    if not text.strip():
        return None
    try:
        value = Decimal(text.strip())
    except ArithmeticError:
        raise ValueError("MSINFUSION_PUMP_VOLUME_TOLERANCE_ML: must be a number of mL") from None
    if not value.is_finite() or value < 0:
        raise ValueError("MSINFUSION_PUMP_VOLUME_TOLERANCE_ML: must be zero or more")
    return value
