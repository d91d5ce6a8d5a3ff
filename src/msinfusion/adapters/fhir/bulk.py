"""Bulk Data ``$export`` (HL7 FHIR Bulk Data Access IG, https://hl7.org/fhir/uv/bulkdata/):
the centre's whole record as NDJSON files, at system level and Patient level.

Flow (IG "Bulk Data Export Operation Request Flow"):

1. kick-off ``GET /fhir/$export`` (every served type) or ``GET /fhir/Patient/$export`` (the
   Patient compartment: every type with a ``patient`` search parameter), with
   ``Prefer: respond-async``; ``_type`` (comma-separated types), ``_since`` (an instant) and
   ``_outputFormat`` (``application/fhir+ndjson``, ``application/ndjson``, ``ndjson``) are
   supported; anything else is refused with 400. Answer: ``202 Accepted``, ``Content-Location``
   the status URL, an informational OperationOutcome as the body;
2. status ``GET /fhir/$export-poll/{job}``: ``200`` with the manifest (``transactionTime``,
   ``request``, ``requiresAccessToken`` true, ``output`` one file per type with its ``count``,
   ``error`` empty); ``DELETE`` on it removes the job (``202``);
3. files ``GET /fhir/$export-file/{job}/{Type}.ndjson`` (``application/fhir+ndjson``, one
   resource per line).

**Design choice**: the export runs synchronously inside the kick-off request, in-process, and
its files are kept in memory (``ExportStore``, per server process) — so a status request never
sees "in progress" (the IG's 202 + ``X-Progress`` answer is never needed), a restart forgets
every job, and a job is dropped an hour after it was made (``EXPORT_TTL``) or when its owner
starts an eleventh one (``JOBS_PER_USER``). That fits one centre's record (the demo centre and
a generated centre of 10,000 sessions: docs/benchmarks.md); a regional export would want a
background worker and files on disk. Same credentials and roles as every FHIR read: the
kick-off reads each type through the application layer (audited), and the status and file
URLs answer only the user who started the job (anyone else: 404). ``_since`` keeps resources
whose ``meta.lastUpdated`` is at or after it and every resource without one (its change time is
not recorded, so it is never silently left out).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from msinfusion.adapters.fhir.common import JsonObject, instant
from msinfusion.adapters.fhir.outcome import FhirError, bad_parameter
from msinfusion.adapters.fhir.record import Record
from msinfusion.adapters.fhir.resource_kind import ResourceType
from msinfusion.adapters.fhir.search import matches, parse_date, parse_instant, parse_query

NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = frozenset({"application/fhir+ndjson", "application/ndjson", "ndjson"})
EXPORT_TTL = timedelta(hours=1)
JOBS_PER_USER = 10
KICK_OFF_PARAMETERS = frozenset({"_type", "_since", "_outputFormat"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportFile:
    resource_type: str
    count: int
    body: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportJob:
    job_id: str
    owner: str
    request: str
    transaction_time: datetime
    files: tuple[ExportFile, ...]

    def file(self, resource_type: str) -> ExportFile | None:
        return next((f for f in self.files if f.resource_type == resource_type), None)

    def manifest(self, file_url: str) -> JsonObject:
        """The completed job's manifest (IG "Response - Complete Status")."""
        return {
            "transactionTime": instant(self.transaction_time),
            "request": self.request,
            "requiresAccessToken": True,
            "output": [
                {
                    "type": f.resource_type,
                    "url": f"{file_url}/{self.job_id}/{f.resource_type}.ndjson",
                    "count": f.count,
                }
                for f in self.files
            ],
            "error": [],
        }


