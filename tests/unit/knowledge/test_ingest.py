from __future__ import annotations

import codecs
import os
import time
from pathlib import Path

import numpy as np
import pytest
from tests.support import nasty_files
from tests.support.tiny_embedder import TinyEmbedder

from ember.cancel import CancelToken
from ember.db import integrity_ok
from ember.knowledge import KnowledgeBase
from ember.knowledge.chunking import ChunkingOptions
from ember.knowledge.embedder import MiniLMEmbedder
from ember.knowledge.ingest import EMBED_POOL, ProgressEvent
from ember.knowledge.parsers.base import MAX_SECTION_CHARS


def consistent(kb: KnowledgeBase) -> bool:
    """Vectors and chunk rows agree, and SQLite is sound."""
    chunk_ids = sorted(kb.store.chunk_ids())
    vector_ids = sorted(int(i) for i in kb.vectors.ids())
    return chunk_ids == vector_ids and integrity_ok(kb.store.conn)


# -- with the real embedder ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_folder_of_real_documents_is_indexed(
    tmp_path: Path, corpus: Path, minilm: MiniLMEmbedder
) -> None:
    with KnowledgeBase(tmp_path / "kb", embedder=minilm) as kb:
        report = kb.index([corpus], "notes")
        assert (report.indexed, report.failed) == (3, [])
        assert report.chunks == kb.store.chunk_count() > 3
        assert {d.state for d in kb.documents()} == {"done"}
        assert consistent(kb)


@pytest.mark.slow
def test_an_unchanged_folder_is_skipped_without_embedding(
    tmp_path: Path, corpus: Path, minilm: MiniLMEmbedder
) -> None:
    with KnowledgeBase(tmp_path / "kb", embedder=minilm) as kb:
        kb.index([corpus], "notes")
    calls = minilm.encode_calls
    with KnowledgeBase(tmp_path / "kb", embedder=minilm) as kb:  # a new run, as from the CLI
        started = time.perf_counter()
        report = kb.index([corpus], "notes")
        elapsed = time.perf_counter() - started
    assert (report.indexed, report.skipped, report.chunks) == (0, 3, 0)
    assert minilm.encode_calls == calls
    assert elapsed < 1.0


@pytest.mark.slow
def test_a_changed_file_is_re_embedded_alone(
    tmp_path: Path, corpus: Path, minilm: MiniLMEmbedder
) -> None:
    with KnowledgeBase(tmp_path / "kb", embedder=minilm) as kb:
        kb.index([corpus], "notes")
        before = minilm.texts_embedded
        (corpus / "bread.md").write_text("# Rye bread\n\nRye needs a longer proof.\n")
        report = kb.index([corpus], "notes")
        assert (report.indexed, report.skipped) == (1, 2)
        assert minilm.texts_embedded - before == report.chunks == 1
        hits = kb.search("rye proofing time", ["notes"]).hits
        assert hits[0].text == "Rye needs a longer proof."
        assert "Sourdough" not in " ".join(h.text for h in hits)
        assert consistent(kb)


@pytest.mark.slow
def test_a_deleted_file_leaves_the_index(
    tmp_path: Path, corpus: Path, minilm: MiniLMEmbedder
) -> None:
    with KnowledgeBase(tmp_path / "kb", embedder=minilm) as kb:
        kb.index([corpus], "notes")
        (corpus / "router.txt").unlink()
        report = kb.index([corpus], "notes")
        assert report.removed == 1
        assert all(not h.source.endswith("router.txt") for h in kb.search("router reset").hits)
        assert consistent(kb)


# -- mechanics, with the tiny embedder -----------------------------------------------------------


def test_a_file_saved_again_unchanged_costs_a_hash_not_an_embedding(
    tiny_kb: KnowledgeBase, corpus: Path, tiny: TinyEmbedder
) -> None:
    tiny_kb.index([corpus], "notes")
    calls = tiny.encode_calls
    path = corpus / "router.txt"
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    report = tiny_kb.index([corpus], "notes")
    assert (report.skipped, report.chunks, tiny.encode_calls) == (3, 0, calls)
    assert tiny_kb.store.document("notes", str(path)).mtime_ns == path.stat().st_mtime_ns


