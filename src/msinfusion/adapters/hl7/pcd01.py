"""IHE PCD-01 (ORU^R01) from bedside monitors: a tolerant, exact reader (device-interop dossier A).

Read by position with the sender's delimiters (``er7``), versions 2.3.1 to 2.8. Every OBX is
read for what it is:

- device-hierarchy rows (OBX-11 ``X`` without a value) are the containment tree: their OBX-14
  is inherited by the metrics below them;
- a known vital sign (MDC code in OBX-3.1, Philips' hexadecimal MDIL form of it, or LOINC with
  ``LN``; ``monitoring.device_codes``)
  with OBX-2 ``NM`` and a unit that fits (MDC code, REFID alone, or UCUM) is recorded when its
  OBX-11 is F, C, R, P (preliminary), S or U; W, D and X are not recorded;
- any other row (an unknown code, CWE/ST/NA/… values, settings in OBX-17, values OBX-8 flags
  as invalid, test or demo) is skipped and becomes a ``Note`` that the ACK reports (ERR, W).

A numeric row whose value is not a finite number, a unit that does not fit its code, or a
malformed time rejects the message (the device is sending nonsense; it is quarantined).
Times: OBX-14, else OBX-19, else the nearest device row's OBX-14, else OBR-7, else MSH-7; a
time without an offset takes MSH-7's offset, else the sender's configured zone. Each distinct
(OBR group, time) is one reading; a parameter twice in one reading is noted and the first kept,
unless the later row is a correction (C), which replaces it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation

from msinfusion.adapters.hl7.er7 import Segment, parse_segments, split_messages
from msinfusion.adapters.hl7.hl7_time import offset_of, parse_hl7_time
from msinfusion.application.monitoring_ports import PatientKey
from msinfusion.errors import MalformedMessage, UnmappableMessage, UnsupportedMessage
from msinfusion.monitoring.device_codes import (
    DEGF,
    FAHRENHEIT_DEFECT_CODES,
    FIELD_UNITS,
    LOINC_TO_FIELD,
    MDC_TO_FIELD,
    MDIL_SYSTEM,
    canonical_unit,
    mdc_code_of_mdil,
    to_stored_unit,
)
from msinfusion.monitoring.vital_signs import VitalSigns

PCD01_SOURCES = (
    "https://github.com/IHEPCD/ihe-ocd-tf-2019/tree/master/markdown",
    "https://terminology.hl7.org/",
)
VERSIONS = ("2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2")
"""HL7 table 0104 from 2.3.1 to 2.8.2 (dossier A, MSH-12)."""
RECORDED = {"F": "final", "C": "corrected", "R": "final", "U": "final", "P": "preliminary"}
RECORDED["S"] = "preliminary"
NOT_RECORDED = {"W": "wrong", "D": "deleted", "X": "cannot be obtained"}
NOT_CHARTED_FLAGS = ("INV", "NAV", "BUSY", "TEST", "DEMO")
SETTINGS = ("ASET", "MSET")
CHAIR_COMPONENTS = {"point-of-care": 1, "room": 2, "bed": 3}
"""PV1-3 (PL) components a chair may be named in (dossier A, PV1-3)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Note:
    """A row read and not recorded (or recorded as preliminary): ``severity`` W or I, ``code``
    the HL7 table 0357 code, ``segment``/``sequence``/``field`` its location (ERR-2)."""

    segment: str
    sequence: int
    field: int
    code: str
    severity: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceObservation:
    field: str
    code: str
    containment: str
    value: Decimal
    value_text: str
    unit: str
    status: str
    observed_at: datetime
    group: int
    sequence: int
    set_id: str = ""

    @property
    def label(self) -> str:
        """``OBX <n>`` (its place among the OBX segments), with OBX-1 when that differs."""
        own = (
            f" (set id {self.set_id})" if self.set_id and self.set_id != str(self.sequence) else ""
        )
        return f"OBX {self.sequence}{own}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Pcd01Message:
    control_id: str
    version: str
    sending_application: tuple[str, ...]
    sending_facility: tuple[str, ...]
    sent_at: datetime
    patient_ids: tuple[str, ...]
    patient_keys: tuple[PatientKey, ...]
    location: tuple[str, ...]
    observations: tuple[DeviceObservation, ...]
    notes: tuple[Note, ...]
    raw: str

    @property
    def sender(self) -> str:
        """MSH-3 (HD: namespace^universal id^type) as ``namespace/universal id``."""
        return "/".join(p for p in self.sending_application[:2] if p) or "unknown-sender"

    def chair(self, component: str = "bed") -> str | None:
        index = CHAIR_COMPONENTS[component] - 1
        value = self.location[index] if index < len(self.location) else ""
        return value or None


