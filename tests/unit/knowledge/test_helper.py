"""Indexing and retrieval in the knowledge helper process (real MiniLM, FAISS and SQLite).

The window never runs torch or FAISS itself: these tests drive the helper directly
(:mod:`ember.knowledge.helper`), the way the core does for the UI's workers, and check what the person relies on: progress, per-file errors, cancel within a
second with a consistent index afterwards, and answers with their sources.
"""

from __future__ import annotations

import codecs
import time
from pathlib import Path

import pytest

from ember.cancel import CancelToken
from ember.db import integrity_ok
from ember.errors import StorageError
from ember.knowledge import KnowledgeBase
from ember.knowledge.helper import RetrievalHelper, index_in_helper
from ember.knowledge.ingest import ProgressEvent

ROUTER = """# Zephyr router manual

## Resetting the router

To reset the Zephyr router to factory settings, hold the red pinhole button on the back
for fifteen seconds until the status light blinks purple.
"""

GARDEN = "# Tomato notes\n\nTomatoes need at least six hours of direct sun every day.\n"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[object], object]:
    """A knowledge folder with three notes (one slightly damaged) and a broken PDF, indexed once
    by the helper."""
    root = tmp_path_factory.mktemp("helper")
    library = root / "manuals"
    library.mkdir()
    (library / "router.md").write_text(ROUTER, encoding="utf-8")
    (library / "garden.md").write_text(GARDEN, encoding="utf-8")
    (library / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    # UTF-16 by its byte-order mark, ending in a lone surrogate: indexed, with a warning.
    shed = "Readable notes about the garden shed and its rusty hinges.\n" * 4
    (library / "shed.txt").write_bytes(codecs.BOM_UTF16_LE + shed.encode("utf-16-le") + b"\x00\xd8")
    events: list[object] = []
    result = index_in_helper(root / "kb", [library], "manuals", events.append, CancelToken())
    return root / "kb", events, result


def test_the_helper_indexes_files_and_reports_each_one_that_failed(indexed) -> None:
    _kb_dir, _events, result = indexed
    assert not result.cancelled
    assert result.indexed == 3 and result.chunks >= 3
    assert [Path(failure.path).name for failure in result.failed] == ["broken.pdf"]
    assert result.failed[0].reason  # a reason a person can read


def test_the_helper_reports_files_indexed_with_a_warning(indexed) -> None:
    _kb_dir, _events, result = indexed
    [notice] = result.warnings
    assert Path(notice.path).name == "shed.txt" and "were replaced" in notice.message


def test_the_helper_reports_progress_with_files_chunks_and_phase(indexed) -> None:
    _kb_dir, events, _result = indexed
    progress = [e for e in events if isinstance(e, ProgressEvent)]
    assert progress, "no progress reached the window"
    assert max(e.files_total for e in progress) == 4
    last = progress[-1]
    assert (
        last.phase == "done" and last.files_done == 4 and last.chunks_done >= 3 and last.failed == 1
    )


def test_retrieval_in_the_helper_cites_the_right_file(indexed) -> None:
    kb_dir, _events, _result = indexed
    retriever = RetrievalHelper(kb_dir)
    try:
        grounding = retriever.retrieve("How do I reset the Zephyr router?", ["manuals"])
        again = retriever.retrieve("How much sun do tomatoes need?", ["manuals"])
    finally:
        retriever.close()
    assert not grounding.abstained and "pinhole" in grounding.context
    assert Path(grounding.citations[0].source).name == "router.md"
    assert grounding.citations[0].heading and "Resetting" in grounding.citations[0].heading
    assert Path(again.citations[0].source).name == "garden.md"


def test_a_search_in_the_helper_gives_the_hits_this_process_would_find(indexed) -> None:
    """What MCP's search_documents runs in the window: the same hits, found in the helper."""
    kb_dir, _events, _result = indexed
    retriever = RetrievalHelper(kb_dir)
    try:
        remote = retriever.search("factory reset with the pinhole", ["manuals"], 3)
    finally:
        retriever.close()
    with KnowledgeBase(kb_dir) as kb:
        local = kb.search("factory reset with the pinhole", ["manuals"], 3)
    assert Path(remote.hits[0].source).name == "router.md"
    assert [(h.chunk_id, h.text, h.page) for h in remote.hits] == [
        (h.chunk_id, h.text, h.page) for h in local.hits
    ]
    assert remote.best_similarity == pytest.approx(local.best_similarity, abs=1e-5)


def test_a_knowledge_base_error_reaches_the_window_in_its_own_words(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="collection name"):
        index_in_helper(tmp_path / "kb", [tmp_path], "", lambda _e: None, CancelToken())


def test_cancel_stops_the_helper_within_a_second_and_the_index_stays_consistent(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    for n in range(80):
        body = " ".join(f"Note {n} says fact {i} about rivers." for i in range(20))
        (folder / f"note{n:03}.txt").write_text(body, encoding="utf-8")
    kb_dir = tmp_path / "kb"
    cancel = CancelToken()
    cancelled_at: list[float] = []

    def report(event: object) -> None:
        # Cancel once embedding is under way, like a person pressing Cancel mid-run.
        if isinstance(event, ProgressEvent) and event.chunks_done > 0 and not cancelled_at:
            cancelled_at.append(time.perf_counter())
            cancel.cancel()

    result = index_in_helper(kb_dir, [folder], "notes", report, cancel)
    lag = time.perf_counter() - cancelled_at[0]
    assert result.cancelled and lag < 1.0

    with KnowledgeBase(kb_dir) as kb:
        kb.repair()  # what the next writer does on open
        vector_ids = sorted(int(i) for i in kb.vectors.ids())
        assert vector_ids == sorted(set(vector_ids)), "duplicate vectors"
        assert set(vector_ids) <= set(kb.store.chunk_ids())
        assert integrity_ok(kb.store.conn)
        done = kb.store.documents(state="done")
        assert len(done) < 80
        for record in done:
            ids = {cid for cid, _ in kb.store.pending_chunks(record.id)}
            assert ids <= set(vector_ids), f"{record.path} done without its vectors"

    resumed = index_in_helper(kb_dir, [folder], "notes", lambda _e: None, CancelToken())
    assert not resumed.cancelled and resumed.indexed + resumed.skipped == 80
    with KnowledgeBase(kb_dir) as kb:
        assert len(kb.store.documents(state="done")) == 80
        assert sorted(kb.store.chunk_ids()) == sorted(int(i) for i in kb.vectors.ids())