def test_a_failing_file_is_recorded_and_the_rest_index(
    tiny_kb: KnowledgeBase, corpus: Path
) -> None:
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 100)
    report = tiny_kb.index([corpus], "notes")
    assert report.indexed == 3
    [failure] = report.failed
    assert failure.path == str(corpus / "broken.pdf") and failure.reason
    record = tiny_kb.store.document("notes", str(corpus / "broken.pdf"))
    assert record.state == "failed" and record.error == failure.reason


def test_an_unchanged_failed_file_is_reported_again_without_retrying(
    tiny_kb: KnowledgeBase, corpus: Path
) -> None:
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 100)
    first = tiny_kb.index([corpus], "notes")
    second = tiny_kb.index([corpus], "notes")
    assert second.failed == first.failed and second.skipped == 4


def test_progress_reports_files_chunks_bytes_and_ends_done(
    tiny_kb: KnowledgeBase, corpus: Path
) -> None:
    events: list[ProgressEvent] = []
    tiny_kb.index([corpus], "notes", progress=events.append)
    last = events[-1]
    assert last.phase == "done"
    assert (last.files_done, last.files_total) == (3, 3)
    assert last.bytes_done == last.bytes_total == sum(p.stat().st_size for p in corpus.iterdir())
    assert last.chunks_done == tiny_kb.store.chunk_count()
    files_done = [e.files_done for e in events]
    assert files_done == sorted(files_done)
    assert any(e.current and e.current.endswith(".md") for e in events)


def test_the_same_file_in_two_collections_is_two_documents(
    tiny_kb: KnowledgeBase, corpus: Path
) -> None:
    tiny_kb.index([corpus / "router.txt"], "home")
    tiny_kb.index([corpus / "router.txt"], "work")
    assert [c.name for c in tiny_kb.collections()] == ["home", "work"]
    assert {h.collection for h in tiny_kb.search("router reset button", ["work"]).hits} == {"work"}


def test_a_new_embedding_model_forces_a_clean_re_embed(tmp_path: Path, corpus: Path) -> None:
    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder("model-a", 32)) as kb:
        kb.index([corpus], "notes")
        old_ids = set(kb.store.chunk_ids())
    other = TinyEmbedder("model-b", 24)
    with KnowledgeBase(tmp_path / "kb", embedder=other) as kb:
        report = kb.index([corpus], "notes")
        assert kb.repair_report.reset_for_model == "model-b"
        assert report.indexed == 3 and report.chunks == other.texts_embedded
        assert not old_ids & set(kb.store.chunk_ids())
        assert kb.vectors.dimension == 24 and consistent(kb)
        assert kb.store.get_meta("embedding_model") == "model-b"


def test_searching_with_another_model_than_the_index_asks_for_a_reindex(
    tmp_path: Path, corpus: Path
) -> None:
    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder("model-a")) as kb:
        kb.index([corpus], "notes")
    from ember.errors import StorageError

    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder("model-b")) as kb:
        with pytest.raises(StorageError, match="ember docs reindex"):
            kb.search("router")


class SlowEmbedder(TinyEmbedder):
    def embed(self, texts):  # type: ignore[no-untyped-def]
        time.sleep(0.05)
        return super().embed(texts)


def test_cancel_stops_within_a_second_and_leaves_a_consistent_index(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for number in range(300):
        (folder / f"note{number:03}.txt").write_text(
            f"Note {number}. " + " ".join(f"word{number}x{i}." for i in range(40))
        )
    cancel = CancelToken()
    cancelled_at: list[float] = []

    def cancel_mid_run(event: ProgressEvent) -> None:
        # Cancel past the first pool of embeddings (~128 of the 300 notes, two chunks each):
        # those notes are complete and must be kept; the run is certainly not finished.
        if not cancelled_at and event.chunks_done > EMBED_POOL + 16:
            cancelled_at.append(time.perf_counter())
            cancel.cancel()

    embedder = SlowEmbedder()
    with KnowledgeBase(tmp_path / "kb", embedder=embedder) as kb:
        report = kb.index([folder], "notes", progress=cancel_mid_run, cancel=cancel)
        assert cancelled_at, "the run finished before it could be cancelled"
        cancel_lag = time.perf_counter() - cancelled_at[0]
        assert report.cancelled and cancel_lag < 1.0
        done = kb.store.documents(state="done")
        assert 0 < len(done) < 300
        assert report.indexed == len(done)
        done_ids = {d.id for d in done}
        rows = kb.store.chunk_rows(kb.store.chunk_ids())
        assert {r.document_id for r in rows.values()} == done_ids  # only finished ones searchable
        present = set(int(i) for i in kb.vectors.ids())
        assert all(cid in present for cid in rows)

    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder()) as kb:
        resumed = kb.index([folder], "notes")
        assert not resumed.cancelled
        assert len(kb.store.documents(state="done")) == 300
        assert consistent(kb)


