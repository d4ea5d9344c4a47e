"""The chat history, reached only from the task manager's ``chats`` worker.

The chat store waits up to 30 s for a write lock another Ember process holds, and its one lock
makes a reader wait for a writer of this process too: a call on the GUI thread could freeze the
window that long. Every call goes through :meth:`ChatDb.call`, in submission order (a rename
queued after a delete's undo sees the chat), and its result comes back to the GUI thread by signal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ember.errors import EmberError
from ember.ui import message
from ember.ui.tasks import TaskHandle, TaskManager

if TYPE_CHECKING:
    from ember.chats.store import ChatStore
    from ember.core import Core


# What the person did to the history: still written when the window closes right after it.
# Reads (listing, opening) are dropped at shutdown instead of waiting for a busy database.
WRITES = frozenset(
    {
        "set-collections",
        "rename-chat",
        "delete-chat",
        "restore-chat",
        "purge-chats",
        "purge-trash",
        "export-chat",
        "choose-version",
        "set-tools",
        "set-show-thinking",
    }
)


class ChatDb:
    """Queue chat-store work off the GUI thread; callbacks run on the GUI thread."""

    def __init__(self, core: Core, tasks: TaskManager) -> None:
        self._core = core
        self._tasks = tasks
        self._pending = 0

    @property
    def busy(self) -> bool:
        """True while a queued call has not answered yet (tests and the window wait on it)."""
        return self._pending > 0

    def call(
        self,
        name: str,
        fn: Callable[[ChatStore], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        failure: str = "Chat history",
    ) -> TaskHandle:
        """Run ``fn(store)`` on the chats worker; ``on_done(result)`` or ``on_error(exc)`` later.

        Without ``on_error`` a failure is shown to the person as an error titled ``failure``."""
        core = self._core
        self._pending += 1

        def done(result: object) -> None:
            self._pending -= 1
            if on_done is not None:
                on_done(result)

        def failed(error: BaseException) -> None:
            self._pending -= 1
            if on_error is not None:
                on_error(error)
            else:
                text = str(error) if isinstance(error, EmberError) else repr(error)
                message.error(failure, text)

        handle = self._tasks.run_on(
            self._tasks.chats,
            name,
            lambda _report: fn(core.store),
            on_done=done,
            on_error=failed,
            keep_at_shutdown=name in WRITES,
        )
        if handle.done:  # the window is closing: the call was never queued
            self._pending -= 1
        return handle