ZoneFor = Callable[[tuple[str, ...]], tzinfo | None]


def _no_zone(_: tuple[str, ...]) -> tzinfo | None:
    return None


def read_header(msh: Segment) -> tuple[str, str]:
    """(MSH-10, MSH-12) or the error that rejects the message."""
    kind, trigger = msh.component(9, 1), msh.component(9, 2)
    if (kind, trigger) != ("ORU", "R01"):
        shown = "^".join(p for p in (kind, trigger) if p)[:20]
        raise UnsupportedMessage(f"MSH-9 '{shown}' is not ORU^R01 (IHE PCD-01)", field="MSH-9")
    control_id = msh.text(10)
    if not control_id:
        raise MalformedMessage("MSH-10 (message control id) is empty", field="MSH-10")
    version = msh.text(12)
    if version not in VERSIONS:
        raise UnsupportedMessage(
            f"MSH-12 '{version[:12]}' is not an HL7 version from 2.3.1 to 2.8.2", field="MSH-12"
        )
    return control_id, version


def parse_pcd01(lines: list[str] | str, *, zone_for: ZoneFor = _no_zone) -> Pcd01Message:
    """Parse one ORU^R01 message (its text, or its segment lines, MSH first); ``zone_for(MSH-3
    components)`` is the sender's zone for times without an offset."""
    if isinstance(lines, str):
        lines = split_messages(lines)[0]
    segments = parse_segments(lines)
    msh = segments[0]
    control_id, version = read_header(msh)
    application = tuple(msh.component(3, n) for n in (1, 2, 3))
    sent_text = msh.text(7)
    if not sent_text:
        raise MalformedMessage("MSH-7 (date/time of message) is empty", field="MSH-7")
    sender_zone = zone_for(application)
    sent_at = parse_hl7_time(sent_text, "MSH-7", sender_zone)
    reader = _ObservationReader(offset_of(sent_text) or sender_zone, sent_at)
    keys: list[PatientKey] = []
    location: tuple[str, ...] = ()
    for segment in segments[1:]:
        if segment.name == "PID":
            keys.extend(k for k in patient_keys_of(segment) if k not in keys)
        elif segment.name == "PV1" and not location:
            location = tuple(segment.component(3, n) for n in range(1, 7))
        elif segment.name == "OBR":
            reader.start_group(segment)
        elif segment.name == "OBX":
            reader.read(segment)
    return Pcd01Message(
        control_id=control_id,
        version=version,
        sending_application=application,
        sending_facility=tuple(msh.component(4, n) for n in (1, 2, 3)),
        sent_at=sent_at,
        patient_ids=tuple(dict.fromkeys(k.value for k in keys)),
        patient_keys=tuple(keys),
        location=location,
        observations=tuple(reader.found),
        notes=tuple(reader.notes),
        raw="\r".join(lines) + "\r",
    )


def patient_keys_of(pid: Segment) -> list[PatientKey]:
    """Every PID-3 repetition (CX) with an identifier: CX-1, CX-4 (HD: namespace id, universal
    id, universal id type) and CX-5 (dossier A, PID-3)."""
    keys = []
    for n in range(len(pid.repetitions(3))):
        value = pid.component(3, 1, n)
        if not value:
            continue
        namespace, universal, kind = [*pid.subcomponents(3, 4, n), "", "", ""][:3]
        systems = [namespace, universal]
        if universal and kind.upper() == "ISO":
            systems.append(f"urn:oid:{universal}")
        keys.append(
            PatientKey(
                value=value,
                systems=tuple(dict.fromkeys(s for s in systems if s)),
                kind=pid.component(3, 5, n),
            )
        )
    return keys


