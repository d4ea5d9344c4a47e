"""What the status bar and the sidebar say about indexing, from the core's own events, reports
and collection states."""

from __future__ import annotations

from ember.core import CollectionState
from ember.knowledge.ingest import Failure, IngestReport, Notice, ProgressEvent
from ember.knowledge.store import CollectionInfo
from ember.ui.index_progress import (
    ASK_BEFORE_STOPPING_AFTER_S,
    BAR_STEPS,
    bar_value,
    progress_text,
    report_button_text,
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


def test_a_stopped_run_names_the_files_it_finished_and_how_to_finish_for_how_it_started() -> None:
    report = IngestReport(indexed=2, chunks=310, cancelled=True)
    # No passage count of its own: the sidebar and the documents page count the collection's.
    added = summary_text("Garden docs", report)
    assert added == (
        "Stopped indexing “Garden docs”: 2 files finished and searchable; "
        "add the same files again to finish (finished ones are not read again)"
    )
    assert "310" not in added and "kept" not in added
    # Started by the documents page's Re-index: no files were added, so none are added again.
    again = summary_text("Garden docs", report, again=True)
    assert again.endswith(
        "2 files finished and searchable; re-index on the documents page to finish"
    )
    nothing = summary_text("Garden docs", IngestReport(cancelled=True), again=True)
    assert nothing.startswith("Stopped indexing “Garden docs”: no file finished yet; re-index")
    one = summary_text("g", IngestReport(indexed=1, chunks=1, cancelled=False))
    assert one == "Indexed “g”: 1 new or changed file, 0 unchanged, 1 passage embedded"


def test_the_report_button_counts_failed_and_skipped_files_with_proper_plurals() -> None:
    report = IngestReport(
        indexed=7,
        failed=[Failure("/d/broken.pdf", "damaged PDF"), Failure("/d/named.bin", "unsupported")],
        passed_over=[Failure("/d/blob.bin", "unsupported"), Failure("/d/named.bin", "unsupported")],
        warnings=[Notice("/d/a.txt", "cut")],
    )
    # A file passed over is skipped, as the documents page lists it, even when it was named.
    assert report_button_text(report) == "1 failed, 2 skipped, 1 warning — details"
    assert report_button_text(IngestReport(passed_over=[Failure("/d/b.bin", "x")])) == (
        "1 skipped — details"
    )
    assert report_button_text(IngestReport(indexed=3)) == ""


def test_stopping_asks_once_work_would_be_lost_and_says_what_is_kept() -> None:
    assert not should_ask_before_stopping(None)
    assert not should_ask_before_stopping(event(chunks_done=0, elapsed_s=2.0))
    assert should_ask_before_stopping(event(chunks_done=0, elapsed_s=ASK_BEFORE_STOPPING_AFTER_S))
    assert should_ask_before_stopping(event(chunks_done=16, elapsed_s=3.0))
    # Only what is saved to disk is kept: passages embedded since the last save are not.
    assert stop_question_text("manual", event(passages_saved=1600)) == (
        "Stop indexing “manual”? The 1,600 passages saved so far are kept; "
        "add the same files again to finish (finished ones are not read again)."
    )
    assert stop_question_text("manual", event(passages_saved=16), again=True).endswith(
        "are kept; re-index on the documents page to finish."
    )
    assert stop_question_text("manual", event()) == (
        "Stop indexing “manual”? Nothing is saved yet; indexing again starts over."
    )


def _rows(sidebar: Sidebar) -> list[str]:
    return [sidebar.collections.item(r).text() for r in range(sidebar.collections.count())]


def test_the_sidebar_counts_this_runs_passages_while_indexing_and_keeps_its_current_row(
    qtbot,
) -> None:
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    states = [
        CollectionState(CollectionInfo("manual", 5, 1089)),  # being re-indexed: replaced
        CollectionState(CollectionInfo("notes", 12, 340)),
    ]
    sidebar.set_collections(states, "manual", 0)
    assert _rows(sidebar)[0] == "manual\nindexing…"
    sidebar.collections.setCurrentRow(1)
    sidebar.set_collections(states, "manual", 310)
    assert _rows(sidebar) == [
        "manual\nindexing · 310 passages embedded",  # not 1,089 + 310
        "notes\n12 files · ready",
    ]
    assert sidebar.collections.currentRow() == 1  # a progress update does not rebuild the list


def test_the_sidebar_counts_searchable_passages_of_an_unfinished_collection(qtbot) -> None:
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    stopped = CollectionState(
        CollectionInfo("manual", 0, 0), unfinished=1, unfinished_passages=2633
    )
    partly = CollectionState(
        CollectionInfo("Garden docs", 5, 71), unfinished=1, unfinished_passages=1018
    )
    sidebar.set_collections([stopped, partly], None)
    assert _rows(sidebar) == [
        "manual\n0 passages searchable · unfinished",
        "Garden docs\n71 passages searchable · unfinished",  # not 71 + 1,018 "kept"
    ]
    tip = sidebar.collections.item(1).toolTip()
    assert "5 files searchable, 71 passages" in tip
    assert "1 file is not finished: its 1,018 passages are not searchable yet" in tip
    assert "add the same files again, or Re-index on the documents page" in tip


def test_the_sidebar_counts_failed_and_skipped_files(qtbot) -> None:
    sidebar = Sidebar()
    qtbot.addWidget(sidebar)
    manuals = CollectionState(
        CollectionInfo("manuals", 7, 1104), failures=("broken.pdf: damaged PDF",), skipped=1
    )
    photos = CollectionState(CollectionInfo("photos", 2, 30), skipped=3)
    sidebar.set_collections([manuals, photos], None)
    assert _rows(sidebar) == [
        "manuals\n7 files · 1 failed, 1 skipped",
        "photos\n2 files · 3 skipped",
    ]