def test_remove_forgets_every_document_under_a_folder(tiny_kb: KnowledgeBase, corpus: Path) -> None:
    tiny_kb.index([corpus], "notes")
    assert tiny_kb.remove(corpus) == 3
    assert tiny_kb.documents() == [] and len(tiny_kb.vectors) == 0


def test_reindex_retries_failures_and_redoes_everything_on_request(
    tiny_kb: KnowledgeBase, corpus: Path, tiny: TinyEmbedder
) -> None:
    tiny_kb.index([corpus], "notes")
    before = tiny.texts_embedded
    report = tiny_kb.reindex(everything=True)
    assert report.indexed == 3 and tiny.texts_embedded - before == report.chunks
    assert consistent(tiny_kb)


def test_vectors_of_the_index_are_normalised(tiny_kb: KnowledgeBase, corpus: Path) -> None:
    tiny_kb.index([corpus], "notes")
    ids = tiny_kb.vectors.ids()
    norms = np.linalg.norm(tiny_kb.vectors.reconstruct(ids), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)


# -- very large documents -------------------------------------------------------------------------


class CountingEmbedder(TinyEmbedder):
    """Counts the characters it is asked to tokenize: the chunker's work on a document."""

    def __init__(self) -> None:
        super().__init__()
        self.chars_counted = 0

    def count_tokens(self, texts):  # type: ignore[no-untyped-def]
        self.chars_counted += sum(len(t) for t in texts)
        return super().count_tokens(texts)


def test_a_document_past_the_chunk_cap_is_indexed_up_to_the_cap_with_a_warning(
    tmp_path: Path,
) -> None:
    huge = nasty_files.single_line_text(tmp_path / "one_line.txt", 3 * 1024 * 1024)
    small = tmp_path / "small.txt"
    small.write_text("A small note about the garden shed.\n")
    options = ChunkingOptions(max_tokens=254, max_chunks=40)
    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder(), chunking=options) as kb:
        report = kb.index([huge, small], "big")
        assert (report.indexed, report.failed) == (2, [])
        assert report.chunks == 41 == kb.store.chunk_count()  # 40 + the small note's one
        [notice] = report.warnings
        assert notice.path == str(huge)
        assert notice.message.startswith("indexed only the first 40 chunks of a very large file")
        assert report.as_json()["warnings"] == [{"path": str(huge), "message": notice.message}]
        assert {d.state for d in kb.documents()} == {"done"}
        assert consistent(kb)


def test_a_capped_document_is_chunked_no_further_than_the_cap(tmp_path: Path) -> None:
    # 8 MB of one line becomes 8 sections of 1 M characters; 40 chunks fit in the first.
    huge = nasty_files.single_line_text(tmp_path / "one_line.txt", 8 * 1024 * 1024)
    embedder = CountingEmbedder()
    options = ChunkingOptions(max_tokens=254, max_chunks=40)
    with KnowledgeBase(tmp_path / "kb", embedder=embedder, chunking=options) as kb:
        report = kb.index([huge], "big")
    assert report.chunks == 40
    assert embedder.chars_counted < 3 * MAX_SECTION_CHARS  # not the 8 M characters of the file


def test_a_document_exactly_at_the_cap_is_indexed_whole_without_a_warning(
    tmp_path: Path,
) -> None:
    path = tmp_path / "paragraphs.txt"
    path.write_text("\n\n".join(f"Paragraph {n} stands alone." for n in range(30)))
    options = ChunkingOptions(target_tokens=6, overlap_tokens=0, max_tokens=254, max_chunks=30)
    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder(), chunking=options) as kb:
        report = kb.index([path], "exact")
    assert (report.chunks, report.warnings) == (30, [])


def test_notes_from_parsing_reach_the_report_as_warnings(tmp_path: Path) -> None:
    path = tmp_path / "mixed.txt"
    # UTF-16 by its byte-order mark, with a lone surrogate that is no character at all.
    text = "Readable text about the garden shed.\n" * 20
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le") + b"\x00\xd8")
    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder()) as kb:
        report = kb.index([path], "notes")
    assert report.failed == [] and report.indexed == 1
    assert any("were replaced" in w.message for w in report.warnings), report.warnings
