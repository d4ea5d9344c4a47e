"""The conversation list and the open chat: open, new, rename, delete with undo, export, search.

Every chat-store call goes through :class:`~ember.ui.chat_db.ChatDb` (off the GUI thread); the
widgets change when the answer comes back. The controller keeps what the window shows about the
open chat (its id and which collections answer in it) so nothing needs the store to redraw.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ember.errors import EmberError, StorageError
from ember.files import write_atomically
from ember.ui import message
from ember.ui.chat_db import ChatDb
from ember.ui.drafts import Drafts
from ember.ui.qt import QFileDialog, QInputDialog, QLabel, QObject, QTimer, QWidget, Signal

if TYPE_CHECKING:
    from ember.chats.records import Conversation, Message
    from ember.chats.store import ChatStore
    from ember.ui.chatview import ChatView
    from ember.ui.composer import Composer
    from ember.ui.sidebar import Sidebar

log = logging.getLogger(__name__)

UNDO_SECONDS = 10


@dataclass(frozen=True, slots=True)
class ChatWidgets:
    """The widgets the conversations controller drives (built by the window)."""

    parent: QWidget  # dialogs open over it
    sidebar: Sidebar
    chat: ChatView
    composer: Composer
    title: QLabel
    undo_bar: QWidget
    undo_label: QLabel


def _purge(store: ChatStore) -> None:
    try:
        store.purge_deleted()
    except StorageError as exc:  # the trash empties next time; nothing the person must do
        log.warning("could not empty the chat trash: %s", exc)


class Conversations(QObject):
    """Owns the open chat's id, its collections, the undo offer and the list's contents."""

    switching = Signal()  # another chat is about to show: stop the answer being written
    collectionsChanged = Signal()  # which collections answer in the open chat changed
    historyOpened = Signal()  # the history opened, or cannot be (then ``history_error`` says why)
    openingChanged = Signal()  # a chat started or finished loading (``opening_chat``)
    opened = Signal(int)  # this stored chat is the open one now (shown, or created by a send)
    shown = Signal(object)  # the Conversation now shown (None: a new chat), before ``opened``

    def __init__(self, db: ChatDb, widgets: ChatWidgets, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.w = widgets
        self.conversation_id: int | None = None
        self.collections: tuple[str, ...] = ()  # the open (or not yet created) chat's choice
        # The open chat's collections as stored: ``collections`` shows those listed of them
        # (a collection removed elsewhere is neither shown nor searched, and the store keeps
        # the chat's choice until the person changes it).
        self._stored: tuple[str, ...] = ()
        self._names_listed = False  # the collections were listed once: unknown names can be told
        # Collections with passages, as last listed (the documents controller keeps it current):
        # what a new chat may start with.
        self.available: tuple[str, ...] = ()
        self._chosen = False  # the person picked this new (not yet created) chat's documents
        self._plain: set[object] = set()  # chats the person set to "No documents" this session
        # Per chat, the newest choice not yet written: set once written, or once a rename or
        # removal queued after it will fix its names (see choice_to_write).
        self._writes: dict[int, threading.Event] = {}
        # Set when the chat history cannot be opened (damaged, from a newer Ember): the window
        # says so and sends nothing, rather than start a new history over the old one.
        self.history_error: str | None = None
        self.opening_history = False
        self.history_open = False
        self._deleted = None  # the DeletedConversation still offered for undo
        self._opening = 0  # the newest open request: older answers are dropped
        self.opening_chat = False  # sending waits: the message must go to the chat being opened
        self.undo_timer = QTimer(self)
        self.undo_timer.setSingleShot(True)
        self.undo_timer.timeout.connect(self._undo_expired)
        self.drafts = Drafts(widgets.composer)  # each chat keeps its half-written message

    # -- the history ---------------------------------------------------------------------------

    def open_history(self, last: int | None) -> None:
        """Open the history (integrity check and migration: seconds for a large one), list its
        chats and reopen ``last``, all on the chats worker."""
        self.opening_history = True

        def job(store: ChatStore) -> tuple[list[Conversation], Conversation | None, list]:
            chats = store.conversations(None)
            chat = store.get(last) if last is not None else None
            if chat is None or chat.deleted:
                return chats, None, []
            return chats, chat, store.messages(chat.id)

        self.db.call("open-history", job, on_done=self._history_opened, on_error=self._unavailable)

    def _history_opened(self, result: tuple) -> None:
        self.opening_history = False
        self.history_open = True
        chats, chat, messages = result
        if chat is not None:
            self._show(chat, messages)
        self.w.sidebar.set_conversations(chats, self.conversation_id)
        self.historyOpened.emit()

    def _unavailable(self, error: BaseException) -> None:
        """The chat history cannot be opened: say why, keep it untouched, send nothing."""
        self.opening_history = False
        if not isinstance(error, StorageError):
            error = StorageError(f"The chat history could not be opened: {error}")
        self.history_error = str(error)
        log.error("chat history unavailable: %s", self.history_error)
        self.w.sidebar.show_history_problem(
            "Chat history unavailable.\nIt was left untouched; see the message."
        )
        message.error("Your chat history cannot be opened", str(error))
        self.historyOpened.emit()

    # -- the list and the open chat ------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the list (filtered by the search box) and the open chat's title."""
        if self.history_error is not None or not self.history_open:
            return  # (once it opens, the list fills in)
        query = self.w.sidebar.search.text().strip() or None
        current = self.conversation_id

        def job(store: ChatStore) -> tuple[list[Conversation], Conversation | None]:
            return store.conversations(query), store.get(current) if current else None

        self.db.call("list-chats", job, on_done=self._listed)

    def _listed(self, result: tuple[list[Conversation], Conversation | None]) -> None:
        chats, chat = result
        self.w.sidebar.set_conversations(chats, self.conversation_id)
        if chat is not None and chat.id == self.conversation_id:
            self.w.title.setText(chat.title)

    def new_chat(self) -> None:
        if not self.opening_chat:  # (while one opens, the composer already holds no draft)
            self.drafts.leave(self.conversation_id)
        self.switching.emit()
        self._opening += 1
        self._set_opening(False)
        self.conversation_id = None
        self.collections = self._stored = self.starting_collections()
        self._chosen = False
        self.w.composer.cancel_edit()
        self.w.chat.clear()
        self.w.title.setText("New chat")
        self.drafts.enter(None)
        self.w.sidebar.select(None)
        self.collectionsChanged.emit()
        self.shown.emit(None)
        self.w.composer.input.setFocus()

    def open(self, conversation_id: int) -> None:
        if conversation_id == self.conversation_id and self.w.chat.bubbles:
            return
        if not self.opening_chat:
            self.drafts.leave(self.conversation_id)
        self.switching.emit()
        self._opening += 1
        ticket = self._opening
        self._set_opening(True)

        def job(store: ChatStore) -> tuple[Conversation | None, list[Message]]:
            chat = store.get(conversation_id)
            if chat is None or chat.deleted:
                return None, []
            return chat, store.messages(conversation_id)

        def opened(result: tuple[Conversation | None, list[Message]]) -> None:
            if ticket != self._opening:
                return  # another chat was asked for meanwhile
            self._set_opening(False)
            chat, messages = result
            if chat is None:
                self.drafts.enter(self.conversation_id)
                self.refresh()
            else:
                self._show(chat, messages)

        def failed(error: BaseException) -> None:
            if ticket == self._opening:
                self._set_opening(False)
                self.drafts.enter(self.conversation_id)
            message.error("Cannot open the chat", str(error))

        self.db.call("open-chat", job, on_done=opened, on_error=failed)

    def _set_opening(self, opening: bool) -> None:
        if opening != self.opening_chat:
            self.opening_chat = opening
            self.openingChanged.emit()

    def _show(self, chat: Conversation, messages: list[Message]) -> None:
        self.conversation_id = chat.id
        self.shown.emit(chat)
        self.opened.emit(chat.id)
        self._stored = tuple(chat.collections)
        self.collections = self._known(self._stored)
        self.w.composer.cancel_edit()
        self.drafts.enter(chat.id)
        self.w.title.setText(chat.title)
        self.w.chat.show_messages(messages)
        self.w.sidebar.select(chat.id)
        self.collectionsChanged.emit()

    @property
    def view(self) -> int:
        """Changes whenever another chat (or a new one) is asked for: stale answers compare it."""
        return self._opening

    def created(self, chat: Conversation, view: int) -> None:
        """The generation job created ``chat`` for the message sent while ``view`` showed."""
        if view == self._opening and self.conversation_id is None:
            self.conversation_id = chat.id  # the refreshed list selects it
            self.opened.emit(chat.id)
            if ("new", view) in self._plain:
                self._plain.add(chat.id)
        self.refresh()

    def starting_collections(self) -> tuple[str, ...]:
        """What a new chat answers from: the open chat's collections (the last one used), else
        the only collection there is; else none (a question the documents may answer then
        offers them)."""
        known = [name for name in self.collections if name in self.available]
        if known:
            return tuple(known)
        return self.available if len(self.available) == 1 else ()

    def _known(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """``names`` less those not listed (once the collections were listed)."""
        return tuple(n for n in names if n in self.available) if self._names_listed else names

    def collections_listed(self, names: tuple[str, ...]) -> None:
        """The collections with passages are ``names`` now: a new chat nobody has chosen for
        yet starts with them as :meth:`starting_collections` says. A created chat keeps its
        choice: no chat's documents change without the person doing it; it shows (and answers
        from) only those of them listed, and its stored choice stays as it is."""
        self.available = tuple(names)
        self._names_listed = True
        if self.conversation_id is None and not self._chosen and not self.collections:
            chosen = self.starting_collections()
            if chosen:
                self.collections = self._stored = chosen
                self.collectionsChanged.emit()
        elif self.conversation_id is not None and self._known(self._stored) != self.collections:
            self.collections = self._known(self._stored)
            self.collectionsChanged.emit()

    @property
    def plain_chosen(self) -> bool:
        """Whether the person chose "No documents" for the open chat (this session): its
        questions are then not checked against the documents."""
        current = self.conversation_id
        return (current if current is not None else ("new", self._opening)) in self._plain

    def keep_plain(self) -> None:
        """The person declined the documents offered for the open chat: as "No documents"."""
        current = self.conversation_id
        self._plain.add(current if current is not None else ("new", self._opening))

    def indexed_into(self, name: str) -> None:
        """Documents were just added to ``name``. A new chat nobody has chosen documents for
        answers from them too (they were added while it was open); a created chat keeps its
        choice, and its next question may offer them (see the generation controller)."""
        if self.conversation_id is None and not self._chosen and name not in self.collections:
            self.collections = self._stored = (*self.collections, name)
            self.collectionsChanged.emit()

    def set_collections(self, names: tuple[str, ...]) -> None:
        """Which collections answer in the open chat (none, one, several, all): the person's
        choice."""
        self.collections = self._stored = tuple(names)
        self._chosen = True
        current = self.conversation_id
        key = current if current is not None else ("new", self._opening)
        if names:
            self._plain.discard(key)
        else:
            self._plain.add(key)
        if current is not None:
            written = self._writes[current] = threading.Event()

            def job(store: ChatStore) -> None:
                store.set_collections(current, names)
                written.set()

            self.db.call("set-collections", job, failure="Documents not chosen")
        self.collectionsChanged.emit()

    def choice_to_write(self) -> threading.Event | None:
        """At Send: whether the answer must write the collections the window shows for the open
        chat (None: the store's choice stands). It must while the person's newest choice is not
        written yet, or when the stored choice names collections not listed (those are dropped
        now, at Send, not on mere listing). The event is set, from any thread, once that choice
        is written, or once a rename or removal queued after it makes writing it wrong: the
        answer writes only while it is not set."""
        current = self.conversation_id
        if current is None:
            return None
        written = self._writes.get(current)
        if written is not None and not written.is_set():
            return written
        if self.collections == self._stored:
            return None
        self._stored = self.collections  # what the answer writes
        written = self._writes[current] = threading.Event()
        return written

    # -- collections renamed or removed on the documents page ----------------------------------

    def collection_renamed(self, old: str, new: str) -> None:
        """Collection ``old`` is called ``new`` now: every chat follows (in the store, trashed
        ones too), the open one as well. Nobody chose anything: a new chat is still offered
        documents, and picks up those indexed later, as before."""
        from ember.core import follow_rename

        self._follow(
            lambda names: tuple(new if n == old else n for n in names),
            lambda store: follow_rename(store, old, new),
            "Chats still use the old name",
        )

    def collection_removed(self, name: str) -> None:
        """Collection ``name`` is gone: no chat answers from it any more (in the store, trashed
        ones too); one left without collections answers without documents, and may be offered
        them again (it is not set to "No documents")."""
        from ember.core import follow_remove

        self._follow(
            lambda names: tuple(n for n in names if n != name),
            lambda store: follow_remove(store, name),
            f"Chats still answer from “{name}”",
        )

    def _follow(
        self,
        rewrite: Callable[[tuple[str, ...]], tuple[str, ...]],
        job: Callable[[ChatStore], int],
        failure: str,
    ) -> None:
        """Rewrite the names this controller holds, and every chat's on the chats worker."""
        for written in self._writes.values():
            written.set()  # queued before ``job``, which rewrites what they write
        self._writes.clear()
        self.available = rewrite(self.available)
        self._stored = rewrite(self._stored)
        if self.history_error is None:
            self.db.call("set-collections", job, failure=failure)
        collections = rewrite(self.collections)
        if collections != self.collections:
            self.collections = collections
            self.collectionsChanged.emit()

    # -- rename, delete, undo ------------------------------------------------------------------

    def rename(self, conversation_id: int | None) -> None:
        """Ask for a new title (the dialog shows the current one)."""
        if conversation_id is None:
            return

        def ask(chat: Conversation | None) -> None:
            if chat is None:
                return
            title, ok = QInputDialog.getText(
                self.w.parent, "Rename chat", "Title:", text=chat.title
            )
            if ok:
                self.rename_to(conversation_id, title)

        self.db.call("get-chat", lambda store: store.get(conversation_id), on_done=ask)

    def rename_to(self, conversation_id: int, title: str) -> None:
        def renamed(chat: Conversation) -> None:
            if conversation_id == self.conversation_id:
                self.w.title.setText(chat.title)
            self.refresh()

        self.db.call(
            "rename-chat",
            lambda store: store.rename(conversation_id, title),
            on_done=renamed,
            failure="Cannot rename",
        )

    def delete(self, conversation_id: int | None) -> None:
        if conversation_id is None:
            return
        purge = self.history_open and self.history_error is None
        self._deleted = None  # only the newest deletion can be undone: empty the trash first

        def job(store: ChatStore) -> object:
            if purge:
                _purge(store)
            return store.delete(conversation_id)

        def deleted(trashed: object) -> None:
            self._deleted = trashed
            self.refresh()
            self.w.undo_label.setText(f"Deleted “{trashed.title}”.")  # type: ignore[attr-defined]
            self.w.undo_bar.show()
            self.undo_timer.start(UNDO_SECONDS * 1000)

        if conversation_id == self.conversation_id:
            self.new_chat()
        self.db.call("delete-chat", job, on_done=deleted, failure="Cannot delete")

    def _undo_expired(self) -> None:
        self.w.undo_bar.hide()
        self._deleted = None
        if self.history_open and self.history_error is None:
            self.db.call("purge-chats", _purge)

    def undo_delete(self) -> None:
        deleted, self._deleted = self._deleted, None
        if deleted is None:
            return
        self.undo_timer.stop()
        self.w.undo_bar.hide()

        def restored(chat: Conversation) -> None:
            self.refresh()
            self.open(chat.id)

        self.db.call(
            "restore-chat",
            lambda store: store.restore(deleted),
            on_done=restored,
            failure="Cannot undo",
        )

    def purge_at_exit(self) -> None:
        """The window is closing: the undo offer ends, and deleted chats are erased for good as
        the chats worker's last job (it drains its queue at shutdown; the GUI waits for none)."""
        self._deleted = None
        if self.history_open and self.history_error is None:
            self.db.call("purge-trash", _purge)

    # -- export --------------------------------------------------------------------------------

    def export(self, conversation_id: int | None, kind: str) -> None:
        """Ask where to save the chat as ``kind`` ("markdown" or "json"), then write it."""
        if conversation_id is None:
            message.info("Nothing to export yet: this chat is empty.")
            return

        def ask(chat: Conversation | None) -> None:
            if chat is None:
                return
            suffix, pattern = (
                (".md", "Markdown (*.md)") if kind == "markdown" else (".json", "JSON (*.json)")
            )
            safe = "".join(c if c.isalnum() or c in " -_" else "_" for c in chat.title).strip()
            default = str(Path.home() / f"{safe or 'chat'}{suffix}")
            path, _ = QFileDialog.getSaveFileName(self.w.parent, "Export chat", default, pattern)
            if path:
                self.export_to(conversation_id, kind, Path(path))

        self.db.call("get-chat", lambda store: store.get(conversation_id), on_done=ask)

    def export_to(self, conversation_id: int, kind: str, path: Path) -> None:
        """Write the chat to ``path`` on the chats worker; says where, or why it could not."""

        def job(store: ChatStore) -> Path:
            text = (
                store.export_markdown(conversation_id)
                if kind == "markdown"
                else store.export_json(conversation_id)
            )
            write_atomically(path, text)  # a crash never leaves half an export
            return path

        def failed(error: BaseException) -> None:
            if isinstance(error, OSError):
                message.error("Export failed", f"Could not write {path}: {error.strerror}.")
            else:
                text = str(error) if isinstance(error, EmberError) else repr(error)
                message.error("Export failed", text)

        self.db.call(
            "export-chat",
            job,
            on_done=lambda written: message.info(f"Exported to {written}"),
            on_error=failed,
        )
