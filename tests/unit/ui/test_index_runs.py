"""One indexing run at a time: what is asked for meanwhile waits, nothing is lost, a watch's
run neither hides the person's summary nor brings back a collection being removed.

The documents controller, its status widgets, the task manager and the folder watcher are the
real ones; the core stands in with gates, so that a test decides when each run ends.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ember.core import CollectionState
from ember.knowledge.ingest import IngestReport
from ember.knowledge.store import CollectionInfo
from ember.knowledge.types import StaleSource
from ember.ui import message
from ember.ui.conversations import ChatWidgets, Conversations
from ember.ui.dialogs import CollectionDialog
from ember.ui.documents import Documents, DocumentWidgets
from ember.ui.documents_admin import DocumentsAdmin
from ember.ui.qt import QApplication, QMainWindow, QMenu, QToolButton
from ember.ui.sidebar import Sidebar
from ember.ui.statusbar import build_status_bar
from ember.ui.tasks import TaskManager


class GatedCore:
    """The core's indexing and collection calls; each index run waits for its collection's
    gate; ``reports`` says what a collection's runs report."""

    def __init__(self) -> None:
        self.chunks: dict[str, int] = {}
        self.gates: dict[str, threading.Event] = {}
        self.reports: dict[str, IngestReport] = {}
        self.calls: list[tuple[object, ...]] = []
        self.watched: dict[str, tuple[str, ...]] = {}
        self.write_gate = threading.Event()
        self.fail_writes = False

    def gate(self, name: str) -> threading.Event:
        return self.gates.setdefault(name, threading.Event())

    def collections(self) -> list[CollectionState]:
        return [CollectionState(CollectionInfo(n, 1, c)) for n, c in self.chunks.items()]

    def warm_retriever(self) -> None:
        pass

    def index(self, paths, collection, report, cancel, watched=False) -> IngestReport:
        self.calls.append(("index", collection, tuple(paths), watched))
        self.gate(collection).wait(10)
        self.chunks[collection] = self.chunks.get(collection, 0) + 5
        return self.reports.get(collection, IngestReport(indexed=1, chunks=5))

    def reindex(self, paths, collection, report, cancel) -> IngestReport:
        return self.index(paths, collection, report, cancel)

    def document_rows(self, _name: str) -> list[object]:
        return []

    def watched_folders(self) -> dict[str, tuple[str, ...]]:
        return dict(self.watched)

    def _write(self) -> None:
        self.write_gate.wait(10)
        if self.fail_writes:
            raise OSError("disk full")

    def delete_collection(self, name: str) -> bool:
        self._write()
        self.calls.append(("delete", name))
        self.watched.pop(name, None)
        return self.chunks.pop(name, None) is not None

    def rename_collection(self, old: str, new: str) -> None:
        self._write()
        self.calls.append(("rename", old, new))
        self.chunks[new] = self.chunks.pop(old)
        if old in self.watched:
            self.watched[new] = self.watched.pop(old)


class ChatDb:
    busy = False

    def call(self, *_args: object, **_kwargs: object) -> None:
        pass


@pytest.fixture
def said(qtbot):
    seen: dict[str, list[object]] = {"info": [], "error": [], "asked": []}
    bridge = message.global_bridge
    on_info = lambda text, _ms: seen["info"].append(text)  # noqa: E731
    on_error = lambda title, text: seen["error"].append((title, text))  # noqa: E731
    on_ask = seen["asked"].append
    bridge.info_shown.connect(on_info)
    bridge.error_shown.connect(on_error)
    bridge.asked.connect(on_ask)
    yield seen
    bridge.info_shown.disconnect(on_info)
    bridge.error_shown.disconnect(on_error)
    bridge.asked.disconnect(on_ask)


@pytest.fixture
def app(qtbot):
    win = QMainWindow()
    qtbot.addWidget(win)
    status = build_status_bar(win)
    sidebar = Sidebar(win)
    core, tasks = GatedCore(), TaskManager()
    conv = Conversations(ChatDb(), ChatWidgets(win, sidebar, None, None, None, None, None), win)
    button = QToolButton(win)
    docs = Documents(
        core, tasks, conv, DocumentWidgets(win, sidebar, button, QMenu(button), status), win
    )
    busy: list[bool] = []
    docs.busyChanged.connect(busy.append)
    win.show()
    yield win, core, docs, conv, busy
    for gate in core.gates.values():
        gate.set()
    core.write_gate.set()
    assert tasks.shutdown(5000)


