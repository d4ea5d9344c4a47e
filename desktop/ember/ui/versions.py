"""Switching a message to another of its versions (the ``‹ 2/3 ›`` switcher on a bubble).

The switch is one chat-history call (:meth:`~ember.chats.store.ChatStore.choose_version`) on the
chats worker, never on the GUI thread; its answer (the chat as it now reads) rebuilds the
conversation below that message. Nothing switches while an answer is being written, and an
answer for a chat the person has left meanwhile is dropped (the history has the choice: the chat
opens with it next time).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ember.ui.qt import QObject

if TYPE_CHECKING:
    from ember.chats.records import Message
    from ember.chats.store import ChatStore
    from ember.ui.bubble import MessageBubble
    from ember.ui.chat_db import ChatDb
    from ember.ui.chatview import ChatView
    from ember.ui.conversations import Conversations
    from ember.ui.tasks import TaskHandle


class VersionChooser(QObject):
    """Answers a chat view's ``versionRequested(bubble, message_id)``.

    ``answering`` says whether an answer is on its way now (then the request is ignored; the
    switchers are disabled meanwhile anyway)."""

    def __init__(
        self,
        db: ChatDb,
        conversations: Conversations,
        chat: ChatView,
        answering: Callable[[], bool],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.db = db
        self.conversations = conversations
        self.chat = chat
        self._answering = answering
        self.handle: TaskHandle | None = None  # the switch on its way to the history, if any
        chat.versionRequested.connect(self.choose)

    @property
    def switching(self) -> bool:
        """A switch is on its way to the history (sending waits: the chat is changing)."""
        return self.handle is not None

    def choose(self, bubble: MessageBubble, message_id: int) -> None:
        """Show version ``message_id`` in ``bubble`` and re-thread the chat below it."""
        if self._answering():
            return
        view = self.conversations.view

        def job(store: ChatStore) -> list[Message]:
            return store.choose_version(message_id)

        def chosen(messages: list[Message]) -> None:
            self.handle = None
            if view == self.conversations.view:  # still the chat it was asked in
                self.chat.show_from(bubble, messages)

        def failed(error: BaseException) -> None:
            from ember.errors import EmberError
            from ember.ui import message

            self.handle = None
            text = str(error) if isinstance(error, EmberError) else repr(error)
            message.error("Message versions", f"Could not show that version: {text}")

        self.handle = self.db.call("choose-version", job, on_done=chosen, on_error=failed)
