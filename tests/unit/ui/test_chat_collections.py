"""Chats and the collections renamed or removed on the documents page, the answer that follows
a Send, the documents offer, and the page while an indexing run holds the knowledge worker.

Real controllers over a real core (chat store, knowledge base, embedder, built-in model) and a
real task manager (pytest-qt)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ember.cancel import CancelToken
from ember.core import Core, follow_remove
from ember.ui import message
from ember.ui.chat_db import ChatDb
from ember.ui.chatview import ChatView
from ember.ui.composer import Composer
from ember.ui.conversations import ChatWidgets, Conversations
from ember.ui.documents import Documents, DocumentWidgets
from ember.ui.documents_admin import DocumentsAdmin
from ember.ui.generation import Generation
from ember.ui.qt import QColor, QLabel, QMainWindow, QMenu, QToolButton, QWidget
from ember.ui.sidebar import Sidebar
from ember.ui.statusbar import build_status_bar
from ember.ui.tasks import TaskManager

ROUTER = (
    "# Zephyr router manual\n\n## Resetting the router\n\nTo reset the Zephyr router to factory "
    "settings, hold the red pinhole button on the back for fifteen seconds until the status "
    "light blinks purple.\n"
)
QUESTION = "How do I reset the Zephyr router to factory settings?"


@dataclass
class App:
    core: Core
    tasks: TaskManager
    db: ChatDb
    conversations: Conversations
    documents: Documents
    admin: DocumentsAdmin
    generation: Generation
    composer: Composer
    button: QToolButton
    asked: list[message.Question]


@pytest.fixture
def app(qtbot, tmp_path: Path) -> Iterator[App]:  # type: ignore[no-untyped-def]
    core = Core(chats_db=tmp_path / "chats.sqlite3")
    tasks = TaskManager()
    db = ChatDb(core, tasks)
    win = QMainWindow()
    qtbot.addWidget(win)
    sidebar, chat, composer = Sidebar(win), ChatView(QColor("#2b2b2b"), win), Composer(win)
    widgets = ChatWidgets(win, sidebar, chat, composer, QLabel(win), QWidget(win), QLabel(win))
    conversations = Conversations(db, widgets, win)
    button = QToolButton(win)
    documents = Documents(
        core,
        tasks,
        conversations,
        DocumentWidgets(win, sidebar, button, QMenu(button), build_status_bar(win)),
        win,
    )
    admin = DocumentsAdmin(core, tasks, documents, conversations, win)
    generation = Generation(core, tasks, conversations, chat, composer, win)
    asked: list[message.Question] = []
    message.global_bridge.asked.connect(asked.append)
    conversations.open_history(None)
    qtbot.waitUntil(lambda: conversations.history_open, timeout=10_000)
    yield App(core, tasks, db, conversations, documents, admin, generation, composer, button, asked)
    message.global_bridge.asked.disconnect(asked.append)
    assert tasks.shutdown(30_000)
    core.close()


def _index(qtbot, app: App, tmp_path: Path, *names: str) -> None:  # type: ignore[no-untyped-def]
    for name in names:
        path = tmp_path / f"{name}.md"
        path.write_text(ROUTER, encoding="utf-8")
        app.core.index([path], name, lambda _event: None, CancelToken())
    _listed(qtbot, app)


def _listed(qtbot, app: App) -> None:  # type: ignore[no-untyped-def]
    done: list[bool] = []
    app.documents.listed.connect(lambda: done.append(True))
    app.documents.refresh()
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)


def _settled(qtbot, app: App) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: app.admin.loads == 0 and not app.db.busy, timeout=20_000)


def _open(qtbot, app: App, chat_id: int) -> None:  # type: ignore[no-untyped-def]
    app.conversations.open(chat_id)
    qtbot.waitUntil(lambda: app.conversations.conversation_id == chat_id, timeout=10_000)


def _remove(qtbot, app: App, name: str) -> None:  # type: ignore[no-untyped-def]
    app.admin.collection = name
    app.admin.remove_collection()
    app.asked.pop().on_yes()  # "Remove collection?" answered yes
    _settled(qtbot, app)


def test_removing_the_collection_of_a_new_chat_is_not_choosing_no_documents(
    qtbot, app, tmp_path
) -> None:
    _index(qtbot, app, tmp_path, "manuals")
    app.conversations.new_chat()
    assert app.conversations.collections == ("manuals",)
    _remove(qtbot, app, "manuals")
    assert app.conversations.collections == ()
    assert not app.conversations.plain_chosen  # a question may still be offered documents
    _index(qtbot, app, tmp_path, "notes")
    # Nobody chose this chat's documents: it picks up the only collection there is now.
    assert app.conversations.collections == ("notes",)
    assert app.button.text().startswith("Documents: notes")


def test_renaming_the_open_chats_collection_is_not_a_choice(qtbot, app, tmp_path) -> None:
    _index(qtbot, app, tmp_path, "manuals", "notes")
    chat = app.core.store.create("ask", collections=("manuals",))
    _open(qtbot, app, chat.id)
    app.admin.rename_to("manuals", "Home")
    _settled(qtbot, app)
    assert app.conversations.collections == ("Home",)
    assert app.core.store.get(chat.id).collections == ("Home",)
    _remove(qtbot, app, "Home")
    assert app.conversations.collections == ()
    assert not app.conversations.plain_chosen
    assert app.generation._offer_due()  # its next question offers "notes"


def test_removing_a_collection_takes_it_from_every_chat(qtbot, app, tmp_path) -> None:
    _index(qtbot, app, tmp_path, "manuals", "notes")
    store = app.core.store
    both = store.create("both", collections=("manuals", "notes"))
    only = store.create("only", collections=("manuals",))
    trashed = store.create("trashed", collections=("manuals",))
    store.delete(trashed.id)
    _remove(qtbot, app, "manuals")
    assert store.get(both.id).collections == ("notes",)
    assert store.get(only.id).collections == ()
    assert store.get(trashed.id).collections == ()
    # A collection made later under that name is not attached to them.
    _index(qtbot, app, tmp_path, "manuals")
    _open(qtbot, app, only.id)
    assert app.conversations.collections == ()
    assert app.button.text().startswith("No documents")


def test_follow_remove_counts_the_chats_it_changed(tmp_path: Path) -> None:
    from ember.chats.store import ChatStore

    with ChatStore(tmp_path / "chats.sqlite3") as store:
        store.create("a", collections=("manuals", "notes"))
        store.create("b")
        assert follow_remove(store, "manuals") == 1
        assert follow_remove(store, "manuals") == 0


def test_a_chat_shows_only_collections_that_are_listed_and_its_store_is_kept(
    qtbot, app, tmp_path
) -> None:
    _index(qtbot, app, tmp_path, "manuals")
    # Removed by another Ember (or before this fix): the stored name is not listed.
    chat = app.core.store.create("old", collections=("manuals", "gone"))
    _open(qtbot, app, chat.id)
    assert app.conversations.collections == ("manuals",)
    assert app.button.text().startswith("Documents: manuals")
    _listed(qtbot, app)
    _settled(qtbot, app)
    assert app.core.store.get(chat.id).collections == ("manuals", "gone")  # listing writes none


def _hold(app: App, worker_name: str) -> threading.Event:
    """Keep a worker busy until the returned event is set (so what follows queues behind)."""
    gate = threading.Event()
    worker = getattr(app.tasks, worker_name)
    app.tasks.run_on(worker, "hold", lambda _report: gate.wait(60))
    return gate


def _answer_nothing(app: App) -> None:
    app.generation._run(lambda _chat_id, _token: iter(()))


def test_an_answer_does_not_write_back_a_collection_renamed_after_send(
    qtbot, app, tmp_path
) -> None:
    _index(qtbot, app, tmp_path, "manuals")
    chat = app.core.store.create("ask", collections=("manuals",))
    _open(qtbot, app, chat.id)
    gate = _hold(app, "engine")
    _answer_nothing(app)  # Send: the answer waits for the engine worker
    app.admin.rename_to("manuals", "Home")
    _settled(qtbot, app)
    assert app.core.store.get(chat.id).collections == ("Home",)
    gate.set()
    qtbot.waitUntil(lambda: app.generation.handle is None, timeout=60_000)
    assert app.core.store.get(chat.id).collections == ("Home",)


def test_a_choice_made_just_before_send_answers_though_not_saved_yet(qtbot, app, tmp_path) -> None:
    _index(qtbot, app, tmp_path, "manuals")
    chat = app.core.store.create("ask")
    _open(qtbot, app, chat.id)
    gate = _hold(app, "chats")  # the chats worker has not saved the toggle when the answer runs
    app.conversations.set_collections(("manuals",))
    _answer_nothing(app)
    qtbot.waitUntil(lambda: app.generation.handle is None, timeout=60_000)
    assert app.core.store.get(chat.id).collections == ("manuals",)
    gate.set()
    _settled(qtbot, app)
    assert app.core.store.get(chat.id).collections == ("manuals",)


def test_while_documents_are_checked_the_question_cannot_change_and_a_choice_made_stands(
    qtbot, app, tmp_path
) -> None:
    _index(qtbot, app, tmp_path, "manuals", "notes")  # two: a new chat starts without
    app.conversations.new_chat()
    assert app.generation._offer_due()
    app.composer.input.setPlainText(QUESTION)
    app.generation.send(QUESTION)
    qtbot.keyClicks(app.composer.input, " And the light?")
    assert app.composer.input.toPlainText() == QUESTION  # read-only while checking
    app.conversations.set_collections(("notes",))  # picked from Documents ▾ meanwhile
    qtbot.waitUntil(lambda: app.generation.handle is None, timeout=120_000)
    assert app.asked == []  # the offer is not due any more: no "Use them" overriding "notes"
    assert app.conversations.collections == ("notes",)
    assert not app.composer.input.isReadOnly()
    qtbot.waitUntil(lambda: app.conversations.conversation_id is not None, timeout=60_000)
    assert app.core.store.get(app.conversations.conversation_id).collections == ("notes",)


def test_the_page_says_when_it_updates_while_an_indexing_run_holds_the_worker(
    qtbot, app, tmp_path
) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text(ROUTER, encoding="utf-8")
    app.documents.index([notes], "notes")
    page = app.admin.open("notes")
    assert app.admin.loads == 0  # no read waits behind the run
    assert page.summary.text() == "The list updates when indexing “notes” finishes."
    qtbot.waitUntil(lambda: page.data is not None, timeout=120_000)
    assert page.table.rowCount() == 1 and page.chooser.isEnabled()

    more = tmp_path / "more.md"
    more.write_text(ROUTER.replace("Zephyr", "Aurora"), encoding="utf-8")
    app.documents.index([more], "notes")
    app.admin.refresh()
    assert page.table.rowCount() == 1  # the last list stays shown
    assert page.summary.text().endswith("The list updates when indexing “notes” finishes.")
    assert not page.chooser.isEnabled()
    qtbot.waitUntil(lambda: page.table.rowCount() == 2, timeout=120_000)
    assert "The list updates" not in page.summary.text() and page.chooser.isEnabled()
