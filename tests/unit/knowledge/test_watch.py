from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ember.cancel import CancelToken
from ember.knowledge import KnowledgeBase
from ember.knowledge import watch as watch_module
from ember.knowledge.ingest import IngestReport
from ember.knowledge.watch import ChangeSignal, watch


def run_watch(
    kb: KnowledgeBase, folder: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: object
) -> tuple[CancelToken, list[IngestReport], threading.Thread]:
    """Start ``watch`` in a thread; returns once it is watching (a change made after this
    returns is seen: the watchdog observer is running, or the folder is polled)."""
    cancel = CancelToken()
    reports: list[IngestReport] = []
    watching = threading.Event()
    start_observer = watch_module._start_observer

    def start_observer_then_say_so(*args: object) -> object:
        observer = start_observer(*args)  # the real observer; only its readiness is reported
        watching.set()
        return observer

    monkeypatch.setattr(watch_module, "_start_observer", start_observer_then_say_so)
    thread = threading.Thread(
        target=watch,
        args=(kb, [folder], "watched"),
        kwargs={"cancel": cancel, "on_report": reports.append, **kwargs},
        daemon=True,
    )
    thread.start()
    if kwargs.get("use_watchdog", True):
        assert watching.wait(15), "the watcher did not start"
    # Polling needs no readiness: every poll indexes the folder as it is then.
    return cancel, reports, thread


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; True if it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("use_watchdog", [True, False], ids=["watchdog", "polling"])
def test_a_new_file_in_a_watched_folder_gets_indexed(
    tiny_kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, use_watchdog: bool
) -> None:
    folder = tmp_path / "watched"
    folder.mkdir()
    tiny_kb.index([folder], "watched")
    cancel, reports, thread = run_watch(
        tiny_kb, folder, monkeypatch, debounce_s=0.2, poll_s=0.3, use_watchdog=use_watchdog
    )
    try:
        (folder / "new.txt").write_text("The lawn mower blade needs sharpening every spring.")
        assert wait_for(lambda: any(r.indexed for r in reports))
        with tiny_kb._lock:
            assert tiny_kb.search("mower blade", ["watched"]).hits
    finally:
        cancel.cancel()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_a_burst_of_changes_becomes_one_run(
    tiny_kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "watched"
    folder.mkdir()
    # The debounce is far longer than the gaps in the burst, even on a stalling machine.
    cancel, reports, thread = run_watch(tiny_kb, folder, monkeypatch, debounce_s=1.0)
    try:
        for number in range(20):
            (folder / f"f{number}.txt").write_text(f"note number {number}")
            time.sleep(0.01)
        assert wait_for(lambda: sum(r.indexed for r in reports) == 20)
        assert len([r for r in reports if r.indexed]) == 1
    finally:
        cancel.cancel()
        thread.join(timeout=5)


def test_change_signal_waits_for_quiet() -> None:
    signal = ChangeSignal()
    assert not signal.wait_quiet(0.05, timeout_s=0.1)
    signal.notify()
    started = time.monotonic()
    assert signal.wait_quiet(0.2, timeout_s=2)
    assert time.monotonic() - started >= 0.19
