"""A reply's tool steps and a chat's tool choices, as :class:`~ember.chats.store.ChatStore`
methods (this mixin keeps the store's module small; it uses the store's transaction and query
helpers). Every change is committed at once, so a ``kill -9`` keeps each step as it last was.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from ember.chats.records import Conversation, ConversationNotFound, StepState, ToolStep
from ember.chats.rows import citations_json, step_record

# What :meth:`StepStore.update_step` may change of a tool step.
_STEP_CHANGES = frozenset(
    {"state", "decision", "result", "truncated", "error", "finished", "citations", "text_offset"}
)


class StepStore:
    """Tool steps (``tool_steps``) and the ``tools`` / ``show_thinking`` of conversations."""

    # Provided by ChatStore.
    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        raise NotImplementedError

    def _update_conversation(self, conversation_id: int, assignments: str, params: tuple) -> None:
        raise NotImplementedError

    def _require(self, conversation_id: int) -> Conversation:
        raise NotImplementedError

    def add_step(
        self,
        message_id: int,
        *,
        tool: str,
        arguments: str,
        state: StepState,
        call_id: str = "",
        server: str = "",
        text_offset: int = 0,
        decision: str | None = None,
    ) -> ToolStep:
        """Record a tool call of reply ``message_id`` as its next step (committed at once);
        ``arguments`` is JSON text. :class:`ConversationNotFound` if the reply is gone."""
        with self._transaction() as conn:
            if (
                conn.execute("SELECT 1 FROM messages WHERE id = ?", (message_id,)).fetchone()
                is None
            ):
                raise ConversationNotFound(f"Message {message_id} does not exist (or was deleted).")
            cursor = conn.execute(
                "INSERT INTO tool_steps (message_id, position, text_offset, call_id, tool, server,"
                " arguments, state, decision, started) VALUES (?, (SELECT COUNT(*) FROM tool_steps"
                " WHERE message_id = ?), ?, ?, ?, ?, ?, ?, ?, ?)",
                (message_id, message_id, text_offset, call_id, tool, server, arguments, state,
                 decision, time.time()),
            )  # fmt: skip
        return self.step(cursor.lastrowid or 0)

    def update_step(self, step_id: int, **changes: Any) -> ToolStep:
        """Change a tool step (committed at once): any of ``state``, ``decision``, ``result``,
        ``truncated``, ``error``, ``finished`` (Unix time), ``citations``, ``text_offset``."""
        unknown = set(changes) - _STEP_CHANGES
        if unknown:
            raise ValueError(f"not a tool step field: {', '.join(sorted(unknown))}")
        if "citations" in changes:
            changes["citations"] = citations_json(tuple(changes["citations"]))
        if "truncated" in changes:
            changes["truncated"] = int(bool(changes["truncated"]))
        assignments = ", ".join(f"{name} = ?" for name in changes)
        with self._transaction() as conn:
            if changes:
                conn.execute(
                    f"UPDATE tool_steps SET {assignments} WHERE id = ?",
                    (*changes.values(), step_id),
                )
        return self.step(step_id)

    def step(self, step_id: int) -> ToolStep:
        """One tool step as stored; :class:`ConversationNotFound` if it is gone."""
        rows = self._query("SELECT * FROM tool_steps WHERE id = ?", (step_id,))
        if not rows:
            raise ConversationNotFound(f"Tool step {step_id} does not exist (or was deleted).")
        return step_record(rows[0])

    def _steps(self, where: str, param: int) -> dict[int, list[ToolStep]]:
        """Tool steps by message id, in order, of the messages matching ``where`` (over
        ``tool_steps s JOIN messages m``)."""
        found: dict[int, list[ToolStep]] = {}
        for row in self._query(
            "SELECT s.* FROM tool_steps s JOIN messages m ON m.id = s.message_id"
            f" WHERE {where} ORDER BY s.message_id, s.position",
            (param,),
        ):
            found.setdefault(row["message_id"], []).append(step_record(row))
        return found

    def set_tools(self, conversation_id: int, names: Iterable[str]) -> Conversation:
        """Which tools the model may call in this chat (by ``ToolInfo.name``; empty = none)."""
        value = json.dumps(list(dict.fromkeys(names)))
        self._update_conversation(conversation_id, "tools = ?", (value,))
        return self._require(conversation_id)

    def set_show_thinking(self, conversation_id: int, show: bool) -> Conversation:
        """Whether the window shows reasoning models' Thinking blocks in this chat."""
        self._update_conversation(conversation_id, "show_thinking = ?", (int(show),))
        return self._require(conversation_id)
