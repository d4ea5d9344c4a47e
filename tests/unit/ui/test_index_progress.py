"""What the status bar and the sidebar say about indexing, from the core's own events, reports
and collection states."""

from __future__ import annotations

from ember.core import CollectionState
from ember.knowledge.ingest import IngestReport, ProgressEvent
from ember.knowledge.store import CollectionInfo
from ember.ui.index_progress import (
    ASK_BEFORE_STOPPING_AFTER_S,
    BAR_STEPS,
    bar_value,
    progress_text,
    should_ask_before_stopping,
    stop_question_text,
    summary_text,
)
from ember.ui.sidebar import Sidebar


def event(**changes: object) -> ProgressEvent:
    fields: dict[str, object] = {
        "files_done": 3,
        "files_total": 27,
        "chunks_done": 1744,
        "bytes_done": 12_000_000,
        "bytes_total": 40_000_000,
        "current": "/home/ada/Manuals/manual.pdf",
        "eta_s": 40.0,
        "elapsed_s": 95.0,
        "stage": "embedding",
        "passages_found": 2633,
        "fraction": 0.4,
    }
    return ProgressEvent(**{**fields, **changes})  # type: ignore[arg-type]


def test_embedding_reads_passages_of_passages_files_and_time_left() -> None:
    assert progress_text("manual", event()) == (
        "Indexing “manual”: Embedding 1,744 / 2,633 passages · 3 of 27 files · ~40 s left"
    )


def test_reading_a_pdf_names_the_page() -> None:
    text = progress_text("manual", event(stage="reading", page=120, pages=261))
    assert text.startswith("Indexing “manual”: Reading manual.pdf, page 120/261 · 3 of 27 files")


def test_the_cold_start_and_saving_are_named_without_an_estimate() -> None:
    loading = progress_text("manual", event(stage="loading", eta_s=None))
    assert loading == "Indexing “manual”: Loading the embedding model…"
    # Even with a stale estimate at hand, saving never says "~1 s left".
    assert progress_text("manual", event(stage="saving", eta_s=1.0)) == (
        "Indexing “manual”: Saving…"
    )


def test_the_bar_follows_the_work_done_and_is_busy_while_nothing_can_be_measured() -> None:
    assert bar_value(event(fraction=0.66)) == round(0.66 * BAR_STEPS)
    assert bar_value(event(stage="loading")) is None
    assert bar_value(event(stage="discovering", fraction=0.0)) is None


def test_a_stopped_run_says_what_was_embedded_and_kept() -> None:
    report = IngestReport(indexed=2, chunks=1744, cancelled=True)
    assert summary_text("manual", report, event()) == (
        "Stopped indexing “manual”: 1,744 of 2,633 passages embedded and kept "
        "(2 files searchable now); add the same files again to finish"
    )


def test_stopping_asks_once_work_would_be_lost_and_says_what_is_kept() -> None:
    assert not should_ask_before_stopping(None)
    assert not should_ask_before_stopping(event(chunks_done=0, elapsed_s=2.0))
    assert should_ask_before_stopping(event(chunks_done=0, elapsed_s=ASK_BEFORE_STOPPING_AFTER_S))
    assert should_ask_before_stopping(event(chunks_done=16, elapsed_s=3.0))
    # Only what is saved to disk is kept: passages embedded since the last save are not.
    assert stop_question_text("manual", event(passages_saved=1600)) == (
        "Stop indexing “manual”? The 1,600 passages saved so far are kept; "
        "add the same files again to finish."
    )
    assert stop_question_text("manual", event()) == (
        "Stop indexing “manual”? Nothing is saved yet; adding the files again starts over."
    )


def _rows(sidebar: Sidebar) -> list[str]:
    return [sidebar.collections.item(r).text() for r in range(sidebar.collections.count())]


def test_the_sidebar_counts_passages_while_indexing_and_keeps_its_current_row(qtbot) -> None:
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    states = [
        CollectionState(CollectionInfo("manual", 0, 0)),
        CollectionState(CollectionInfo("notes", 12, 340)),
    ]
    sidebar.set_collections(states, "manual", 0)
    sidebar.collections.setCurrentRow(1)
    sidebar.set_collections(states, "manual", 1744)
    assert _rows(sidebar) == [
        "manual\nindexing · 1,744 passages so far",
        "notes\n12 files · ready",
    ]
    assert sidebar.collections.currentRow() == 1  # a progress update does not rebuild the list


def test_the_sidebar_says_what_an_unfinished_collection_keeps(qtbot) -> None:
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    stopped = CollectionState(
        CollectionInfo("manual", 0, 0), unfinished=1, unfinished_passages=2633
    )
    partly = CollectionState(CollectionInfo("docs", 3, 120), unfinished=1, unfinished_passages=80)
    sidebar.set_collections([stopped, partly], None)
    assert _rows(sidebar) == [
        "manual\n2,633 passages kept · unfinished",
        "docs\n3 files · 200 passages kept · unfinished",
    ]
    tip = sidebar.collections.item(0).toolTip()
    assert "not searchable yet" in tip and "Add the same files again" in tip