def _open_dialog(qtbot) -> CollectionDialog:
    found: list[CollectionDialog] = []

    def shown() -> bool:
        found[:] = [
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, CollectionDialog) and w.isVisible()
        ]
        return bool(found)

    qtbot.waitUntil(shown, timeout=5000)
    return found[0]


def _accept(dialog: CollectionDialog, name: str) -> None:
    dialog.choice.setCurrentText(name)
    dialog.accept()


def _finish(qtbot, core: GatedCore, docs: Documents, name: str) -> None:
    core.gate(name).set()
    qtbot.waitUntil(lambda: docs.indexing_collection != name, timeout=5000)


def test_a_watch_firing_while_the_add_dialog_is_open_runs_after_the_persons_run(
    qtbot, app, said
) -> None:
    _win, core, docs, conv, busy = app
    docs.add([Path("/tmp/a.txt")])
    dialog = _open_dialog(qtbot)
    docs.index_when_free([Path("/tmp/w")], "watched")  # a watch fires meanwhile
    assert docs.indexing_collection == "watched"
    _accept(dialog, "mine")  # the person clicks OK during the watch's run
    assert docs.indexing_collection == "watched"  # one run at a time: "mine" waits
    assert [r.collection for r in docs.queue.waiting] == ["mine"]
    assert any("“mine” waits" in text for text in said["info"])

    _finish(qtbot, core, docs, "watched")
    assert docs.indexing_collection == "mine"  # started when the watch's run ended
    assert docs.w.status.index_cancel.isVisible()
    _finish(qtbot, core, docs, "mine")

    assert busy == [True, False, True, False]
    assert [c[1] for c in core.calls] == ["watched", "mine"]
    assert docs.last_collection == "mine"
    assert docs.w.status.index_label.text().startswith("Indexed “mine”")
    assert "" not in conv.collections


def test_a_second_request_waits_and_requests_for_one_collection_join(qtbot, app) -> None:
    _win, core, docs, _conv, busy = app
    assert docs.index([Path("/tmp/a")], "A") is not None
    assert docs.index([Path("/tmp/b1")], "B") is None  # waits
    docs.add([Path("/tmp/b2"), Path("/tmp/b1")], "B")  # joins it
    docs.index_when_free([Path("/tmp/w")], "W")
    docs.index_when_free([Path("/tmp/w")], "W")  # the watch fired twice: one run
    _finish(qtbot, core, docs, "A")
    _finish(qtbot, core, docs, "B")
    _finish(qtbot, core, docs, "W")
    assert core.calls == [
        ("index", "A", (Path("/tmp/a"),), False),
        ("index", "B", (Path("/tmp/b1"), Path("/tmp/b2")), False),
        ("index", "W", (Path("/tmp/w"),), True),
    ]
    assert busy == [True, False] * 3


def test_update_index_waits_for_the_run_going_on(qtbot, app) -> None:
    _win, core, docs, _conv, _busy = app
    docs.index([Path("/tmp/a")], "A")
    docs.w.status.index_bar.hide()  # what the old check looked at: not the run itself
    docs.update_index((StaleSource("/tmp/old.txt", "changed", "B"),))
    assert docs.indexing_collection == "A"
    _finish(qtbot, core, docs, "A")
    assert docs.indexing_collection == "B"
    _finish(qtbot, core, docs, "B")
    assert [c[1] for c in core.calls] == ["A", "B"]


def test_files_offered_during_a_run_are_kept_and_indexed_afterwards(qtbot, app, said) -> None:
    _win, core, docs, _conv, _busy = app
    docs.index([Path("/tmp/a")], "A")
    docs.add([Path("/tmp/offered.txt")])  # a second `ember PATH`, or a drop
    assert not said["error"]
    _accept(_open_dialog(qtbot), "Later")
    assert any("“Later” waits until “A” is indexed" in text for text in said["info"])
    _finish(qtbot, core, docs, "A")
    _finish(qtbot, core, docs, "Later")
    assert core.calls[-1] == ("index", "Later", (Path("/tmp/offered.txt"),), False)


