"""One indexing run at a time: what is asked for meanwhile waits, nothing is lost, a watch's
run neither hides the person's summary nor brings back a collection being removed.

The documents controller, its status widgets, the task manager, the folder watcher, the chat
history and the core are the real ones: real files written in ``tmp_path`` are indexed by the
real knowledge base (SQLite, FAISS, MiniLM) under the test's EMBER_HOME. The core's indexing and
collection-changing calls first wait on a gate, so that a test decides *when* each real call
runs; what they do and report is the core's own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ember.cancel import CancelToken
from ember.core import Core
from ember.knowledge.ingest import IngestReport
from ember.knowledge.progress import ProgressEvent
from ember.knowledge.types import StaleSource
from ember.ui import message
from ember.ui.chat_db import ChatDb
from ember.ui.conversations import ChatWidgets, Conversations
from ember.ui.dialogs import CollectionDialog
from ember.ui.documents import Documents, DocumentWidgets
from ember.ui.documents_admin import DocumentsAdmin
from ember.ui.qt import QApplication, QMainWindow, QMenu, QToolButton
from ember.ui.sidebar import Sidebar
from ember.ui.statusbar import build_status_bar
from ember.ui.tasks import TaskManager

GATE_S = 30.0  # a gate nobody opens (a failing test) lets its call run after this long
WAIT_MS = 20_000


class GatedCore(Core):
    """The real core; each index run first waits for its collection's gate, and each removal
    or rename for ``write_gate``. ``calls`` records the calls in the order they were made."""

    def __init__(self) -> None:
        super().__init__()
        self.gates: dict[str, threading.Event] = {}
        self.calls: list[tuple[object, ...]] = []
        self.write_gate = threading.Event()

    def gate(self, name: str) -> threading.Event:
        return self.gates.setdefault(name, threading.Event())

    def index(
        self,
        paths: Sequence[Path],
        collection: str,
        progress: Callable[[ProgressEvent], None],
        cancel: CancelToken,
        *,
        watched: bool = False,
    ) -> IngestReport:
        self.calls.append(("index", collection, tuple(paths), watched))
        self.gate(collection).wait(GATE_S)
        return super().index(paths, collection, progress, cancel, watched=watched)

    def reindex(
        self,
        paths: Sequence[Path],
        collection: str,
        progress: Callable[[ProgressEvent], None],
        cancel: CancelToken,
    ) -> IngestReport:
        self.calls.append(("reindex", collection, tuple(paths)))
        self.gate(collection).wait(GATE_S)
        return super().reindex(paths, collection, progress, cancel)

    def delete_collection(self, name: str) -> bool:
        self.calls.append(("delete", name))
        self.write_gate.wait(GATE_S)
        return super().delete_collection(name)

    def rename_collection(self, old: str, new: str) -> None:
        self.calls.append(("rename", old, new))
        self.write_gate.wait(GATE_S)
        super().rename_collection(old, new)


def _doc(path: Path, topic: str) -> Path:
    """A small real Markdown file about ``topic`` (one document, a passage or two)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"# {topic.title()}\n\nNotes about {topic}: where it is kept, who looks after it, and "
        f"what to do when the {topic} needs attention.\n",
        encoding="utf-8",
    )
    return path


def _indexed_now(core: Core, paths: Sequence[Path], collection: str) -> IngestReport:
    """Index at once on the test's thread (setup, before the controllers run anything):
    the real core's own call, neither gated nor recorded."""
    report = Core.index(core, paths, collection, lambda _event: None, CancelToken())
    assert report.indexed == len(paths) and not report.failed, report
    return report


@dataclass
class App:
    win: QMainWindow
    core: GatedCore
    tasks: TaskManager
    db: ChatDb
    docs: Documents
    conv: Conversations
    busy: list[bool]


