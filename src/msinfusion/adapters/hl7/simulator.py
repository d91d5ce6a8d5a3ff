"""Simulated bedside monitors: synthetic, seeded vital-sign streams sent as PCD-01 over MLLP.

For demos and load tests only — every value is synthetic. Each monitor has its own resting
values (drawn once from its seed) plus small noise per reading. From ``reaction_at_min`` on, a
monitor plays an infusion-reaction pattern over ``REACTION_RAMP_MIN`` minutes: systolic
pressure falls by 35 mmHg, heart rate rises by 40 /min, temperature by 1.6 C and SpO2 falls by
3 % — enough to cross the NEWS2 bands the alert rules watch (``monitoring.news2``), so the
pattern raises alerts within the ramp. These offsets are demo choices, not clinical data.

Times are the wall clock (the session engine refuses readings older than its last event).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from msinfusion.adapters.hl7.hl7_time import hl7_time
from msinfusion.adapters.hl7.mllp import END_BLOCK, frame, unframe
from msinfusion.application.ports import Clock

REACTION_RAMP_MIN = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Monitor:
    """One simulated monitor at a chair (``bed`` = PV1-3.3) for ``patient_id`` (PID-3)."""

    bed: str
    patient_id: str | None = None
    serial: str = "0000000000000000"


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    heart_rate_bpm: int
    spo2_pct: int
    systolic_mmhg: int
    diastolic_mmhg: int
    respiratory_rate_per_min: int
    temperature_c: Decimal


@dataclass(slots=True)
class VitalStream:
    """Readings for one monitor; ``reading(minute)`` is deterministic for a seed and minute."""

    seed: int
    reaction_at_min: float | None = None
    _rest: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self._rest = {
            "hr": rng.uniform(62, 82),
            "spo2": rng.uniform(96, 99),
            "sys": rng.uniform(112, 132),
            "dia": rng.uniform(66, 80),
            "rr": rng.uniform(12, 17),
            "temp": rng.uniform(36.4, 36.9),
        }

    def _reaction(self, minute: float) -> float:
        if self.reaction_at_min is None or minute < self.reaction_at_min:
            return 0.0
        return min(1.0, (minute - self.reaction_at_min) / REACTION_RAMP_MIN)

    def reading(self, minute: float) -> Reading:
        rng = random.Random(f"{self.seed}:{minute:.4f}")
        k, rest = self._reaction(minute), self._rest

        def noisy(name: str, spread: float, shift: float) -> float:
            return rest[name] + shift * k + rng.gauss(0, spread)

        systolic = round(noisy("sys", 2.0, -35))
        return Reading(
            heart_rate_bpm=round(noisy("hr", 1.5, 40)),
            spo2_pct=min(100, round(noisy("spo2", 0.4, -3))),
            systolic_mmhg=systolic,
            diastolic_mmhg=min(systolic - 10, round(noisy("dia", 1.5, -15))),
            respiratory_rate_per_min=round(noisy("rr", 0.5, 4)),
            temperature_c=Decimal(str(round(noisy("temp", 0.03, 1.6), 1))),
        )


_BPM, _PCT, _MMHG = (
    "264864^MDC_DIM_BEAT_PER_MIN^MDC",
    "262688^MDC_DIM_PERCENT^MDC",
    "266016^MDC_DIM_MMHG^MDC",
)
_RESP = "264928^MDC_DIM_RESP_PER_MIN^MDC"
_OBSERVATIONS = (
    ("147842^MDC_ECG_HEART_RATE^MDC", "1.1.1.1", "heart_rate_bpm", _BPM),
    ("150456^MDC_PULS_OXIM_SAT_O2^MDC", "1.2.1.1", "spo2_pct", _PCT),
    ("150021^MDC_PRESS_BLD_NONINV_SYS^MDC", "1.3.1.1", "systolic_mmhg", _MMHG),
    ("150022^MDC_PRESS_BLD_NONINV_DIA^MDC", "1.3.1.2", "diastolic_mmhg", _MMHG),
    ("151562^MDC_RESP_RATE^MDC", "1.4.1.1", "respiratory_rate_per_min", _RESP),
    ("150364^MDC_TEMP_BODY^MDC", "1.5.1.1", "temperature_c", "268192^MDC_DIM_DEGC^MDC"),
)  # fmt: skip
"""(OBX-3, OBX-4 containment, Reading field, OBX-6): the rows of dossier 5.1's example."""


