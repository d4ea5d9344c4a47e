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
from ember.knowledge.watch import ChangeSignal, EventFilter, watch


def run_watch(
    kb: KnowledgeBase,
    folder: Path | list[Path],
    monkeypatch: pytest.MonkeyPatch,
    collection: str = "watched",
    **kwargs: object,
) -> tuple[CancelToken, list[IngestReport], threading.Thread]:
    """Start ``watch`` on ``folder`` (or these paths) in a thread; returns once it is watching
    (a change made after this returns is seen: the observer is running, or the paths polled)."""
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
        args=(kb, folder if isinstance(folder, list) else [folder], collection),
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


def quiet_for(seconds: float) -> None:
    """Let file-system events of what was just done arrive (and be debounced) before counting
    the runs they started."""
    time.sleep(seconds)


def test_a_watched_file_starts_a_run_for_itself_alone(
    tiny_kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    manual = downloads / "manual.txt"
    manual.write_text("The lawn mower blade is sharpened every spring.")
    tiny_kb.index([manual], "manual")
    watched = [Path(p) for p in tiny_kb.watch_folders("manual", True)]
    cancel, reports, thread = run_watch(tiny_kb, watched, monkeypatch, "manual", debounce_s=0.2)
    try:
        (downloads / "invoice.txt").write_text("Invoice 1234: one garden hose, paid in cash.")
        quiet_for(1.5)
        assert reports == []  # another file in the folder of a watched file: nothing to do
        manual.write_text("The lawn mower blade is sharpened every autumn.")
        assert wait_for(lambda: any(r.indexed for r in reports))
        assert [Path(r.path).name for r in tiny_kb.documents("manual")] == ["manual.txt"]
    finally:
        cancel.cancel()
        thread.join(timeout=5)


@pytest.mark.parametrize("where", ["ember_home", "hidden"])
def test_a_watched_folder_holding_embers_data_is_not_reindexed_by_its_own_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny: object, where: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    if where == "ember_home":  # Ember's data folder (not hidden) inside the watched folder
        monkeypatch.setenv("EMBER_HOME", str(home / "Ember"))
        kb_dir = home / "Ember" / "data" / "knowledge"
    else:  # a knowledge base in a hidden folder of it (~/.local/share/...)
        kb_dir = home / ".local" / "share" / "ember" / "knowledge"
    notes = home / "notes.txt"
    notes.write_text("The lawn mower blade is sharpened every spring.")
    with KnowledgeBase(kb_dir, embedder=tiny) as kb:  # type: ignore[arg-type]
        kb.index([home], "home")
        watched = [Path(p) for p in kb.watch_folders("home", True)]
        assert watched == [home]
        cancel, reports, thread = run_watch(kb, watched, monkeypatch, "home", debounce_s=0.3)
        try:
            notes.write_text("The lawn mower blade is sharpened every autumn.")  # one edit
            assert wait_for(lambda: len(reports) >= 1)
            quiet_for(3.0)  # the run's SQLite and FAISS writes have long been seen by now
            assert len(reports) == 1 and reports[0].indexed == 1
        finally:
            cancel.cancel()
            thread.join(timeout=5)


def test_event_filter_follows_discoverys_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBER_HOME", str(tmp_path / "folder" / "Ember"))
    folder, single = tmp_path / "folder", tmp_path / "elsewhere" / "one.txt"
    folder.mkdir()
    single.parent.mkdir()
    single.write_text("x")
    relevant = EventFilter([folder, single])
    assert relevant.targets() == [(str(single.parent), False), (str(folder), True)]

    def matters(path: Path, folder: bool = False) -> bool:
        return relevant.matters(str(path), folder=folder)

    assert matters(folder / "a.txt") and matters(folder / "sub" / "b.md")
    assert matters(folder / "sub", folder=True)
    assert matters(single)
    assert not matters(single.parent / "two.txt")  # beside the watched file
    assert not matters(folder / ".hidden.txt") and not matters(folder / ".git" / "HEAD")
    assert not matters(folder / "node_modules" / "x" / "a.js")
    assert not matters(folder / "Ember" / "data" / "knowledge" / "knowledge.sqlite3-wal")
    assert not matters(folder / "Ember", folder=True)
    assert not matters(tmp_path / "folderx" / "a.txt")