@pytest.fixture
def said(qtbot):  # type: ignore[no-untyped-def]
    seen: dict[str, list[Any]] = {"info": [], "error": [], "asked": []}
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
def app(qtbot, minilm) -> Iterator[App]:  # type: ignore[no-untyped-def]
    """The controllers over a real core in the test's EMBER_HOME (MiniLM loaded beforehand,
    once per session, so that no gate waits on the model's load)."""
    win = QMainWindow()
    qtbot.addWidget(win)
    status = build_status_bar(win)
    sidebar = Sidebar(win)
    core, tasks = GatedCore(), TaskManager()
    db = ChatDb(core, tasks)
    conv = Conversations(db, ChatWidgets(win, sidebar, None, None, None, None, None), win)
    button = QToolButton(win)
    docs = Documents(
        core, tasks, conv, DocumentWidgets(win, sidebar, button, QMenu(button), status), win
    )
    busy: list[bool] = []
    docs.busyChanged.connect(busy.append)
    win.show()
    yield App(win, core, tasks, db, docs, conv, busy)
    for gate in core.gates.values():
        gate.set()
    core.write_gate.set()
    assert tasks.shutdown(WAIT_MS)
    core.close()


def _open_dialog(qtbot) -> CollectionDialog:  # type: ignore[no-untyped-def]
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


def _finish(qtbot, app: App, name: str) -> None:  # type: ignore[no-untyped-def]
    """Let ``name``'s run go, and wait until it has ended."""
    app.core.gate(name).set()
    qtbot.waitUntil(lambda: app.docs.indexing_collection != name, timeout=WAIT_MS)


def _on_worker(qtbot, app: App, read: Callable[[], Any]) -> Any:  # type: ignore[no-untyped-def]
    """``read()`` on the knowledge worker, after everything queued there before it."""
    got: list[Any] = []
    app.tasks.run_on(app.tasks.knowledge, "test-read", lambda _r: read(), on_done=got.append)
    qtbot.waitUntil(lambda: bool(got), timeout=WAIT_MS)
    return got[0]


def _collections(qtbot, app: App) -> list[str]:  # type: ignore[no-untyped-def]
    return _on_worker(qtbot, app, lambda: [c.name for c in app.core.collections()])


def test_a_watch_firing_while_the_add_dialog_is_open_runs_after_the_persons_run(
    qtbot, app, said, tmp_path
) -> None:
    docs, core = app.docs, app.core
    mine = _doc(tmp_path / "a.md", "lighthouse")
    folder = tmp_path / "w"
    _doc(folder / "w.md", "greenhouse")
    docs.add([mine])
    dialog = _open_dialog(qtbot)
    docs.index_when_free([folder], "watched")  # a watch fires meanwhile
    assert docs.indexing_collection == "watched"
    _accept(dialog, "mine")  # the person clicks OK during the watch's run
    assert docs.indexing_collection == "watched"  # one run at a time: "mine" waits
    assert [r.collection for r in docs.queue.waiting] == ["mine"]
    assert any("“mine” waits" in text for text in said["info"])

    _finish(qtbot, app, "watched")
    assert docs.indexing_collection == "mine"  # started when the watch's run ended
    assert docs.w.status.index_cancel.isVisible()
    _finish(qtbot, app, "mine")

    assert app.busy == [True, False, True, False]
    assert [c[1] for c in core.calls] == ["watched", "mine"]
    assert docs.last_collection == "mine"
    assert docs.last_result is not None and docs.last_result.indexed == 1
    assert docs.w.status.index_label.text().startswith(
        "Indexed “mine”: 1 new or changed file, 0 unchanged"
    )
    assert "" not in app.conv.collections
    assert sorted(_collections(qtbot, app)) == ["mine", "watched"]


