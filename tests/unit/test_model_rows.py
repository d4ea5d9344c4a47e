"""What the Models page writes for sizes, speeds, times left, download states and origins."""

from __future__ import annotations

from ember.catalog import ModelEntry
from ember.hub.types import DownloadEvent
from ember.ui.model_rows import (
    context_text,
    download_status,
    eta_text,
    origin_text,
    quant_label,
    speed_text,
)


def _event(state: str, **kw: object) -> DownloadEvent:
    values: dict[str, object] = {"bytes_done": 312_000_000, "bytes_total": 812_000_000}
    values.update(kw)
    return DownloadEvent("j1", "Qwen/Qwen2.5-1.5B-Instruct-GGUF · Q4_K_M", state, **values)  # type: ignore[arg-type]


def test_speeds_and_times_read_as_a_person_says_them() -> None:
    # sizes as ember.units writes them (tests/unit/test_units.py)
    assert speed_text(12_400_000) == "12.4 MB/s"
    assert speed_text(0) == "—"
    assert eta_text(None) == ""
    assert eta_text(44.6) == "45 s left"
    assert eta_text(185) == "3 min left"
    assert eta_text(4320) == "1 h 12 min left"


def test_a_running_download_shows_bytes_speed_and_time_left() -> None:
    text = download_status(_event("downloading", speed_bps=12_400_000, eta_s=40))
    assert text == "312 MB of 812 MB · 12.4 MB/s · 40 s left"


def test_a_stalled_download_says_when_it_retries_and_why() -> None:
    text = download_status(_event("stalled", retry_in_s=7.6, message="server busy (503)"))
    assert text == "312 MB of 812 MB · stalled — retrying in 8 s (server busy (503))"


def test_paused_failed_and_done_downloads_say_so() -> None:
    assert download_status(_event("paused")) == "paused at 312 MB of 812 MB"
    failed = download_status(_event("failed", message="sha256 mismatch: the file was deleted"))
    assert failed == "failed: sha256 mismatch: the file was deleted"
    assert download_status(_event("done")) == "ready"
    assert download_status(_event("verifying")).startswith("checking the file")
    assert download_status(_event("queued", bytes_done=0)) == "waiting to start"


def test_origins_quants_and_contexts() -> None:
    entry = ModelEntry(
        "m", "M", "llama", "llama.cpp", "m.gguf", 1, "Q4_K_M", "", 0, "", "", "",
        origin="hub:Qwen/Qwen2.5-1.5B-Instruct-GGUF",
    )  # fmt: skip
    assert origin_text(entry) == "downloaded from Qwen/Qwen2.5-1.5B-Instruct-GGUF"
    from dataclasses import replace

    assert origin_text(replace(entry, origin="ollama")) == "from Ollama"
    assert quant_label("Q8_0", 3) == "Q8_0 · 3 parts"
    assert quant_label("", 1) == "(unnamed)"
    assert context_text(32768) == "32,768 tokens"
    assert context_text(None) == "unknown"