@dataclass
class ExportStore:
    """Finished export jobs of this process, by id (see the module docstring)."""

    jobs: dict[str, ExportJob] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, job: ExportJob, *, now: datetime) -> None:
        with self.lock:
            self._expire(now)
            own = sorted(
                (j for j in self.jobs.values() if j.owner == job.owner),
                key=lambda j: j.transaction_time,
            )
            for old in own[: max(0, len(own) - JOBS_PER_USER + 1)]:
                del self.jobs[old.job_id]
            self.jobs[job.job_id] = job

    def get(self, job_id: str, owner: str, *, now: datetime) -> ExportJob:
        with self.lock:
            self._expire(now)
            job = self.jobs.get(job_id)
        if job is None or job.owner != owner:
            raise FhirError(404, "not-found", f"export job {job_id} is not known")
        return job

    def remove(self, job_id: str, owner: str, *, now: datetime) -> None:
        self.get(job_id, owner, now=now)
        with self.lock:
            self.jobs.pop(job_id, None)

    def _expire(self, now: datetime) -> None:
        for job_id in [
            j.job_id for j in self.jobs.values() if now - j.transaction_time > EXPORT_TTL
        ]:
            del self.jobs[job_id]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportRequest:
    types: tuple[str, ...]
    since: datetime | None


def parse_kick_off(
    items: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    served: Sequence[str],
    zone: tzinfo,
) -> ExportRequest:
    """The kick-off's parameters (400 naming what is wrong)."""
    prefer = headers.get("prefer", "")
    if "respond-async" not in prefer.lower():
        raise FhirError(
            400, "invalid", "Prefer: respond-async is required for $export", expression="Prefer"
        )
    types = list(served)
    since = None
    for name, raw in items:
        if name not in KICK_OFF_PARAMETERS:
            listed = ", ".join(sorted(KICK_OFF_PARAMETERS))
            raise bad_parameter(name, f"not a supported $export parameter (supported: {listed})")
        if name == "_outputFormat" and raw not in OUTPUT_FORMATS:
            raise bad_parameter(
                name, f"only NDJSON is produced ({', '.join(sorted(OUTPUT_FORMATS))})"
            )
        if name == "_type":
            asked = [t for t in raw.split(",") if t]
            unknown = [t for t in asked if t not in served]
            if unknown or not asked:
                raise bad_parameter(
                    name,
                    f"{', '.join(unknown) or 'nothing'} not exported here "
                    f"(served: {', '.join(served)})",
                )
            types = [t for t in served if t in asked]
        if name == "_since":
            prefix, interval = parse_date(name, raw, zone)
            if prefix != "eq":
                raise bad_parameter(name, "an instant without a prefix is expected")
            since = interval[0]
    return ExportRequest(types=tuple(types), since=since)


def _changed_since(resource: JsonObject, since: datetime | None) -> bool:
    if since is None:
        return True
    updated = (resource.get("meta") or {}).get("lastUpdated")
    return updated is None or parse_instant(updated) >= since


def ndjson(resources: Sequence[JsonObject]) -> bytes:
    """One resource per line, compact JSON, UTF-8 (https://github.com/ndjson/ndjson-spec)."""
    return b"".join(
        json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode() + b"\n" for r in resources
    )


def export_files(
    types: Mapping[str, ResourceType],
    record: Record,
    wanted: ExportRequest,
    *,
    zone: tzinfo,
) -> tuple[ExportFile, ...]:
    """Every resource of the wanted types (one file each; a type with none gives no file). A
    Patient-level export asks only for compartment types, whose resources are all some
    patient's, so it holds the same resources of those types as a system-level one."""
    files = []
    for name in wanted.types:
        kind = types[name]
        query = parse_query([("_count", "0")], kind.params, zone)
        found = [
            r
            for r in kind.fetch(record, query)
            if matches(query, r) and _changed_since(r, wanted.since)
        ]
        if found:
            files.append(ExportFile(resource_type=name, count=len(found), body=ndjson(found)))
    return tuple(files)


def new_job(*, owner: str, request: str, at: datetime, files: tuple[ExportFile, ...]) -> ExportJob:
    return ExportJob(
        job_id=secrets.token_urlsafe(16),
        owner=owner,
        request=request,
        transaction_time=at,
        files=files,
    )


def exported_types(types: Mapping[str, ResourceType], *, patient_level: bool) -> list[str]:
    """The types a system-level (all) or Patient-level (the Patient compartment) export holds."""
    return [t.name for t in types.values() if not patient_level or t.patient_param is not None]