def test_a_second_request_waits_and_requests_for_one_collection_join(qtbot, app, tmp_path) -> None:
    docs, core = app.docs, app.core
    a, b1, b2 = (
        _doc(tmp_path / f"{n}.md", t) for n, t in [("a", "apple"), ("b1", "bee"), ("b2", "boat")]
    )
    folder = tmp_path / "w"
    _doc(folder / "w.md", "wind")
    assert docs.index([a], "A") is not None
    assert docs.index([b1], "B") is None  # waits
    docs.add([b2, b1], "B")  # joins it
    docs.index_when_free([folder], "W")
    docs.index_when_free([folder], "W")  # the watch fired twice: one run
    _finish(qtbot, app, "A")
    _finish(qtbot, app, "B")
    assert docs.last_collection == "B" and docs.last_result is not None
    assert docs.last_result.indexed == 2  # b1 read once, with b2
    _finish(qtbot, app, "W")
    assert core.calls == [
        ("index", "A", (a,), False),
        ("index", "B", (b1, b2), False),
        ("index", "W", (folder,), True),
    ]
    assert app.busy == [True, False] * 3


def test_update_index_waits_for_the_run_going_on(qtbot, app, tmp_path) -> None:
    docs, core = app.docs, app.core
    old = _doc(tmp_path / "old.md", "garden")
    _indexed_now(core, [old], "B")
    old.write_text("# Garden\n\nThe garden moved behind the barn last spring.\n", encoding="utf-8")
    a = _doc(tmp_path / "a.md", "apple")
    docs.index([a], "A")
    docs.w.status.index_bar.hide()  # what the old check looked at: not the run itself
    docs.update_index((StaleSource(str(old), "changed", "B"),))
    assert docs.indexing_collection == "A"
    _finish(qtbot, app, "A")
    assert docs.indexing_collection == "B"
    _finish(qtbot, app, "B")
    assert [c[1] for c in core.calls] == ["A", "B"]
    assert docs.last_collection == "B" and docs.last_result is not None
    assert docs.last_result.indexed == 1  # the changed file, read again


def test_files_offered_during_a_run_are_kept_and_indexed_afterwards(
    qtbot, app, said, tmp_path
) -> None:
    docs, core = app.docs, app.core
    docs.index([_doc(tmp_path / "a.md", "apple")], "A")
    offered = _doc(tmp_path / "offered.md", "orchard")
    docs.add([offered])  # a second `ember PATH`, or a drop
    assert not said["error"]
    _accept(_open_dialog(qtbot), "Later")
    assert any("“Later” waits until “A” is indexed" in text for text in said["info"])
    _finish(qtbot, app, "A")
    _finish(qtbot, app, "Later")
    assert core.calls[-1] == ("index", "Later", (offered,), False)
    assert docs.last_collection == "Later" and docs.last_result is not None
    assert docs.last_result.indexed == 1


def test_a_watch_that_found_nothing_new_leaves_the_summary_alone(qtbot, app, tmp_path) -> None:
    docs, core = app.docs, app.core
    status = docs.w.status
    folder = tmp_path / "w"
    watched_file = _doc(folder / "w.md", "wind")
    _indexed_now(core, [folder], "W")  # indexed before: a watch's run finds it unchanged
    docs.index([_doc(tmp_path / "a.md", "apple")], "A")
    _finish(qtbot, app, "A")
    mine = docs.last_result
    assert mine is not None and mine.indexed == 1
    summary = status.index_label.text()

    docs.index_when_free([folder], "W")
    _finish(qtbot, app, "W")
    assert docs.last_result is mine and docs.last_collection == "A"
    assert status.index_label.isVisible() and status.index_label.text() == summary

    docs.dismiss_summary()
    docs.index_when_free([folder], "W")
    _finish(qtbot, app, "W")
    assert not status.index_label.isVisible()  # dismissed stays dismissed
    assert not status.index_dismiss.isVisible()

    watched_file.write_text(  # this one does something: it tells
        "# Wind\n\nThe wind turned north overnight and the vane on the roof broke.\n",
        encoding="utf-8",
    )
    docs.index_when_free([folder], "W")
    _finish(qtbot, app, "W")
    assert docs.last_collection == "W"
    assert docs.last_result is not None and docs.last_result.indexed == 1
    assert status.index_label.isVisible()


