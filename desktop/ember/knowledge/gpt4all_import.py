"""GPT4All's LocalDocs collections, brought over as Ember collections: same names, same folders,
ready to index (nothing of GPT4All's index is reused: its chunks and embeddings are its own).

GPT4All keeps LocalDocs in ``localdocs_vN.db`` (SQLite) in its models folder
(:func:`ember.hub.on_disk.gpt4all_dir`); N is the schema version, 3 in its last releases. The
tables read here, as ``gpt4all-chat/src/database.cpp`` creates them:

- versions 2 and 3: ``collections(id, name, …)``, ``folders(id, path)`` and
  ``collection_items(collection_id, folder_id)`` joining the two;
- version 1: ``collections(collection_name, folder_id)`` and ``folders(id, folder_path)``.

The database is opened read-only and never changed. A folder that is not on this machine now
is reported, not added (a collection with none left is not made).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ember.errors import StorageError

if TYPE_CHECKING:
    from ember.knowledge import KnowledgeBase

_DB_NAME = re.compile(r"^localdocs_v(\d+)\.db$")

_V2_SQL = (
    "SELECT c.name, f.path FROM collections c "
    "JOIN collection_items ci ON ci.collection_id = c.id "
    "JOIN folders f ON f.id = ci.folder_id ORDER BY c.name, f.path"
)
_V1_SQL = (
    "SELECT c.collection_name, f.folder_path FROM collections c "
    "JOIN folders f ON f.id = c.folder_id ORDER BY c.collection_name, f.folder_path"
)


@dataclass(frozen=True, slots=True)
class LocalDocsCollection:
    """One LocalDocs collection: its name and folders (absolute paths, as GPT4All stored them);
    ``missing`` are those of ``folders`` not on this machine now."""

    name: str
    folders: tuple[str, ...]
    missing: tuple[str, ...] = ()

    @property
    def present(self) -> tuple[str, ...]:
        """The folders that are here, what the Ember collection indexes."""
        return tuple(f for f in self.folders if f not in self.missing)


def find_database(folder: Path | None = None) -> Path | None:
    """The newest ``localdocs_vN.db`` in ``folder`` (default: GPT4All's models folder), or
    None when there is none."""
    if folder is None:
        from ember.hub.on_disk import gpt4all_dir

        folder = gpt4all_dir()
        if folder is None:
            return None
    found: list[tuple[int, Path]] = []
    for path in folder.glob("localdocs_v*.db"):
        match = _DB_NAME.match(path.name)
        if match and path.is_file():
            found.append((int(match[1]), path))
    return max(found)[1] if found else None


def read_collections(db: Path) -> list[LocalDocsCollection]:
    """The collections and their folders in a LocalDocs database (any version from 1 on).

    Raises :class:`StorageError` when ``db`` cannot be read or is not a LocalDocs database."""
    if not db.is_file():
        raise StorageError(f"There is no GPT4All LocalDocs database at {db}.")
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StorageError(f"Cannot open GPT4All's LocalDocs database {db} ({exc}).") from None
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if {"collections", "collection_items", "folders"} <= tables:
            rows = conn.execute(_V2_SQL).fetchall()
        elif {"collections", "folders"} <= tables:
            rows = conn.execute(_V1_SQL).fetchall()
        else:
            raise StorageError(f"{db} is not a GPT4All LocalDocs database (no collections table).")
    except sqlite3.Error as exc:
        raise StorageError(f"Cannot read GPT4All's LocalDocs database {db} ({exc}).") from None
    finally:
        conn.close()
    folders: dict[str, list[str]] = {}
    for name, path in rows:
        if name and path:
            folders.setdefault(str(name), []).append(str(path).rstrip("/\\") or str(path))
    return [
        LocalDocsCollection(
            name, tuple(paths), tuple(p for p in paths if not Path(p).expanduser().is_dir())
        )
        for name, paths in folders.items()
    ]


def import_collections(
    kb: KnowledgeBase, collections: Sequence[LocalDocsCollection]
) -> list[LocalDocsCollection]:
    """Make an Ember collection for each of ``collections`` that has a folder here, with those
    folders as what it indexes (an existing collection of the name keeps what it has and gains
    them). Returns the collections made or extended. Raises :class:`StorageError` while
    another process indexes."""
    made = []
    for collection in collections:
        if collection.present:
            kb.add_collection(collection.name, [Path(f) for f in collection.present])
            made.append(collection)
    return made