def pcd01_message(monitor: Monitor, reading: Reading, *, control_id: str, at: datetime) -> str:
    """An IHE PCD-01 ORU^R01 like the dossier's example (5.1), with this reading."""
    stamp = hl7_time(at)
    sender = f"MON^{monitor.serial}^EUI-64"
    rows = [
        (code, where, getattr(reading, name), unit) for code, where, name, unit in _OBSERVATIONS
    ]
    segments = [
        f"MSH|^~\\&|{sender}|SIMULATOR|||{stamp}||ORU^R01^ORU_R01|{control_id}|P|2.6|||NE|AL||"
        "UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
        f"PID|||{monitor.patient_id or ''}",
        f"PV1||O|INFUSION^^{monitor.bed}",
        f"OBR|1|{control_id}^MON|{control_id}^MON|182777000^monitoring of patient^SCT|||{stamp}",
        "OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X",
        *(
            f"OBX|{n}|NM|{code}|{where}|{value}|{unit}|||||R|||{stamp}"
            for n, (code, where, value, unit) in enumerate(rows, start=2)
        ),
    ]
    return "\r".join(segments) + "\r"


@dataclass(slots=True)
class SimulationReport:
    sent: int = 0
    answers: dict[str, int] = field(default_factory=dict)
    latencies_s: list[float] = field(default_factory=list)
    last_sent_at: dict[int, float] = field(default_factory=dict)
    """Monitor index -> ``time.perf_counter()`` when its latest message was sent (a monitor
    waits for its ACK, so a notice published before that ACK belongs to that message)."""


async def _run_monitor(
    index: int,
    monitor: Monitor,
    *,
    host: str,
    port: int,
    interval_s: float,
    count: int,
    reaction_at_min: float | None,
    seed: int,
    clock: Clock,
    report: SimulationReport,
    run_id: str,
    minutes_per_reading: float,
) -> None:
    stream = VitalStream(seed=seed * 1000 + index, reaction_at_min=reaction_at_min)
    reader, writer = await asyncio.open_connection(host, port)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        for n in range(count):
            await asyncio.sleep(max(0.0, started + n * interval_s - loop.time()))
            at = clock()
            minute = n * minutes_per_reading
            text = pcd01_message(
                monitor, stream.reading(minute), control_id=f"{run_id}-{index}-{n}", at=at
            )
            sent_at = time.perf_counter()
            report.last_sent_at[index] = sent_at
            writer.write(frame(text))
            await writer.drain()
            answer = unframe(await asyncio.wait_for(reader.readuntil(END_BLOCK), 30))
            report.latencies_s.append(time.perf_counter() - sent_at)
            code = answer.split("MSA|", 1)[1][:2] if "MSA|" in answer else "??"
            report.sent += 1
            report.answers[code] = report.answers.get(code, 0) + 1
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def simulate_monitors(
    monitors: list[Monitor],
    *,
    host: str,
    port: int,
    interval_s: float,
    count: int,
    reaction_at_min: float | None = None,
    seed: int = 1,
    clock: Clock | None = None,
    run_id: str | None = None,
    minutes_per_reading: float | None = None,
    report: SimulationReport | None = None,
) -> SimulationReport:
    """``count`` readings from every monitor, one every ``interval_s``, over one MLLP
    connection per monitor; each waits for its ACK before the next reading (as PCD-01
    reporters do). Control ids are ``<run_id>-<monitor>-<n>``; ``run_id`` defaults to the start
    time, so two runs never collide. ``minutes_per_reading`` (default ``interval_s / 60``) is how
    far the synthetic stream advances per reading: larger values fast-forward the reaction
    pattern (tests, demos) while messages still carry the wall-clock time."""
    report = report or SimulationReport()
    now = clock or (lambda: datetime.now(UTC))
    await asyncio.gather(
        *(
            _run_monitor(
                index,
                monitor,
                host=host,
                port=port,
                interval_s=interval_s,
                count=count,
                reaction_at_min=reaction_at_min,
                seed=seed,
                clock=now,
                report=report,
                run_id=run_id or f"S{time.time_ns() // 1_000_000}",
                minutes_per_reading=(
                    interval_s / 60 if minutes_per_reading is None else minutes_per_reading
                ),
            )
            for index, monitor in enumerate(monitors)
        )
    )
    return report