def test_requests_for_a_collection_being_removed_or_renamed(qtbot, app, tmp_path) -> None:
    docs, core = app.docs, app.core
    a, x, r = (
        _doc(tmp_path / f"{n}.md", t)
        for n, t in [("a", "apple"), ("x", "xylophone"), ("r", "river")]
    )
    docs.index([a], "A")
    docs.index([x], "X")
    docs.index([r], "R")
    docs.collection_changing("X")
    docs.collection_changing("R")
    docs.index_when_free([x], "X")  # a watch's request: dropped
    _finish(qtbot, app, "A")
    assert docs.indexing is None  # what waits is for collections being changed
    docs.collection_removed("X")
    assert docs.indexing is None  # X's request went with it
    docs.collection_renamed("R", "R2")
    assert docs.indexing_collection == "R2"
    _finish(qtbot, app, "R2")
    assert [c[1] for c in core.calls] == ["A", "R2"]
    assert docs.last_result is not None and docs.last_result.indexed == 1
    assert sorted(_collections(qtbot, app)) == ["A", "R2"]


@pytest.fixture
def admin(app, tmp_path, qtbot):  # type: ignore[no-untyped-def]
    """Collection "X" (a watched folder of one file) and "Y" (one file), indexed for real."""
    core = app.core
    folder = tmp_path / "folder"
    _doc(folder / "x.md", "harbour")
    _indexed_now(core, [folder], "X")
    _indexed_now(core, [_doc(tmp_path / "y.md", "yarn")], "Y")
    assert core.watch_folders("X", True) == (str(folder),)
    admin = DocumentsAdmin(core, app.tasks, app.docs, app.conv, app.win)
    admin.watcher.set_watched(core.watched_folders())
    assert admin.watcher.watched == {"X": (str(folder),)}
    admin.collection = "X"
    yield admin, folder
    admin.stop()


def test_removing_a_collection_stops_its_watch_before_the_removal_waits(
    qtbot, app, admin, said
) -> None:
    docs, core = app.docs, app.core
    admin, folder = admin
    admin.remove_collection()
    said["asked"][-1].on_yes()  # queued on the knowledge worker, not done yet
    assert "X" not in admin.watcher.watched
    docs.index_when_free([folder], "X")  # a change noticed just before the watch stopped
    assert docs.indexing is None
    core.write_gate.set()
    qtbot.waitUntil(lambda: ("delete", "X") in core.calls, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: admin.loads == 0, timeout=WAIT_MS)
    assert not any(c[0] == "index" for c in core.calls)
    assert admin.watcher.watched == {}
    assert _collections(qtbot, app) == ["Y"]  # X is gone and nothing brought it back
    assert _on_worker(qtbot, app, core.watched_folders) == {}


def test_renaming_moves_the_watch_and_a_failed_rename_keeps_it(qtbot, app, admin, said) -> None:
    docs, core = app.docs, app.core
    admin, folder = admin
    admin.rename_to("X", "Y")  # taken: the knowledge base refuses it
    assert "X" not in admin.watcher.watched  # stopped while the rename waits
    docs.index_when_free([folder], "X")
    assert docs.indexing is None
    core.write_gate.set()
    qtbot.waitUntil(lambda: admin.loads == 0, timeout=WAIT_MS)
    assert said["error"]
    assert admin.watcher.watched == {"X": (str(folder),)}  # it failed: the watch resumes
    assert sorted(_collections(qtbot, app)) == ["X", "Y"]

    admin.rename_to("X", "Z")
    qtbot.waitUntil(lambda: admin.loads == 0, timeout=WAIT_MS)
    assert admin.watcher.watched == {"Z": (str(folder),)}
    assert not any(c[0] == "index" for c in core.calls)
    assert sorted(_collections(qtbot, app)) == ["Y", "Z"]
    assert _on_worker(qtbot, app, core.watched_folders) == {"Z": (str(folder),)}
