"""SQLite helpers shared by every store: connection settings and ordered, named migrations.

A database records which migrations ran (``_migrations``) and its schema version
(``PRAGMA user_version``). A database from a newer Ember is refused, never wiped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ember.errors import SchemaTooNew, StorageError


@dataclass(frozen=True, slots=True)
class Migration:
    """One named schema step: a callable given the connection, or an SQL script run statement by
    statement inside :func:`migrate`'s transaction."""

    name: str
    apply: Callable[[sqlite3.Connection], None] | str  # a callable, or an SQL script


def connect(path: Path, *, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """Open ``path`` in WAL mode: durable across application crashes, readers never block writers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()  # at once: its empty -wal/-shm files must not linger beside the damage
        raise StorageError(
            f"{path} is not a usable database ({exc}). It was left untouched; move it aside to start "
            "fresh, or restore a backup."
        ) from None
    return conn


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration], *, label: str) -> int:
    """Apply the migrations not yet recorded, each in its own transaction. Returns the version."""
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise StorageError(
            f"The {label} database is damaged ({exc}); nothing was changed."
        ) from None
    if version > len(migrations):
        raise SchemaTooNew(
            f"The {label} database was written by a newer Ember (schema {version}, this version "
            f"knows {len(migrations)}). Update Ember; your data was left untouched."
        )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)"
    )
    for number, migration in enumerate(migrations[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process (the app and its helper start together) may have applied it while
            # this one waited for the write lock: the version is read again under the lock.
            if conn.execute("PRAGMA user_version").fetchone()[0] >= number:
                conn.execute("COMMIT")
                continue
            if callable(migration.apply):
                migration.apply(conn)
            else:
                for statement in _split_sql(migration.apply):
                    conn.execute(statement)
            conn.execute(
                "INSERT OR REPLACE INTO _migrations VALUES (?, datetime('now'))", (migration.name,)
            )
            conn.execute(f"PRAGMA user_version={number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(migrations)


def _split_sql(script: str) -> list[str]:
    """Split a script into statements (executescript would commit our transaction)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


def integrity_ok(conn: sqlite3.Connection) -> bool:
    """Whether SQLite's full ``PRAGMA integrity_check`` reports the database sound."""
    return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def check_health(conn: sqlite3.Connection, path: Path, *, label: str, remedy: str) -> None:
    """Raise :class:`StorageError` if the file's pages are damaged (``PRAGMA quick_check``).

    Run at open, before anything writes, so damage is named at start instead of surfacing later
    as "database disk image is malformed" in the middle of work. The file is never modified.
    """
    try:
        rows = conn.execute("PRAGMA quick_check(5)").fetchall()
        problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
    except sqlite3.DatabaseError as exc:
        problems = [str(exc)]
    if problems:
        raise StorageError(
            f"The {label} at {path} is damaged ({'; '.join(problems)[:300]}). It was left "
            f"untouched. {remedy}"
        )
