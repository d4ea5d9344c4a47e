"""The knowledge base's SQLite side: collections, documents, chunks and their FTS5 index.

SQLite is the truth. A document is ``done`` only after its chunks are committed here *and* their
vectors are durably in the FAISS file; until then it is ``pending`` and invisible to search.
Chunk ids come from AUTOINCREMENT and are never reused, so a stale vector left in FAISS by a
crash can never be mistaken for a newer chunk: it is simply an id with no row, and is removed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from ember.db import check_health, connect, migrate
from ember.errors import StorageError
from ember.files import path_from_db, path_to_db
from ember.knowledge.chunking import HEADING_SEPARATOR, Chunk
from ember.knowledge.keywords import keyword_text
from ember.knowledge.migrations import MIGRATIONS
from ember.knowledge.types import TEXT_LAYER, TextSource

DEFAULT_COLLECTION = "default"

DocumentState = str  # "pending" | "done" | "failed"


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    """A collection with its counts of searchable documents and chunks."""

    name: str
    documents: int
    chunks: int


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """A document as stored.

    ``state`` is "pending", "done" or "failed" (``error`` says why); ``size`` in bytes, ``mtime_ns``
    the file's modification time in nanoseconds, ``content_hash`` its SHA-256 in hex, ``indexed_at``
    a Unix time in seconds.
    """

    id: int
    collection: str
    path: str
    kind: str | None
    encoding: str | None
    title: str | None
    size: int | None
    mtime_ns: int | None
    content_hash: str | None
    state: DocumentState
    error: str | None
    chunk_count: int
    indexed_at: float | None
    skipped: bool = False  # failed because discovery skipped it (empty file, ...), not an error
    page_count: int | None = None  # physical pages (PDF); None for other kinds and older indexes
    text_source: TextSource | None = None  # text layer or OCR; None: failed, or not recorded


@dataclass(frozen=True, slots=True)
class ChunkRow:
    """A stored chunk with its document's path and collection; ``start``/``end`` are character
    offsets in its section."""

    id: int
    document_id: int
    path: str
    collection: str
    text: str
    page: int | None
    heading: str | None
    start: int
    end: int
    size: int | None = None  # the document's size in bytes when it was indexed
    mtime_ns: int | None = None  # and its modification time, in nanoseconds
    content_hash: str | None = None  # and its SHA-256, in hex
    page_label: str | None = None  # the page's printed label (PDF page labels), if any
    page_count: int | None = None  # the document's physical pages, where known
    is_toc: bool = False  # mostly table-of-contents entries (see ember.knowledge.toc)
    section: int | None = None  # the chunk's section in its parsed document (a PDF: its page's)


_DOC_COLUMNS = (
    "d.id, c.name AS collection, d.path, d.kind, d.encoding, d.title, d.size, d.mtime_ns, "
    "d.content_hash, d.state, d.error, d.chunk_count, d.indexed_at, d.skipped, d.page_count, "
    "d.text_source, d.ocr_pages, d.ocr_confidence, d.ocr_empty_pages"
)


def text_source_of(values: dict[str, Any]) -> TextSource | None:
    """The :class:`TextSource` in a documents row's columns (popped), or None where unrecorded."""
    method, pages, confidence, empty = (
        values.pop(k) for k in ("text_source", "ocr_pages", "ocr_confidence", "ocr_empty_pages")
    )
    if method not in ("text", "ocr"):
        return None
    score = float(confidence) if confidence is not None else None
    return TextSource(method, int(pages or 0), score, int(empty or 0))


