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


def summary_text(collection: str, result: IngestReport, last: ProgressEvent | None) -> str:
    """The finished (or stopped) run in one line, counting what was kept."""
    if not result.cancelled:
        return (
            f"Indexed “{collection}”: {result.indexed:,} new or changed "
            f"file{'' if result.indexed == 1 else 's'}, {result.skipped:,} unchanged, "
            f"{result.chunks:,} passages"
        )
    found = last.passages_found if last is not None else 0
    embedded = (
        f"{result.chunks:,} of {found:,} passages embedded"
        if found > result.chunks
        else f"{result.chunks:,} passages embedded"
    )
    searchable = (
        f" ({result.indexed:,} file{'' if result.indexed == 1 else 's'} searchable now)"
        if result.indexed
        else ""
    )
    return (
        f"Stopped indexing “{collection}”: {embedded} and kept{searchable}; "
        "add the same files again to finish"
    )


def should_ask_before_stopping(last: ProgressEvent | None) -> bool:
    """Whether stopping now would throw away enough work to ask first: something embedded, or
    the run has gone on for a while (files read are kept too, but the person should know)."""
    if last is None:
        return False
    return last.chunks_done > 0 or last.elapsed_s >= ASK_BEFORE_STOPPING_AFTER_S


def stop_question_text(collection: str, last: ProgressEvent) -> str:
    """ "Stop indexing “manual”? The 1,744 passages saved so far are kept; …": only what is
    saved to disk counts (passages embedded since the last save are embedded again later)."""
    if last.passages_saved:
        return (
            f"Stop indexing “{collection}”? The {last.passages_saved:,} passages saved so far "
            "are kept; add the same files again to finish."
        )
    return (
        f"Stop indexing “{collection}”? Nothing is saved yet; adding the files again starts over."
    )
