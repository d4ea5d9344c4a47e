"""What the Models page writes in its rows, as plain text: sizes, speeds, times left, a
download's state, a fit label, where a model on disk came from.

No widgets here: the page and its download rows draw these strings, and tests read them.
Sizes are bytes, speeds bytes per second, times seconds (as in :mod:`ember.hub.types`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ember.units import duration_text, size_text

if TYPE_CHECKING:
    from ember.catalog import ModelEntry
    from ember.hub.types import DownloadEvent

# A fit label ("fits", "tight", "wont_fit" from ember.engines.fit) → the style sheet's object
# name for its colour; an unknown fit (the header could not be read) is muted.
FIT_STYLES = {"fits": "FitGood", "tight": "FitTight", "wont_fit": "FitBad"}
ORIGINS = {
    "file": "added from a file",
    "ollama": "from Ollama",
    "lm-studio": "from LM Studio",
    "hf-cache": "from the Hugging Face cache",
    "gpt4all": "from GPT4All",
    "": "Ember's catalog",
}


def speed_text(bps: float) -> str:
    """``12.4 MB/s``; ``—`` when nothing is flowing."""
    return f"{size_text(bps)}/s" if bps > 0 else "—"


def eta_text(seconds: float | None) -> str:
    """``45 s left``, ``3 min left``, ``1 h 12 min left``; ``""`` when not known."""
    if seconds is None or seconds < 0:
        return ""
    return f"{duration_text(seconds)} left"


def download_status(event: DownloadEvent) -> str:
    """One line for a download: ``312 MB of 812 MB · 12.4 MB/s · 40 s left`` while it runs,
    ``stalled — retrying in 8 s``, ``paused at 312 MB of 812 MB``, ``checking the file…``,
    ``ready``, ``failed: …``, ``cancelled``."""
    done = size_text(event.bytes_done)
    of = f"{done} of {size_text(event.bytes_total)}" if event.bytes_total else done
    state = event.state
    if state == "stalled":
        wait = "" if event.retry_in_s is None else f" in {max(0, round(event.retry_in_s))} s"
        why = f" ({event.message})" if event.message else ""
        return f"{of} · stalled — retrying{wait}{why}"
    if state == "downloading":
        parts = [of, speed_text(event.speed_bps)]
        left = eta_text(event.eta_s)
        if left:
            parts.append(left)
        return " · ".join(parts)
    if state == "queued":
        return f"waiting to start · {of}" if event.bytes_done else "waiting to start"
    if state == "paused":
        return f"paused at {of}"
    if state == "verifying":
        return "checking the file (sha256)…"
    if state == "done":
        return "ready" + (f" · {event.message}" if event.message else "")
    if state == "failed":
        return f"failed: {event.message}" if event.message else "failed"
    return "cancelled"


def origin_text(entry: ModelEntry) -> str:
    """Where a model on disk came from: ``downloaded from Qwen/Qwen2.5-…-GGUF``, ``from Ollama``…"""
    if entry.origin.startswith("hub:"):
        return f"downloaded from {entry.origin.removeprefix('hub:')}"
    return ORIGINS.get(entry.origin, entry.origin)


def quant_label(quantization: str, split_parts: int) -> str:
    """``Q4_K_M``, ``Q8_0 · 3 parts``; ``(unnamed)`` when the file name gives none."""
    name = quantization or "(unnamed)"
    return f"{name} · {split_parts} parts" if split_parts > 1 else name


def context_text(n_ctx_train: int | None) -> str:
    """``32,768 tokens``; ``unknown`` before the header is read."""
    return f"{n_ctx_train:,} tokens" if n_ctx_train else "unknown"
