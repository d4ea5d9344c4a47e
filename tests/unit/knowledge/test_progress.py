"""Indexing progress tells the truth: stages, pages read, passages found and embedded, and a bar
and an estimate that count the work actually done."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from tests.support.nasty_files import write_pdf
from tests.support.tiny_embedder import TinyEmbedder

from ember.knowledge import KnowledgeBase
from ember.knowledge.embedder import MiniLMEmbedder
from ember.knowledge.progress import ProgressEvent, ProgressMeter, estimate, stage_text

PAGE_TEXT = (
    "Page {n} of the Zephyr router manual. The status light blinks purple while the router "
    "restarts; hold the pinhole button for fifteen seconds to reset it. "
) * 6


@pytest.fixture
def manual(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    write_pdf(folder / "manual.pdf", [PAGE_TEXT.format(n=n) for n in range(1, 41)])
    (folder / "notes.md").write_text("# Notes\n\nThe guest network has its own password.\n")
    return folder


def _index(kb: KnowledgeBase, folder: Path) -> list[ProgressEvent]:
    events: list[ProgressEvent] = []
    report = kb.index([folder], "manuals", progress=events.append)
    assert not report.failed and report.chunks > 40
    return events


def test_a_pdf_is_read_page_by_page_through_the_sandbox(tmp_path: Path, manual: Path) -> None:
    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder()) as kb:
        events = _index(kb, manual)
    pages = [(e.page, e.pages) for e in events if e.stage == "reading" and e.page]
    assert pages, "no page of the PDF was reported"
    assert {total for _, total in pages} == {40}
    assert pages[-1] == (40, 40)  # the last page always reports
    assert [page for page, _ in pages] == sorted(page for page, _ in pages)
    shown = stage_text(next(e for e in events if e.page))
    assert shown.startswith("Reading manual.pdf, page ") and shown.endswith("/40")


def test_stages_advance_and_passages_are_counted_found_then_embedded(
    tmp_path: Path, manual: Path
) -> None:
    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder()) as kb:
        events = _index(kb, manual)
        stored = kb.store.chunk_count()
    stages = [e.stage for e in events]
    order = ["discovering", "reading", "embedding", "saving", "done"]
    assert [s for s in dict.fromkeys(stages) if s in order] == order
    assert stages[-2:] == ["saving", "done"]
    found = [e.passages_found for e in events]
    embedded = [e.passages_embedded for e in events]
    assert found == sorted(found) and embedded == sorted(embedded)
    assert events[-1].passages_found == events[-1].passages_embedded == stored
    # What is saved to disk never runs ahead of what is embedded, and ends equal to it.
    assert all(e.passages_saved <= e.passages_embedded for e in events)
    assert events[-1].passages_saved == stored
    middle = [e for e in events if e.stage == "embedding" and e.chunks_done < stored]
    assert middle and all(0 < e.passages_embedded < e.passages_found for e in middle)
    fractions = [e.fraction for e in events if e.fraction is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    # While passages remain to embed the bar is not full, whatever the files say.
    assert all(e.fraction is not None and e.fraction < 1.0 for e in middle)


def test_saving_shows_no_time_left(tmp_path: Path, manual: Path) -> None:
    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder()) as kb:
        events = _index(kb, manual)
    saving = [e for e in events if e.stage == "saving"]
    assert saving and all(e.eta_s is None for e in saving)
    assert stage_text(saving[0]) == "Saving…"


@pytest.mark.slow
def test_the_embedding_models_cold_start_is_a_stage_of_its_own(
    tmp_path: Path, manual: Path
) -> None:
    cold = MiniLMEmbedder()  # not the shared one: its weights are not loaded yet
    assert not cold.loaded
    with KnowledgeBase(tmp_path / "kb", embedder=cold) as kb:
        events = _index(kb, manual)
    stages = [e.stage for e in events]
    loading = stages.index("loading")
    assert "embedding" not in stages[:loading] and "embedding" in stages[loading:]
    assert stage_text(events[loading]) == "Loading the embedding model…"
    assert cold.loaded


def test_the_estimate_counts_passages_still_to_embed_once_every_file_is_read() -> None:
    # All bytes read in 2 s; 800 of 2,000 passages embedded in 8 s: 1,200 more take 12 s.
    fraction, eta = estimate(
        bytes_done=10_000_000,
        bytes_total=10_000_000,
        passages_found=2000,
        passages_embedded=800,
        read_s=2.0,
        embed_s=8.0,
    )
    assert eta == pytest.approx(12.0)
    assert fraction == pytest.approx(10.0 / 22.0)


def test_the_estimate_extrapolates_passages_of_files_not_read_yet() -> None:
    # Half the bytes gave 1,000 passages: the other half should give about as many.
    _, eta = estimate(
        bytes_done=5_000_000,
        bytes_total=10_000_000,
        passages_found=1000,
        passages_embedded=1000,
        read_s=5.0,
        embed_s=10.0,
    )
    assert eta == pytest.approx(5.0 + 10.0)


def test_the_bar_moves_with_every_batch_when_embedding_is_slower_than_guessed() -> None:
    """Reading a big PDF took 20 s; embedding then turns out ten times slower than the guess
    the bar was drawn with. The bar must not sit still until the work catches up with it."""
    meter = ProgressMeter()
    meter.files_total, meter.bytes_total = 1, 8_000_000
    meter.start_file("/docs/manual.pdf", 8_000_000)
    meter.end_file()
    meter.read_s, meter.passages_found = 20.0, 1000

    def shown(embedded: int) -> float:
        meter.embed_s = embedded * 0.3  # measured: 0.3 s per passage
        event = meter.event(phase="indexing", stage="embedding", chunks_done=embedded, failed=0)
        assert event.fraction is not None
        return event.fraction

    before = shown(0)
    fractions = [shown(32 * batch) for batch in range(1, 12)]
    assert fractions[0] >= before  # never backwards, though the estimate was revised down
    assert all(later > earlier for earlier, later in itertools.pairwise(fractions))
    assert fractions[-1] < 1.0 and shown(1000) == 1.0  # full only when all is embedded


def test_the_last_page_of_a_large_pdf_is_not_almost_done() -> None:
    """Page 261 of 261 read: the file's passages are still to be found and embedded, so the run
    is not "~1 s left" (it was, and stayed so for the whole embedding)."""
    meter = ProgressMeter()
    meter.files_total, meter.bytes_total = 1, 8_000_000
    meter.start_file("/docs/manual.pdf", 8_000_000)
    meter.page, meter.pages = 261, 261
    event = meter.event(phase="indexing", stage="reading", chunks_done=0, failed=0)
    assert event.eta_s is None  # embedding not measured yet: no estimate rather than a wrong one
    assert event.fraction is not None and event.fraction < 0.5


def test_no_estimate_before_the_embedding_rate_is_measured() -> None:
    fraction, eta = estimate(
        bytes_done=12_000_000,
        bytes_total=12_000_000,
        passages_found=2633,
        passages_embedded=0,
        read_s=30.0,
        embed_s=0.0,
    )
    assert eta is None and 0.0 < fraction < 1.0


def test_stage_sentences_use_thousands_separators() -> None:
    event = ProgressEvent(
        files_done=3,
        files_total=27,
        chunks_done=1744,
        bytes_done=0,
        bytes_total=0,
        current=None,
        eta_s=40.0,
        elapsed_s=60.0,
        stage="embedding",
        passages_found=2633,
    )
    assert stage_text(event) == "Embedding 1,744 / 2,633 passages"
    reading = ProgressEvent(
        0, 1, 0, 0, 12_400_000, "/x/big.docx", None, 1.0, stage="reading",
        current_bytes=12_400_000,
    )  # fmt: skip
    assert stage_text(reading) == "Reading big.docx (12.4 MB)"


@pytest.mark.slow
def test_the_helper_process_passes_every_progress_field_to_the_window(
    tmp_path: Path, manual: Path
) -> None:
    from ember.cancel import CancelToken
    from ember.knowledge.helper import index_in_helper

    events: list[ProgressEvent] = []
    report = index_in_helper(tmp_path / "kb", [manual], "manuals", events.append, CancelToken())
    assert report.chunks > 40
    assert all(isinstance(e, ProgressEvent) for e in events)
    stages = set(e.stage for e in events)
    assert {"discovering", "reading", "embedding", "saving", "done"} <= stages
    assert any(e.page and e.pages == 40 for e in events)
    assert events[-1].passages_found == events[-1].passages_embedded == report.chunks
    assert events[-1].fraction == 1.0
