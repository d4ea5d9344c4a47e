"""Citations of indexed chunks, made as retrieval makes them (for the source viewer's tests, its
benchmark and the screenshot): index files with the real ingest path, then cite any chunk."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ember.knowledge import KnowledgeBase
from ember.knowledge.grounding import GroundingOptions, snippet
from ember.knowledge.store import ChunkRow
from ember.knowledge.types import Citation


def index_chunks(files: Sequence[Path], home: Path) -> list[ChunkRow]:
    """Index ``files`` into a knowledge base under ``home`` (the tiny embedder: only where the
    chunks are matters here) and return every chunk, in document order."""
    from tests.support.tiny_embedder import TinyEmbedder

    with KnowledgeBase(home, embedder=TinyEmbedder()) as kb:
        report = kb.index(list(files), "cited")
        assert not report.failed, report.failed
        ids = [int(r[0]) for r in kb.store.conn.execute("SELECT id FROM chunks ORDER BY id")]
        rows = kb.store.chunk_rows(ids)
    return [rows[i] for i in ids]


def cite(row: ChunkRow, n: int = 1) -> Citation:
    """The citation grounding makes for ``row`` as source ``[n]``."""
    return Citation(
        n=n,
        source=row.path,
        page=row.page,
        heading=row.heading,
        snippet=snippet(row.text, GroundingOptions().snippet_chars),
        similarity=0.7,
        page_label=row.page_label,
        page_count=row.page_count,
        section=row.section,
        start=row.start,
        end=row.end,
        content_hash=row.content_hash,
    )