class _ObservationReader:
    def __init__(self, zone: tzinfo | None, sent_at: datetime) -> None:
        self._zone = zone
        self._group_time = sent_at
        self._sent_at = sent_at
        self._group = 0
        self._sequence = 0
        self._set_id = ""
        self._tree: dict[tuple[str, ...], datetime] = {}
        self.found: list[DeviceObservation] = []
        self.notes: list[Note] = []

    def _time(self, text: str, field: str) -> datetime:
        return parse_hl7_time(text, field, self._zone)

    def start_group(self, obr: Segment) -> None:
        self._group += 1
        stamp = obr.text(7)
        self._group_time = self._time(stamp, "OBR-7") if stamp else self._sent_at
        self._tree = {}

    def _note(self, field: int, code: str, text: str, severity: str = "W") -> None:
        self.notes.append(
            Note(
                segment="OBX",
                sequence=self._sequence,
                field=field,
                code=code,
                severity=severity,
                text=f"{self._where()}: {text}",
            )
        )

    def _where(self) -> str:
        own = self._set_id
        return f"OBX {self._sequence}" + (
            f" (set id {own})" if own and own != str(self._sequence) else ""
        )

    def _observed_at(self, obx: Segment, path: tuple[str, ...]) -> datetime | None:
        where = f"OBX[{self._sequence}]"
        own = obx.text(14) or obx.text(19)
        if own:
            return self._time(own, f"{where}-14")
        for length in range(len(path), 0, -1):
            inherited = self._tree.get(path[:length])
            if inherited is not None:
                return inherited
        return None

    def read(self, obx: Segment) -> None:  # noqa: PLR0911 - one rule per branch
        self._sequence += 1
        self._set_id = obx.text(1)[:10]
        status = obx.text(11).upper()
        kind = obx.text(2).upper()
        value_text = obx.component(5, 1)
        path = tuple(p for p in obx.text(4).split(".") if p)
        while path and path[-1] == "0":
            path = path[:-1]
        if not value_text and (status == "X" or not kind):
            stamp = self._observed_at(obx, path) if obx.text(14) else None
            if stamp is not None:
                self._tree[path] = stamp  # a device row's time is inherited by its metrics
            return
        field = _field_of(obx)
        label = _label(obx)
        if status in NOT_RECORDED:
            self._note(11, "207", f"{label} has status {status} ({NOT_RECORDED[status]})")
            return
        if status and status not in RECORDED:
            self._note(11, "103", f"{label} has an unknown result status")
            return
        if kind != "NM":
            self._note(2, "102", f"{label} is {kind or 'untyped'}, not numeric: skipped")
            return
        if field is None:
            self._note(3, "103", f"{label} is not a vital sign recorded here: skipped")
            return
        flags = {f.upper() for f in obx.repetitions(8)} & set(NOT_CHARTED_FLAGS)
        if flags:
            self._note(8, "207", f"{label} is flagged {'/'.join(sorted(flags))}: not charted")
            return
        if obx.text(17).upper() in SETTINGS:
            self._note(17, "207", f"{label} is a device setting: not charted")
            return
        value = _number(value_text, self._sequence)
        unit = self._unit(obx, field, label)
        observed = self._observed_at(obx, path) or self._group_time
        if status in {"P", "S"}:
            self._note(11, "207", f"{label} is preliminary ({status}): recorded", "I")
        self.found.append(
            DeviceObservation(
                field=field,
                code=obx.component(3, 1),
                containment=".".join(path),
                value=to_stored_unit(field, value, unit),
                value_text=value_text,
                unit=unit,
                status=status or "R",
                observed_at=observed,
                group=self._group,
                sequence=self._sequence,
                set_id=self._set_id,
            )
        )

    def _unit(self, obx: Segment, field: str, label: str) -> str:
        parts = [obx.component(6, n) for n in range(1, 7)]
        unit: str | None = None
        defect = parts[0].isdigit() and int(parts[0]) in FAHRENHEIT_DEFECT_CODES
        if defect and parts[1] == "MDC_DIM_FAHR":
            self._note(6, "103", f"unit code {parts[0]} with MDC_DIM_FAHR read as °F")
            unit = DEGF
        for candidate in (parts[0], parts[1], parts[3], parts[4]):
            if unit is None and candidate:
                unit = canonical_unit(candidate)
        if unit is None or unit not in FIELD_UNITS[field]:
            shown = "^".join(p for p in parts[:3] if p)[:40]
            raise UnmappableMessage(
                f"{label} has unit '{shown}', expected {' or '.join(FIELD_UNITS[field])}",
                field="OBX-6",
            )
        return unit


