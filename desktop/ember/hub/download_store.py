"""The download queue on disk: one SQLite row per job, so a download outlives the process.

Closing Ember, a ``kill -9`` or a reboot loses nothing: the row says what to fetch (repository,
pinned revision, files with sizes and expected sha256) and how far it got; the bytes themselves
are in the job's ``.incomplete`` files next to where the model will live. ``durable_bytes`` is
what was last flushed and fsync'd to disk (with ``boot_id``, the boot it was written in): after a
reboot the partial file is cut back to it, since the bytes after it may never have reached the
disk.

Lives in ``downloads.sqlite3`` in the data folder. No Qt, no network.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from ember.db import Migration, connect, migrate
from ember.hub.types import HubFile

_MIGRATIONS = (
    Migration(
        "jobs",
        """
        CREATE TABLE jobs (
            job_id TEXT PRIMARY KEY,
            repo_id TEXT NOT NULL,
            revision TEXT NOT NULL,
            quantization TEXT NOT NULL,
            files TEXT NOT NULL,
            projector TEXT NOT NULL,
            name TEXT NOT NULL,
            license TEXT NOT NULL,
            expected TEXT NOT NULL,
            state TEXT NOT NULL,
            message TEXT NOT NULL,
            model_name TEXT NOT NULL,
            bytes_done INTEGER NOT NULL,
            durable_bytes TEXT NOT NULL,
            boot_id TEXT NOT NULL,
            created REAL NOT NULL,
            updated REAL NOT NULL
        );
        """,
    ),
)


@dataclass(frozen=True, slots=True)
class JobRow:
    """One download job as stored. ``files`` are the model's parts in order; ``projector`` a
    vision projector or None; ``expected`` extra sha256 to check per file name (the catalog's);
    ``durable_bytes`` bytes per file name known to be on disk (fsync'd) during boot ``boot_id``.
    """

    job_id: str
    repo_id: str
    revision: str
    quantization: str
    files: tuple[HubFile, ...]
    projector: HubFile | None
    name: str
    license: str
    expected: dict[str, str]
    state: str
    message: str = ""
    model_name: str = ""
    bytes_done: int = 0
    durable_bytes: dict[str, int] | None = None
    boot_id: str = ""
    created: float = 0.0
    updated: float = 0.0

    @property
    def all_files(self) -> tuple[HubFile, ...]:
        """The model's parts, then the projector."""
        return self.files + ((self.projector,) if self.projector else ())

    @property
    def bytes_total(self) -> int:
        return sum(f.size_bytes for f in self.all_files)


def _files_json(files: tuple[HubFile, ...]) -> str:
    return json.dumps([[f.filename, f.size_bytes, f.sha256] for f in files])


def _files(text: str) -> tuple[HubFile, ...]:
    return tuple(HubFile(name, int(size), sha) for name, size, sha in json.loads(text))


def _row(r: sqlite3.Row) -> JobRow:
    projector = _files(r["projector"])
    return JobRow(
        job_id=r["job_id"],
        repo_id=r["repo_id"],
        revision=r["revision"],
        quantization=r["quantization"],
        files=_files(r["files"]),
        projector=projector[0] if projector else None,
        name=r["name"],
        license=r["license"],
        expected=json.loads(r["expected"]),
        state=r["state"],
        message=r["message"],
        model_name=r["model_name"],
        bytes_done=r["bytes_done"],
        durable_bytes=json.loads(r["durable_bytes"]),
        boot_id=r["boot_id"],
        created=r["created"],
        updated=r["updated"],
    )


class DownloadStore:
    """The jobs table. Every method is one short transaction; safe across threads and processes
    (SQLite WAL, busy timeout)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = connect(path, synchronous="FULL")
        migrate(self._conn, _MIGRATIONS, label="downloads")

    def close(self) -> None:
        self._conn.close()

    def add(self, job: JobRow) -> JobRow:
        """Store a new job (``job_id`` "" gets a fresh one); returns the stored row."""
        now = time.time()
        job = replace(job, job_id=job.job_id or uuid.uuid4().hex[:12], created=now, updated=now)
        self._conn.execute(
            "INSERT INTO jobs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                job.job_id,
                job.repo_id,
                job.revision,
                job.quantization,
                _files_json(job.files),
                _files_json((job.projector,) if job.projector else ()),
                job.name,
                job.license,
                json.dumps(job.expected),
                job.state,
                job.message,
                job.model_name,
                job.bytes_done,
                json.dumps(job.durable_bytes or {}),
                job.boot_id,
                job.created,
                job.updated,
            ),
        )
        return job

    def get(self, job_id: str) -> JobRow | None:
        row = self._conn.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return _row(row) if row else None

    def all(self) -> list[JobRow]:
        """Every job, oldest first."""
        return [_row(r) for r in self._conn.execute("SELECT * FROM jobs ORDER BY created")]

    def update(self, job_id: str, **fields: object) -> None:
        """Set some columns of one job (``files``/``durable_bytes``/``expected`` as Python values)."""
        values: dict[str, object] = {}
        for key, value in fields.items():
            if key == "files":
                value = _files_json(value)  # type: ignore[arg-type]
            elif key in ("durable_bytes", "expected"):
                value = json.dumps(value)
            values[key] = value
        values["updated"] = time.time()
        columns = ", ".join(f"{key} = ?" for key in values)
        self._conn.execute(
            f"UPDATE jobs SET {columns} WHERE job_id = ?", (*values.values(), job_id)
        )

    def delete(self, job_id: str) -> None:
        self._conn.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,))


def boot_id() -> str:
    """This boot's identity (Linux: the kernel's random boot id; elsewhere the boot time), so a
    checkpoint can tell a restart of Ember from a restart of the machine."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        try:
            import psutil

            return str(int(psutil.boot_time()))
        except Exception:  # no psutil, or it cannot tell: treat every start as a new boot
            return ""