class KnowledgeStore:
    """One SQLite database of collections, documents and chunks. Writes come from one thread.

    Ids (collections, documents, chunks) are SQLite integer keys, never reused. Methods that
    write run in their own transaction unless noted; a disk that refuses a write raises
    :class:`StorageError` and leaves the database as it was.
    """

    def __init__(self, path: Path) -> None:
        """Open (creating if needed) and migrate the database at ``path``.

        Raises :class:`StorageError` if the file is damaged or not a database, and
        :class:`~ember.errors.SchemaTooNew` if a newer Ember wrote it; the file is left untouched.
        """
        self.path = path
        self.conn = connect(path)
        try:
            # ~0.2 s for 160 MB: cheap next to loading the embedder, and damage is named at start.
            check_health(
                self.conn,
                path,
                label="knowledge base",
                remedy="Your documents themselves are fine: move this folder aside (or delete it) "
                "and index them again.",
            )
            migrate(self.conn, MIGRATIONS, label="knowledge")
        except BaseException:
            self.conn.close()
            raise

    def close(self) -> None:
        """Close the database connection."""
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``), committed when the block ends.

        Rolled back on any exception; SQLite's operational errors (disk full, read-only file)
        become :class:`StorageError`.
        """
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            # Disk full, I/O error, read-only file: the environment, not a bug. SQLite may have
            # rolled back already (a failed COMMIT on a full disk does), so only roll back if not.
            self._rollback()
            raise StorageError(
                f"Could not save the knowledge base at {self.path} ({exc}). Is the disk full? "
                "Free some disk space and index again; what was already indexed is kept."
            ) from None
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    # -- meta ---------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """The value stored under ``key`` (e.g. the embedding model's name), or None."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Store ``value`` under ``key`` (in the caller's transaction, if one is open)."""
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- collections --------------------------------------------------------------------------

    def collection_id(self, name: str, *, create: bool = False) -> int | None:
        """The id of collection ``name``; with ``create``, made if missing (caller's transaction)."""
        row = self.conn.execute("SELECT id FROM collections WHERE name = ?", (name,)).fetchone()
        if row is not None:
            return int(row[0])
        if not create:
            return None
        cursor = self.conn.execute(
            "INSERT INTO collections (name, created) VALUES (?, ?)", (name, time.time())
        )
        return int(cursor.lastrowid or 0)

    def collections(self) -> list[CollectionInfo]:
        """Every collection by name, counting only finished (``done``) documents and their chunks."""
        rows = self.conn.execute(
            "SELECT c.name, COUNT(d.id) AS documents, COALESCE(SUM(d.chunk_count), 0) AS chunks "
            "FROM collections c LEFT JOIN documents d "
            "ON d.collection_id = c.id AND d.state = 'done' GROUP BY c.id ORDER BY c.name"
        ).fetchall()
        return [CollectionInfo(r["name"], int(r["documents"]), int(r["chunks"])) for r in rows]

    def delete_collection(self, name: str) -> list[int]:
        """Remove a collection and everything in it; returns the chunk ids that went."""
        with self.transaction():
            ids = [
                int(r[0])
                for r in self.conn.execute(
                    "SELECT ch.id FROM chunks ch JOIN documents d ON d.id = ch.document_id "
                    "JOIN collections c ON c.id = d.collection_id WHERE c.name = ?",
                    (name,),
                )
            ]
            self.conn.execute("DELETE FROM collections WHERE name = ?", (name,))
        return ids

    def rename_collection(self, old: str, new: str) -> None:
        """Call collection ``old`` ``new`` (its documents, chunks and watched folders follow).

        Raises :class:`StorageError` when there is no ``old`` or a collection ``new`` exists."""
        with self.transaction():
            if self.collection_id(old) is None:
                raise StorageError(f"There is no collection called “{old}”.")
            if self.collection_id(new) is not None:
                raise StorageError(
                    f"A collection called “{new}” exists already; pick another name."
                )
            self.conn.execute("UPDATE collections SET name = ? WHERE name = ?", (new, old))

    def watched_folders(self) -> dict[str, tuple[str, ...]]:
        """The folders each collection watches (absolute paths, sorted), by collection name;
        collections that watch nothing are absent."""
        found: dict[str, list[str]] = {}
        for row in self.conn.execute(
            "SELECT c.name, w.path FROM watched_folders w "
            "JOIN collections c ON c.id = w.collection_id ORDER BY c.name, w.path"
        ):
            found.setdefault(row[0], []).append(path_from_db(row[1]))
        return {name: tuple(paths) for name, paths in found.items()}

    def set_watched_folders(self, collection: str, folders: Sequence[str]) -> None:
        """Make ``folders`` (absolute paths; none: stop watching) the ones ``collection``
        watches. Raises :class:`StorageError` when there is no such collection."""
        with self.transaction():
            collection_id = self.collection_id(collection)
            if collection_id is None:
                raise StorageError(f"There is no collection called “{collection}”.")
            self.conn.execute(
                "DELETE FROM watched_folders WHERE collection_id = ?", (collection_id,)
            )
            self.conn.executemany(
                "INSERT OR IGNORE INTO watched_folders (collection_id, path) VALUES (?, ?)",
                [(collection_id, path_to_db(folder)) for folder in folders],
            )

    # -- documents ----------------------------------------------------------------------------

    def _document(self, row: sqlite3.Row) -> DocumentRecord:
        values = {key: row[key] for key in row.keys()}
        values["path"] = path_from_db(values["path"])
        values["skipped"] = bool(values["skipped"])
        values["text_source"] = text_source_of(values)
        return DocumentRecord(**values)

    def document(self, collection: str, path: str) -> DocumentRecord | None:
        """The record of the absolute ``path`` in ``collection``, in any state, or None."""
        row = self.conn.execute(
            f"SELECT {_DOC_COLUMNS} FROM documents d JOIN collections c ON c.id = d.collection_id "
            "WHERE c.name = ? AND d.path = ?",
            (collection, path_to_db(path)),
        ).fetchone()
        return None if row is None else self._document(row)

    def document_by_id(self, document_id: int) -> DocumentRecord | None:
        """The record with this id, or None."""
        row = self.conn.execute(
            f"SELECT {_DOC_COLUMNS} FROM documents d JOIN collections c ON c.id = d.collection_id "
            "WHERE d.id = ?",
            (document_id,),
        ).fetchone()
        return None if row is None else self._document(row)

    def documents(
        self, collection: str | None = None, *, state: DocumentState | None = None
    ) -> list[DocumentRecord]:
        """Documents (of ``collection`` / in ``state`` when given), by collection then path."""
        query = (
            f"SELECT {_DOC_COLUMNS} FROM documents d JOIN collections c ON c.id = d.collection_id"
        )
        clauses, params = [], []
        if collection is not None:
            clauses.append("c.name = ?")
            params.append(collection)
        if state is not None:
            clauses.append("d.state = ?")
            params.append(state)
        if clauses:
            query += " WHERE " + " AND ".join(clauses)
        query += " ORDER BY c.name, d.path"
        return [self._document(r) for r in self.conn.execute(query, params)]

    def replace_document(
        self,
        collection: str,
        path: str,
        *,
        kind: str,
        encoding: str | None,
        title: str | None,
        size: int,
        mtime_ns: int,
        content_hash: str,
        chunks: Sequence[Chunk],
        embed_texts: Sequence[str],
        page_count: int | None = None,
        text_source: TextSource = TEXT_LAYER,
    ) -> tuple[int, list[int], list[int]]:
        """Record a (re)parsed document as ``pending`` with its new chunks, in one transaction.

        ``path`` is absolute; ``size`` in bytes; ``mtime_ns`` in nanoseconds since the epoch;
        ``content_hash`` the file's SHA-256 in hex; ``embed_texts`` one per chunk, in order;
        ``page_count`` its physical pages, for formats with pages; ``text_source`` how its
        text was obtained (text layer or OCR).

        Returns (document id, new chunk ids, chunk ids removed) so the caller can embed the new
        ones and drop the old vectors.
        """
        with self.transaction():
            collection_id = self.collection_id(collection, create=True)
            row = self.conn.execute(
                "SELECT id FROM documents WHERE collection_id = ? AND path = ?",
                (collection_id, path_to_db(path)),
            ).fetchone()
            removed: list[int] = []
            if row is None:
                cursor = self.conn.execute(
                    "INSERT INTO documents (collection_id, path, state) VALUES (?, ?, 'pending')",
                    (collection_id, path_to_db(path)),
                )
                document_id = int(cursor.lastrowid or 0)
            else:
                document_id = int(row[0])
                removed = self._delete_chunks(document_id)
            facts = (kind, encoding, title, size, mtime_ns, content_hash, len(chunks), page_count)
            self.conn.execute(
                "UPDATE documents SET kind = ?, encoding = ?, title = ?, size = ?, mtime_ns = ?, "
                "content_hash = ?, state = 'pending', error = NULL, chunk_count = ?, "
                "indexed_at = NULL, skipped = 0, page_count = ?, text_source = ?, ocr_pages = ?, "
                "ocr_confidence = ?, ocr_empty_pages = ? WHERE id = ?",
                (*facts, *astuple(text_source), document_id),
            )
            new_ids = []
            for chunk, embed in zip(chunks, embed_texts, strict=True):
                cursor = self.conn.execute(
                    'INSERT INTO chunks (document_id, ordinal, text, embed_text, section, start, "end", '
                    "page, heading, keywords, heading_keywords, page_label, is_toc) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        document_id,
                        chunk.ordinal,
                        chunk.text,
                        embed,
                        chunk.section,
                        chunk.start,
                        chunk.end,
                        chunk.page,
                        HEADING_SEPARATOR.join(chunk.heading_path) or None,
                        keyword_text(chunk.text),
                        keyword_text(HEADING_SEPARATOR.join(chunk.heading_path)),
                        chunk.page_label,
                        int(chunk.is_toc),
                    ),
                )
                new_ids.append(int(cursor.lastrowid or 0))
        return document_id, new_ids, removed

    def record_failure(
        self,
        collection: str,
        path: str,
        reason: str,
        *,
        size: int | None,
        mtime_ns: int | None,
        skipped: bool = False,
    ) -> list[int]:
        """Mark a document failed with its reason (``skipped``: discovery passed it over);
        returns the chunk ids it had (now removed)."""
        with self.transaction():
            collection_id = self.collection_id(collection, create=True)
            row = self.conn.execute(
                "SELECT id FROM documents WHERE collection_id = ? AND path = ?",
                (collection_id, path_to_db(path)),
            ).fetchone()
            if row is None:
                self.conn.execute(
                    "INSERT INTO documents (collection_id, path, size, mtime_ns, state, error, "
                    "indexed_at, skipped) VALUES (?, ?, ?, ?, 'failed', ?, ?, ?)",
                    (
                        collection_id,
                        path_to_db(path),
                        size,
                        mtime_ns,
                        reason,
                        time.time(),
                        int(skipped),
                    ),
                )
                return []
            document_id = int(row[0])
            removed = self._delete_chunks(document_id)
            self.conn.execute(
                "UPDATE documents SET size = ?, mtime_ns = ?, content_hash = NULL, state = 'failed', "
                "error = ?, chunk_count = 0, indexed_at = ?, skipped = ?, text_source = NULL "
                "WHERE id = ?",
                (size, mtime_ns, reason, time.time(), int(skipped), document_id),
            )
        return removed

    def touch(self, document_id: int, *, size: int, mtime_ns: int) -> None:
        """The file was saved again with the same content: remember its new size and mtime."""
        self.conn.execute(
            "UPDATE documents SET size = ?, mtime_ns = ? WHERE id = ?",
            (size, mtime_ns, document_id),
        )

    def mark_done(self, document_ids: Iterable[int]) -> None:
        """Make ``pending`` documents searchable: call only once their vectors are saved."""
        ids = list(document_ids)
        if not ids:
            return
        now = time.time()
        with self.transaction():
            self.conn.executemany(
                "UPDATE documents SET state = 'done', indexed_at = ? "
                "WHERE id = ? AND state = 'pending'",
                [(now, i) for i in ids],
            )

    def mark_pending(self, document_ids: Iterable[int]) -> None:
        """Hide ``done`` documents from search until their vectors are back (repair)."""
        ids = list(document_ids)
        if ids:
            with self.transaction():
                self.conn.executemany(
                    "UPDATE documents SET state = 'pending' WHERE id = ? AND state = 'done'",
                    [(i,) for i in ids],
                )

    def remove_document(self, document_id: int) -> list[int]:
        """Forget a document and its chunks; returns the chunk ids whose vectors must go too."""
        with self.transaction():
            removed = self._delete_chunks(document_id)
            self.conn.execute("DELETE FROM documents WHERE id = ?", (document_id,))
        return removed

    def _delete_chunks(self, document_id: int) -> list[int]:
        ids = [
            int(r[0])
            for r in self.conn.execute(
                "SELECT id FROM chunks WHERE document_id = ?", (document_id,)
            )
        ]
        self.conn.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
        return ids

    def forget_all_chunks(self) -> None:
        """Drop every chunk and mark every document pending (a new embedding model)."""
        with self.transaction():
            self.conn.execute("DELETE FROM chunks")
            self.conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('delete-all')")
            self.conn.execute(
                "UPDATE documents SET state = 'pending', content_hash = NULL, size = NULL, "
                "mtime_ns = NULL, chunk_count = 0 WHERE state != 'failed'"
            )

    # -- chunks -------------------------------------------------------------------------------

    def chunk_ids(self) -> list[int]:
        """Every chunk id, ascending (documents in any state)."""
        return [int(r[0]) for r in self.conn.execute("SELECT id FROM chunks ORDER BY id")]

    def chunk_count(self) -> int:
        """How many chunks there are, documents in any state."""
        return int(self.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def pending_chunks(self, document_id: int) -> list[tuple[int, str]]:
        """``(chunk id, text to embed)`` of a document's chunks, in document order."""
        return [
            (int(r[0]), str(r[1]))
            for r in self.conn.execute(
                "SELECT id, embed_text FROM chunks WHERE document_id = ? ORDER BY ordinal",
                (document_id,),
            )
        ]

    def documents_of_chunks(self, chunk_ids: Iterable[int]) -> set[int]:
        """The ids of the documents these chunks belong to (unknown chunk ids are ignored)."""
        ids = list(chunk_ids)
        found: set[int] = set()
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            found.update(
                int(r[0])
                for r in self.conn.execute(
                    f"SELECT DISTINCT document_id FROM chunks WHERE id IN ({marks})", part
                )
            )
        return found

    def chunk_rows(
        self, chunk_ids: Sequence[int], collections: Sequence[str] | None = None
    ) -> dict[int, ChunkRow]:
        """Rows of searchable chunks (documents 'done', in ``collections`` when given)."""
        found: dict[int, ChunkRow] = {}
        ids = list(chunk_ids)
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            query = (
                'SELECT ch.id, ch.document_id, d.path, c.name, ch.text, ch.page, ch.heading, ch.start, ch."end", '
                "d.size, d.mtime_ns, d.content_hash, ch.page_label, d.page_count, ch.is_toc, ch.section "
                # CROSS JOIN pins the join order: look the chunk ids up first, never scan every
                # chunk of every finished document (20 ms at 100k chunks).
                "FROM chunks ch CROSS JOIN documents d ON d.id = ch.document_id "
                "CROSS JOIN collections c ON c.id = d.collection_id "
                f"WHERE ch.id IN ({','.join('?' * len(part))}) AND d.state = 'done'"
            )
            params: list[object] = list(part)
            if collections is not None:
                query += f" AND c.name IN ({','.join('?' * len(collections))})"
                params.extend(collections)
            for r in self.conn.execute(query, params):
                found[int(r[0])] = ChunkRow(
                    int(r[0]),
                    int(r[1]),
                    path_from_db(r[2]),
                    r[3],
                    r[4],
                    r[5],
                    r[6],
                    int(r[7]),
                    int(r[8]),
                    r[9],
                    r[10],
                    r[11],
                    r[12],
                    r[13],
                    bool(r[14]),
                    r[15],
                )
        return found

    def keyword_search(
        self, match: str, collections: Sequence[str] | None, limit: int
    ) -> list[int]:
        """Chunk ids best first by BM25 for an FTS5 MATCH expression.

        Unfiltered searches stay in the FTS index (fast); rows of unfinished documents are
        dropped later by :meth:`chunk_rows`.
        """
        if collections is None:
            query = "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?"
            params: list[object] = [match, limit]
        else:
            query = (
                "SELECT f.rowid FROM chunks_fts f JOIN chunks ch ON ch.id = f.rowid "
                "JOIN documents d ON d.id = ch.document_id "
                "JOIN collections c ON c.id = d.collection_id "
                "WHERE chunks_fts MATCH ? AND d.state = 'done' "
                f"AND c.name IN ({','.join('?' * len(collections))}) ORDER BY f.rank LIMIT ?"
            )
            params = [match, *collections, limit]
        try:
            return [int(r[0]) for r in self.conn.execute(query, params)]
        except sqlite3.OperationalError:
            return []  # an expression FTS5 cannot parse finds nothing rather than failing

    def document_frequencies(self, words: Sequence[str], cap: int) -> list[int]:
        """How many chunks contain each word (as FTS5 tokenizes it), counted up to ``cap``.

        Counting walks a word's list of rows without ranking them: ~0.04 µs a row, against
        1-2 µs a row for BM25, so this is how a search learns which words are too common to rank
        by. The cap bounds the walk for words in most chunks.
        """
        counts: list[int] = []
        for word in words:
            phrase = '"' + word.replace('"', '""') + '"'
            try:
                row = self.conn.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM chunks_fts WHERE chunks_fts MATCH ? "
                    "LIMIT ?)",
                    (phrase, cap),
                ).fetchone()
            except sqlite3.OperationalError:
                row = (0,)
            counts.append(int(row[0]))
        return counts
