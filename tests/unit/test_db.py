from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ember.db import Migration, connect, integrity_ok, migrate
from ember.errors import SchemaTooNew, StorageError

MIGRATIONS = [
    Migration("create notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);"),
    Migration(
        "add tags",
        "ALTER TABLE notes ADD COLUMN tags TEXT;\nCREATE INDEX notes_tags ON notes(tags);",
    ),
]


def test_migrations_run_once_in_order_and_are_recorded(tmp_path: Path) -> None:
    conn = connect(tmp_path / "x.db")
    assert migrate(conn, MIGRATIONS, label="test") == 2
    assert migrate(conn, MIGRATIONS, label="test") == 2
    names = [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY rowid")]
    assert names == ["create notes", "add tags"]
    conn.execute("INSERT INTO notes (body, tags) VALUES ('a', 'b')")
    assert integrity_ok(conn)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    conn = connect(path)
    migrate(conn, MIGRATIONS, label="notes")
    conn.execute("PRAGMA user_version=7")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(SchemaTooNew, match="newer Ember"):
        migrate(connect(path), MIGRATIONS, label="notes")
    assert path.read_bytes() == before


def test_a_failed_migration_rolls_back(tmp_path: Path) -> None:
    conn = connect(tmp_path / "x.db")
    broken = [*MIGRATIONS, Migration("broken", "CREATE TABLE ok (x);\nSELECT * FROM missing;")]
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, broken, label="test")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name='ok'").fetchone()[0] == 0


def test_a_file_that_is_not_a_database_gives_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError):
        migrate(connect(path), MIGRATIONS, label="test")
    assert path.read_bytes() == b"this is not sqlite" * 100
