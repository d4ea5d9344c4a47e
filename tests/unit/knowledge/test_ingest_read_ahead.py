"""Indexing reads the next file while the current one embeds, and keeps every guarantee it had:
only the indexing thread writes, one bad file fails alone, a cancel keeps the index consistent.

Real files, the real parsers (through ``sandbox.parse_file``, wrapped to watch when each file is
read), and the tiny deterministic embedder (these tests are about mechanics, not vectors).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tests.support.tiny_embedder import TinyEmbedder

from ember.cancel import CancelToken
from ember.knowledge import KnowledgeBase
from ember.knowledge.chunking import ChunkingOptions
from ember.knowledge.ingest import EMBED_POOL
from ember.knowledge.page_progress import PageCallback
from ember.knowledge.read_ahead import ReadAhead
from ember.knowledge.sandbox import parse_file
from ember.knowledge.types import ParsedDocument

WAIT_S = 20.0  # generous: the read ahead happens at once; only the old behaviour waits it out


def _big_note(number: int) -> str:
    # Enough text for more than one embedding pool of chunks.
    return "\n\n".join(
        f"Section {number}.{i}. " + " ".join(f"word{number}x{i}y{j}." for j in range(60))
        for i in range(EMBED_POOL // 2)
    )


class _Watch:
    """A parser that records which files were read, and on which thread."""

    def __init__(self) -> None:
        self.read: list[str] = []
        self.threads: set[str] = set()
        self.second_started = threading.Event()

    def __call__(self, path: Path) -> ParsedDocument:
        self.read.append(path.name)
        self.threads.add(threading.current_thread().name)
        if len(self.read) >= 2:
            self.second_started.set()
        return parse_file(path)


class _EmbedderThatWaitsForTheNextRead(TinyEmbedder):
    """Its first embed call waits (up to WAIT_S) for the second file's parse to begin."""

    def __init__(self, watch: _Watch) -> None:
        super().__init__()
        self.watch = watch
        self.overlapped: bool | None = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self.overlapped is None:
            self.overlapped = self.watch.second_started.wait(WAIT_S)
        return super().embed(texts)


def test_the_next_file_is_parsed_while_the_current_one_embeds(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for number in range(3):
        (folder / f"note{number}.txt").write_text(_big_note(number), encoding="utf-8")
    watch = _Watch()
    embedder = _EmbedderThatWaitsForTheNextRead(watch)
    with KnowledgeBase(tmp_path / "kb", embedder=embedder, parse=watch) as kb:
        report = kb.index([folder], "notes")
        assert not report.failed and report.indexed == 3
        assert embedder.overlapped is True, "the second file was not read during embedding"
        assert sorted(watch.read) == ["note0.txt", "note1.txt", "note2.txt"]
        assert threading.current_thread().name not in watch.threads  # read on its own thread
        assert len(kb.store.documents(state="done")) == 3


def test_a_bad_file_read_ahead_fails_alone(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text(_big_note(1), encoding="utf-8")
    (folder / "b.pdf").write_bytes(b"%PDF-1.7\n this is not a PDF at all \n%%EOF\n")
    (folder / "c.txt").write_text(_big_note(2), encoding="utf-8")
    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder()) as kb:
        report = kb.index([folder], "notes")
        assert [Path(f.path).name for f in report.failed] == ["b.pdf"]
        assert report.indexed == 2
        assert {Path(d.path).name for d in kb.store.documents(state="done")} == {"a.txt", "c.txt"}


def test_a_cancel_while_a_file_is_read_ahead_records_nothing_of_it(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for number in range(3):
        (folder / f"note{number}.txt").write_text(_big_note(number), encoding="utf-8")
    cancel = CancelToken()
    watch = _Watch()

    class CancelOnFirstEmbed(TinyEmbedder):
        def embed(self, texts: Sequence[str]) -> np.ndarray:
            watch.second_started.wait(WAIT_S)  # the second file is being read ahead now
            cancel.cancel()
            return super().embed(texts)

    with KnowledgeBase(tmp_path / "kb", embedder=CancelOnFirstEmbed(), parse=watch) as kb:
        report = kb.index([folder], "notes", cancel=cancel)
        assert report.cancelled
        assert "note1.txt" in watch.read  # it was read ahead...
        names = {Path(d.path).name for d in kb.store.documents()}
        assert names == {"note0.txt"}  # ...but only the file whose turn came was recorded
    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder()) as kb:
        resumed = kb.index([folder], "notes")
        assert not resumed.cancelled and not resumed.failed
        assert len(kb.store.documents(state="done")) == 3
        chunk_ids = set(kb.store.chunk_ids())
        assert chunk_ids == {int(i) for i in kb.vectors.ids()}


def test_close_leaves_no_page_count_of_a_parse_that_was_still_running(tmp_path: Path) -> None:
    path = tmp_path / "manual.md"
    path.write_text("# Manual\n\nText.\n")
    started, closing = threading.Event(), threading.Event()
    read_ahead: ReadAhead

    def parse(file: Path, on_page: PageCallback) -> ParsedDocument:
        """A parser still telling pages while close() runs (its pool closed under it)."""
        started.set()
        assert closing.wait(WAIT_S)
        while read_ahead._pending:  # close() has begun: it forgot the files read ahead
            threading.Event().wait(0.001)
        on_page(3, 9)
        return parse_file(file)

    read_ahead = ReadAhead(parse, TinyEmbedder().count_tokens, ChunkingOptions())
    read_ahead.submit(str(path), None)
    assert started.wait(WAIT_S)
    closing.set()
    read_ahead.close()
    assert read_ahead.take_page(str(path)) is None
