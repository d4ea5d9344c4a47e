"""What the status bar says about an indexing run: its progress line, its summary, and the
question asked before a long run is stopped. Plain text from the core's events and reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ember.knowledge.progress import stage_text

if TYPE_CHECKING:
    from ember.knowledge.ingest import IngestReport, ProgressEvent

# A run stopped this early, with nothing embedded yet, stops without asking: little is lost.
ASK_BEFORE_STOPPING_AFTER_S = 10.0
BAR_STEPS = 1000  # the progress bar's range: fractions of a run in tenths of a percent


def eta_text(seconds: float | None) -> str:
    """``~N s left`` / ``~N min left`` for an estimate in seconds; "" when there is none."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"~{max(1, round(seconds))} s left"
    return f"~{round(seconds / 60)} min left"


def progress_text(collection: str, event: ProgressEvent) -> str:
    """``Indexing “manual”: Embedding 1,744 / 2,633 passages · 3 of 27 files · ~40 s left``."""
    parts = [f"Indexing “{collection}”: {stage_text(event)}"]
    if event.stage not in ("discovering", "loading", "saving", "done") and event.files_total:
        parts.append(f"{event.files_done:,} of {event.files_total:,} files")
    if event.stage not in ("saving", "loading"):
        eta = eta_text(event.eta_s)
        if eta:
            parts.append(eta)
    if event.failed:
        parts.append(f"{event.failed:,} failed")
    return " · ".join(parts)


def bar_value(event: ProgressEvent) -> int | None:
    """The bar's value in ``BAR_STEPS``, or None for a busy bar (nothing measurable yet)."""
    if event.stage in ("discovering", "loading") or event.fraction is None:
        return None
    return round(event.fraction * BAR_STEPS)


def plural(count: int, word: str) -> str:
    """``1 file``, ``2 files``, ``1,040 passages``: a count with its noun."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def finish_advice(again: bool) -> str:
    """How to finish a stopped run, for the way it started: files added (or a watched folder's)
    are added again, a re-index from the documents page is asked for again there."""
    if again:
        return "re-index on the documents page to finish"
    return "add the same files again to finish (finished ones are not read again)"


def summary_text(collection: str, result: IngestReport, again: bool = False) -> str:
    """The finished (or stopped) run in one line. Its passages are this run's; the collection's
    own count is the sidebar's. A stopped run names only the files it finished, which are
    searchable (a file is searchable once all its passages are in), and how to finish."""
    if not result.cancelled:
        return (
            f"Indexed “{collection}”: {plural(result.indexed, 'new or changed file')}, "
            f"{result.skipped:,} unchanged, {plural(result.chunks, 'passage')} embedded"
        )
    done = (
        f"{plural(result.indexed, 'file')} finished and searchable"
        if result.indexed
        else "no file finished yet"
    )
    return f"Stopped indexing “{collection}”: {done}; {finish_advice(again)}"


def not_indexed(result: IngestReport) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(failed, skipped)`` files of a run as (path, reason), as the documents page lists them:
    a file passed over (a binary file) is skipped even when it was named, never both."""
    passed = {f.path for f in result.passed_over}
    failed = [(f.path, f.reason) for f in result.failed if f.path not in passed]
    return failed, [(f.path, f.reason) for f in result.passed_over]


def report_button_text(result: IngestReport) -> str:
    """``1 failed, 1 skipped, 2 warnings — details``; "" when there is nothing to tell."""
    failed, skipped = not_indexed(result)
    parts = [f"{len(failed):,} failed"] if failed else []
    if skipped:
        parts.append(f"{len(skipped):,} skipped")
    if result.warnings:
        parts.append(plural(len(result.warnings), "warning"))
    return f"{', '.join(parts)} — details" if parts else ""


def should_ask_before_stopping(last: ProgressEvent | None) -> bool:
    """Whether stopping now would throw away enough work to ask first: something embedded, or
    the run has gone on for a while (files read are kept too, but the person should know)."""
    if last is None:
        return False
    return last.chunks_done > 0 or last.elapsed_s >= ASK_BEFORE_STOPPING_AFTER_S


def stop_question_text(collection: str, last: ProgressEvent, again: bool = False) -> str:
    """ "Stop indexing “manual”? The 1,744 passages saved so far are kept; …": only what is
    saved to disk counts (passages embedded since the last save are embedded again later)."""
    if last.passages_saved:
        return (
            f"Stop indexing “{collection}”? The {last.passages_saved:,} passages saved so far "
            f"are kept; {finish_advice(again)}."
        )
    return f"Stop indexing “{collection}”? Nothing is saved yet; indexing again starts over."