def _coded_field(code: str, system: str) -> str | None:
    """The vital-sign field of one CWE triplet: MDC (decimal; no system means MDC, as PCD-01
    senders often omit it), MDIL (Philips' hexadecimal MDC) or LOINC."""
    mdc = int(code) if system in ("", "MDC") and code.isdigit() else None
    if system == MDIL_SYSTEM:
        mdc = mdc_code_of_mdil(code)
    if mdc is not None and mdc in MDC_TO_FIELD:
        return MDC_TO_FIELD[mdc][0]
    if system in ("LN", "LOINC"):
        return LOINC_TO_FIELD.get(code)
    return None


def _field_of(obx: Segment) -> str | None:
    """OBX-3's identifier, else its alternate identifier (CWE-4..6)."""
    found = _coded_field(obx.component(3, 1), obx.component(3, 3).upper())
    alternate, alternate_system = obx.component(3, 4), obx.component(3, 6).upper()
    if found is None and alternate and alternate_system:
        found = _coded_field(alternate, alternate_system)
    return found


def _label(obx: Segment) -> str:
    code, ref = obx.component(3, 1), obx.component(3, 2)
    return (ref or code or "an observation")[:40]


def _number(text: str, sequence: int) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise MalformedMessage(
            f"OBX {sequence}: value '{text[:20]}' is not a number", field=f"OBX[{sequence}]-5"
        )
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class TimedVitals:
    vitals: VitalSigns
    notes: tuple[Note, ...]


def to_vital_signs(message: Pcd01Message) -> tuple[TimedVitals, ...]:
    """One ``VitalSigns`` per (OBR group, observation time), in clinical order, each with the
    duplicate-parameter notes of its set; ``UnmappableMessage`` when nothing maps,
    ``InvalidVitalSigns`` when a value is implausible."""
    sets: dict[tuple[int, datetime], dict[str, DeviceObservation]] = {}
    notes: dict[tuple[int, datetime], list[Note]] = {}
    for obs in message.observations:
        key = (obs.group, obs.observed_at)
        values, found = sets.setdefault(key, {}), notes.setdefault(key, [])
        earlier = values.get(obs.field)
        if earlier is None or obs.status == "C":
            values[obs.field] = obs
            continue
        found.append(
            Note(
                segment="OBX",
                sequence=obs.sequence,
                field=3,
                code="207",
                severity="W",
                text=f"{obs.label}: a second {obs.field} in one reading: the first "
                f"({earlier.label}) is recorded",
            )
        )
    if not sets:
        raise UnmappableMessage("no observation maps to a vital sign", field="OBX-3")
    readings = [
        TimedVitals(
            vitals=VitalSigns(
                measured_at=key[1],
                source="device",
                **{name: obs.value for name, obs in values.items()},  # type: ignore[arg-type]
            ),
            notes=tuple(notes[key]),
        )
        for key, values in sets.items()
    ]
    return tuple(sorted(readings, key=lambda r: r.vitals.measured_at))
