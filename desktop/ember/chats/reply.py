"""Durable streaming replies: the text reaches the database while it is being generated.

A :class:`ReplyWriter` commits the accumulated text at most every ``flush_interval_s`` (or every
``flush_tokens`` pieces, whichever comes first), each in its own transaction. If the app dies mid
reply, everything up to the last flush survives and the message is still in state 'streaming';
the next :class:`~ember.chats.store.ChatStore` to open the file marks it 'interrupted'.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ember.chats.records import Message, MessageState

if TYPE_CHECKING:
    from ember.engines.base import Timings

# (ttft_s, tokens_per_s, prompt_tokens, completion_tokens) of a finished reply.
ReplyStats = tuple[float | None, float | None, int | None, int | None]


class ReplyStore(Protocol):
    """What a :class:`ReplyWriter` needs of a chat store (:class:`~ember.chats.store.ChatStore`
    implements it)."""

    def write_reply(
        self,
        message_id: int,
        content: str,
        state: MessageState,
        *,
        error: str | None = None,
        model: str | None = None,
        stats: ReplyStats | None = None,
        thinking: str | None = None,
    ) -> None:
        """Store the reply's text (and thinking) and state in one transaction (see
        :meth:`~ember.chats.store.ChatStore.write_reply`)."""

    def message(self, message_id: int) -> Message | None:
        """The message as stored now, or None once it is gone."""


class ReplyWriter:
    """Accumulates one assistant message's streamed text and commits it in batches.

    ``begin`` (``ChatStore.begin_reply``) → :meth:`append` per token (:meth:`think` per piece
    of a reasoning model's thinking, kept apart from the text) → exactly one of :meth:`finish`,
    :meth:`cancel`, :meth:`fail`.
    """

    def __init__(
        self,
        store: ReplyStore,
        message: Message,
        *,
        flush_interval_s: float = 0.1,
        flush_tokens: int = 32,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.message_id = message.id
        self.versions = message.versions  # ids of every version of the reply (itself last)
        self.conversation_id = message.conversation_id
        self.flush_interval_s = flush_interval_s
        self.flush_tokens = max(1, flush_tokens)
        self.flushes = 0  # commits made so far (for progress displays and crash tests)
        self.committed_text = ""  # the text as of the last commit
        self.closed = False
        self._clock = clock
        self._pieces: list[str] = []
        self._thoughts: list[str] = []
        self._pending = 0  # pieces appended since the last commit
        self._last_flush = clock()

    @property
    def text(self) -> str:
        """Everything appended so far, committed or not."""
        return "".join(self._pieces)

    def append(self, piece: str) -> bool:
        """Add streamed text; commits when the batch is due. Returns True if it committed."""
        if self.closed:
            raise RuntimeError("append() after the reply was closed")
        self._pieces.append(piece)
        self._pending += 1
        if (
            self._pending >= self.flush_tokens
            or self._clock() - self._last_flush >= self.flush_interval_s
        ):
            self.flush()
            return True
        return False

    @property
    def thinking(self) -> str:
        """The thinking added so far."""
        return "".join(self._thoughts)

    def think(self, piece: str) -> bool:
        """Add a piece of thinking (never part of the text); commits with the text when the
        batch is due. Returns True if it committed."""
        if self.closed:
            raise RuntimeError("think() after the reply was closed")
        self._thoughts.append(piece)
        return self.append("")

    def flush(self) -> None:
        """Commit the text now (state stays 'streaming')."""
        self._commit("streaming")

    def finish(
        self, *, text: str | None = None, timings: Timings | None = None, model: str = ""
    ) -> Message:
        """The reply is complete. ``text`` (the engine's final text) wins over what was appended."""
        return self._close("done", text=text, timings=timings, model=model)

    def cancel(
        self, *, text: str | None = None, timings: Timings | None = None, model: str = ""
    ) -> Message:
        """Stopped on request; the partial text is kept."""
        return self._close("cancelled", text=text, timings=timings, model=model)

    def fail(self, error: str, *, partial_text: str | None = None) -> Message:
        """The backend failed; keeps the longer of what was appended and ``partial_text``."""
        text = self.text
        if partial_text is not None and len(partial_text) > len(text):
            text = partial_text
        return self._close("error", text=text, error=error)

    def _close(
        self,
        state: MessageState,
        *,
        text: str | None = None,
        timings: Timings | None = None,
        model: str = "",
        error: str | None = None,
    ) -> Message:
        if self.closed:
            raise RuntimeError("the reply was already closed")
        if text is not None:
            self._pieces = [text]
        stats = None
        if timings is not None:
            stats = (
                timings.ttft_s,
                timings.tokens_per_s,
                timings.prompt_tokens,
                timings.completion_tokens,
            )
        self._commit(state, error=error, model=model, stats=stats)
        self.closed = True
        message = self.store.message(self.message_id)
        assert message is not None
        return message

    def _commit(
        self,
        state: MessageState,
        *,
        error: str | None = None,
        model: str = "",
        stats: ReplyStats | None = None,
    ) -> None:
        text = self.text
        self.store.write_reply(
            self.message_id,
            text,
            state,
            error=error,
            model=model or None,
            stats=stats,
            thinking=self.thinking if self._thoughts else None,
        )
        self.committed_text = text
        self.flushes += 1
        self._pending = 0
        self._last_flush = self._clock()