def test_a_watch_that_found_nothing_new_leaves_the_summary_alone(qtbot, app) -> None:
    _win, core, docs, _conv, _busy = app
    status = docs.w.status
    core.reports["W"] = IngestReport(skipped=3)
    docs.index([Path("/tmp/a")], "A")
    _finish(qtbot, core, docs, "A")
    mine = docs.last_result
    summary = status.index_label.text()

    docs.index_when_free([Path("/tmp/w")], "W")
    _finish(qtbot, core, docs, "W")
    assert docs.last_result is mine and docs.last_collection == "A"
    assert status.index_label.isVisible() and status.index_label.text() == summary

    docs.dismiss_summary()
    docs.index_when_free([Path("/tmp/w")], "W")
    _finish(qtbot, core, docs, "W")
    assert not status.index_label.isVisible()  # dismissed stays dismissed
    assert not status.index_dismiss.isVisible()

    core.reports["W"] = IngestReport(indexed=1, chunks=2)  # this one did something: it tells
    docs.index_when_free([Path("/tmp/w")], "W")
    _finish(qtbot, core, docs, "W")
    assert docs.last_collection == "W"
    assert status.index_label.isVisible()


def test_requests_for_a_collection_being_removed_or_renamed(qtbot, app) -> None:
    _win, core, docs, _conv, _busy = app
    docs.index([Path("/tmp/a")], "A")
    docs.index([Path("/tmp/x")], "X")
    docs.index([Path("/tmp/r")], "R")
    docs.collection_changing("X")
    docs.collection_changing("R")
    docs.index_when_free([Path("/tmp/x")], "X")  # a watch's request: dropped
    _finish(qtbot, core, docs, "A")
    assert docs.indexing is None  # what waits is for collections being changed
    docs.collection_removed("X")
    assert docs.indexing is None  # X's request went with it
    docs.collection_renamed("R", "R2")
    assert docs.indexing_collection == "R2"
    _finish(qtbot, core, docs, "R2")
    assert [c[1] for c in core.calls] == ["A", "R2"]


@pytest.fixture
def admin(app, tmp_path, qtbot):
    win, core, docs, conv, _busy = app
    folder = tmp_path / "folder"
    folder.mkdir()
    core.chunks = {"X": 5, "Y": 5}
    core.watched = {"X": (str(folder),)}
    admin = DocumentsAdmin(core, docs.tasks, docs, conv, ChatDb(), win)
    admin.watcher.set_watched(core.watched_folders())
    admin.collection = "X"
    yield admin, folder
    admin.stop()


def test_removing_a_collection_stops_its_watch_before_the_removal_waits(
    qtbot, app, admin, said
) -> None:
    _win, core, docs, _conv, _busy = app
    admin, folder = admin
    admin.remove_collection()
    said["asked"][-1].on_yes()  # queued on the knowledge worker, not done yet
    assert "X" not in admin.watcher.watched
    docs.index_when_free([folder], "X")  # a change noticed just before the watch stopped
    assert docs.indexing is None
    core.write_gate.set()
    qtbot.waitUntil(lambda: ("delete", "X") in core.calls, timeout=5000)
    qtbot.waitUntil(lambda: admin.loads == 0, timeout=5000)
    assert not any(c[0] == "index" for c in core.calls)
    assert "X" not in core.chunks and admin.watcher.watched == {}


def test_renaming_moves_the_watch_and_a_failed_rename_keeps_it(qtbot, app, admin, said) -> None:
    _win, core, docs, _conv, _busy = app
    admin, folder = admin
    core.fail_writes = True
    admin.rename_to("X", "Z")
    assert "X" not in admin.watcher.watched  # stopped while the rename waits
    docs.index_when_free([folder], "X")
    assert docs.indexing is None
    core.write_gate.set()
    qtbot.waitUntil(lambda: admin.loads == 0, timeout=5000)
    assert said["error"]
    assert admin.watcher.watched == {"X": (str(folder),)}  # it failed: the watch resumes

    core.fail_writes = False
    admin.rename_to("X", "Z")
    qtbot.waitUntil(lambda: admin.loads == 0, timeout=5000)
    assert admin.watcher.watched == {"Z": (str(folder),)}
    assert not any(c[0] == "index" for c in core.calls)
