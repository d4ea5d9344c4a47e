"""A collection's roots: the files and folders a person added to it, which is what a watch on
the collection follows.

Indexing ``~/Downloads/manual.pdf`` adds that one file, never ``~/Downloads``: a watch on the
collection re-indexes the file when it changes and nothing else in the folder. Roots are
recorded by explicit runs only (the runs a watch starts name the roots again); one inside a
folder root adds nothing. A collection indexed before roots were recorded has none: its watch
follows its documents' files one by one (:func:`roots_to_watch`), never the folders holding them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ember.files import path_from_db, path_to_db
from ember.knowledge.store import KnowledgeStore


def _inside(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or lies under it (absolute paths)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def merge_roots(existing: Iterable[str], added: Iterable[str]) -> list[str]:
    """``existing`` roots with ``added`` ones (absolute paths), sorted; a root inside another
    one is dropped (the outer one covers it)."""
    kept: list[str] = []
    for root in sorted(set(existing) | set(added)):
        if not any(_inside(root, k) for k in kept):
            kept.append(root)
    return kept


def recorded_roots(store: KnowledgeStore, collection: str) -> tuple[str, ...]:
    """The roots recorded for ``collection`` (absolute paths, sorted); none for a collection
    indexed before they were recorded, or for none."""
    rows = store.conn.execute(
        "SELECT r.path FROM collection_roots r JOIN collections c ON c.id = r.collection_id "
        "WHERE c.name = ?",
        (collection,),
    )
    return tuple(sorted(path_from_db(row[0]) for row in rows))


def files_before_roots(store: KnowledgeStore, collection: str) -> list[str]:
    """``collection``'s documents' files when it has documents but no recorded roots (indexed
    before they were recorded), else none: the roots it had, to keep when it gets recorded ones."""
    if recorded_roots(store, collection):
        return []
    return [record.path for record in store.documents(collection)]


def record_roots(store: KnowledgeStore, collection: str, paths: Sequence[Path | str]) -> None:
    """Add the files and folders of ``paths`` that exist to ``collection``'s roots (nothing
    when there is no such collection, e.g. nothing was found)."""
    added = [os.path.abspath(os.fspath(p)) for p in paths if os.path.lexists(p)]
    with store.transaction() as conn:
        collection_id = store.collection_id(collection)
        if collection_id is None or not added:
            return
        roots = merge_roots(recorded_roots(store, collection), added)
        conn.execute("DELETE FROM collection_roots WHERE collection_id = ?", (collection_id,))
        conn.executemany(
            "INSERT INTO collection_roots (collection_id, path) VALUES (?, ?)",
            [(collection_id, path_to_db(root)) for root in roots],
        )


def forget_roots(store: KnowledgeStore, target: str, collection: str | None = None) -> None:
    """The person removed ``target`` (absolute path; a file or a folder) from ``collection``
    (every collection: None): roots and watched paths at or under it go too, so that no watch
    brings it back."""
    with store.transaction() as conn:
        for table in ("collection_roots", "watched_folders"):
            rows = conn.execute(
                f"SELECT t.collection_id, t.path, c.name FROM {table} t "
                "JOIN collections c ON c.id = t.collection_id"
            ).fetchall()
            gone = [
                (row[0], row[1])
                for row in rows
                if (collection is None or row[2] == collection)
                and _inside(path_from_db(row[1]), target)
            ]
            conn.executemany(f"DELETE FROM {table} WHERE collection_id = ? AND path = ?", gone)


def roots_to_watch(store: KnowledgeStore, collection: str) -> list[str]:
    """What a watch on ``collection`` follows: its recorded roots, or (indexed before roots were
    recorded) each of its documents' files; never a folder the person did not add."""
    return list(recorded_roots(store, collection)) or sorted(
        {record.path for record in store.documents(collection)}
    )
