from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from ember.cancel import CancelToken
from ember.knowledge import KnowledgeBase
from ember.knowledge.ingest import IngestReport
from ember.knowledge.watch import ChangeSignal, watch


def run_watch(kb: KnowledgeBase, folder: Path, **kwargs: object) -> tuple:
    cancel = CancelToken()
    reports: list[IngestReport] = []
    thread = threading.Thread(
        target=watch,
        args=(kb, [folder], "watched"),
        kwargs={"cancel": cancel, "on_report": reports.append, **kwargs},
        daemon=True,
    )
    thread.start()
    return cancel, reports, thread


def wait_for(condition, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("use_watchdog", [True, False], ids=["watchdog", "polling"])
def test_a_new_file_in_a_watched_folder_gets_indexed(
    tiny_kb: KnowledgeBase, tmp_path: Path, use_watchdog: bool
) -> None:
    folder = tmp_path / "watched"
    folder.mkdir()
    tiny_kb.index([folder], "watched")
    cancel, reports, thread = run_watch(
        tiny_kb, folder, debounce_s=0.2, poll_s=0.3, use_watchdog=use_watchdog
    )
    try:
        time.sleep(0.3)
        (folder / "new.txt").write_text("The lawn mower blade needs sharpening every spring.")
        assert wait_for(lambda: any(r.indexed for r in reports))
        with tiny_kb._lock:
            assert tiny_kb.search("mower blade", ["watched"]).hits
    finally:
        cancel.cancel()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_a_burst_of_changes_becomes_one_run(tiny_kb: KnowledgeBase, tmp_path: Path) -> None:
    folder = tmp_path / "watched"
    folder.mkdir()
    cancel, reports, thread = run_watch(tiny_kb, folder, debounce_s=0.5)
    try:
        time.sleep(0.3)
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
