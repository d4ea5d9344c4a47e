"""The knowledge base's SQLite schema, as ordered, named migrations (see :mod:`ember.db`).

1. collections, documents, chunks and their FTS5 keyword index;
2. keywords for text in scripts written without spaces (CJK as bigrams);
3. files that indexing passed over, kept with their reason;
4. PDF page labels and page counts, and which chunks are table-of-contents entries.
5. the folders a collection watches while the app runs (4 is the PDFs' page labels);
6. the files and folders a person added to a collection (its roots: what a watch follows);
7. how each document's text was obtained: its text layer, or OCR (pages, mean confidence).
"""

from __future__ import annotations

import sqlite3

from ember.db import Migration
from ember.knowledge.keywords import has_cjk, keyword_text
from ember.knowledge.toc import looks_like_toc

_SCHEMA_V1 = """
CREATE TABLE collections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created REAL NOT NULL
);
CREATE TABLE documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    kind TEXT,
    encoding TEXT,
    title TEXT,
    size INTEGER,
    mtime_ns INTEGER,
    content_hash TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    error TEXT,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    indexed_at REAL,
    UNIQUE (collection_id, path)
);
CREATE INDEX documents_state ON documents(state);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    embed_text TEXT NOT NULL,
    section INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    page INTEGER,
    heading TEXT,
    UNIQUE (document_id, ordinal)
);
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    text, heading, content='chunks', content_rowid='id', tokenize='porter unicode61'
);
CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text, heading) VALUES (new.id, new.text, new.heading);
END;
CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text, heading)
        VALUES ('delete', old.id, old.text, old.heading);
END;
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def _keyword_index_for_cjk(conn: sqlite3.Connection) -> None:
    """Migration 2: the keyword index reads ``chunks.keywords`` and ``chunks.heading_keywords``
    (CJK text as bigrams, see :mod:`ember.knowledge.keywords`) where a chunk has them, else its
    text and heading; existing chunks with CJK text get theirs and the index is rebuilt."""
    conn.execute("ALTER TABLE chunks ADD COLUMN keywords TEXT")
    conn.execute("ALTER TABLE chunks ADD COLUMN heading_keywords TEXT")
    for statement in (
        "DROP TRIGGER chunks_ai",
        "DROP TRIGGER chunks_ad",
        "DROP TABLE chunks_fts",
        "CREATE VIEW chunk_keywords AS "
        "SELECT id, coalesce(keywords, text) AS text, "
        "coalesce(heading_keywords, heading) AS heading FROM chunks",
        "CREATE VIRTUAL TABLE chunks_fts USING fts5(text, heading, content='chunk_keywords', "
        "content_rowid='id', tokenize='porter unicode61')",
        "CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN "
        "INSERT INTO chunks_fts(rowid, text, heading) "
        "VALUES (new.id, coalesce(new.keywords, new.text), "
        "coalesce(new.heading_keywords, new.heading)); END",
        "CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN "
        "INSERT INTO chunks_fts(chunks_fts, rowid, text, heading) "
        "VALUES ('delete', old.id, coalesce(old.keywords, old.text), "
        "coalesce(old.heading_keywords, old.heading)); END",
    ):
        conn.execute(statement)
    updates = [
        (keyword_text(text), keyword_text(heading or ""), chunk_id)
        for chunk_id, text, heading in conn.execute("SELECT id, text, heading FROM chunks")
        if has_cjk(text) or has_cjk(heading or "")
    ]
    conn.executemany("UPDATE chunks SET keywords = ?, heading_keywords = ? WHERE id = ?", updates)
    conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('rebuild')")


def _page_labels_and_contents(conn: sqlite3.Connection) -> None:
    """Migration 4: ``chunks.page_label`` (the printed label of a PDF page: "iv", "150"),
    ``documents.page_count`` (physical pages), both NULL until a file is indexed again, and
    ``chunks.is_toc`` (1: mostly table-of-contents entries, ranked last by retrieval), worked out
    here for the chunks already stored (a few seconds at 100k chunks)."""
    conn.execute("ALTER TABLE chunks ADD COLUMN page_label TEXT")
    conn.execute("ALTER TABLE chunks ADD COLUMN is_toc INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE documents ADD COLUMN page_count INTEGER")
    contents = [
        (chunk_id,)
        for chunk_id, text in conn.execute("SELECT id, text FROM chunks")
        if looks_like_toc(text)
    ]
    conn.executemany("UPDATE chunks SET is_toc = 1 WHERE id = ?", contents)


def _text_sources(conn: sqlite3.Connection) -> None:
    """Migration 7: ``documents.text_source`` ("text" or "ocr"), ``ocr_pages``,
    ``ocr_confidence`` (0..1) and ``ocr_empty_pages`` (see :class:`~ember.knowledge.types.
    TextSource`). Documents already indexed in a format made of text get "text"; PDFs and
    pictures (which may have been OCR'd) stay NULL, "not recorded", until indexed again."""
    for column in (
        "text_source TEXT",
        "ocr_pages INTEGER",
        "ocr_confidence REAL",
        "ocr_empty_pages INTEGER",
    ):
        conn.execute(f"ALTER TABLE documents ADD COLUMN {column}")
    conn.execute(
        "UPDATE documents SET text_source = 'text', ocr_pages = 0, ocr_empty_pages = 0 "
        "WHERE state != 'failed' AND kind IS NOT NULL AND kind NOT IN ('pdf', 'image')"
    )


MIGRATIONS = (
    Migration("knowledge-1-initial", _SCHEMA_V1),
    Migration("knowledge-2-cjk-keywords", _keyword_index_for_cjk),
    # A file that discovery skipped (empty, too large, not a regular file) is kept, state
    # 'failed' with its reason, and skipped = 1: listed, but not an error of its collection.
    Migration(
        "knowledge-3-skipped-files",
        "ALTER TABLE documents ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;",
    ),
    Migration("knowledge-4-page-labels-and-contents", _page_labels_and_contents),
    # The folders a collection keeps in step with while the app runs (the documents page's
    # "Watch folders"); they go with their collection, and follow it when it is renamed.
    Migration(
        "knowledge-5-watched-folders",
        "CREATE TABLE watched_folders ("
        "collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE, "
        "path TEXT NOT NULL, PRIMARY KEY (collection_id, path));",
    ),
    # The files and folders named when a collection was indexed (not the folders holding its
    # files): a watch follows these and nothing around them. Collections indexed before have
    # none; their watches follow their files one by one (see :mod:`ember.knowledge.roots`).
    Migration(
        "knowledge-6-collection-roots",
        "CREATE TABLE collection_roots ("
        "collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE, "
        "path TEXT NOT NULL, PRIMARY KEY (collection_id, path));",
    ),
    Migration("knowledge-7-text-sources", _text_sources),
)
