"""Conversations, messages and their citations in one SQLite file (WAL, migrated, never wiped).

One :class:`ChatStore` per process and database. Its methods are safe to call from several threads
(the UI reads the list while a worker streams a reply): every operation holds one lock and writes
run in ``BEGIN IMMEDIATE`` transactions.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.chats.branches import BELOW as _BELOW
from ember.chats.branches import PATH_UP as _PATH_UP
from ember.chats.branches import chosen_branch
from ember.chats.migrations import MIGRATIONS
from ember.chats.records import (
    NEW_CHAT_TITLE,
    Conversation,
    ConversationNotFound,
    DeletedConversation,
    Message,
    MessageRole,
    MessageState,
    derive_title,
)
from ember.chats.rows import citation_record, citation_row, conversation_record, message_record
from ember.chats.steps import StepStore
from ember.db import check_health, connect, migrate
from ember.errors import StorageError
from ember.knowledge.types import Citation

if TYPE_CHECKING:
    from ember.chats.reply import ReplyWriter

_WORD = re.compile(r"\w+", re.UNICODE)
_MESSAGE_COLUMNS = (
    "id, conversation_id, role, content, model, state, created, error, ttft_s, tokens_per_s, "
    "prompt_tokens, completion_tokens, parent_id, thinking"
)

_M_COLUMNS = ", ".join("m." + column.strip() for column in _MESSAGE_COLUMNS.split(","))


def _match_expression(query: str) -> str | None:
    """Turn what a person typed into a safe FTS5 query: every word, as a prefix, all required."""
    words = _WORD.findall(query)
    if not words:
        return None
    return " ".join('"' + word.replace('"', "") + '"*' for word in words)


class ChatStore(StepStore):
    """The chat history database at ``path`` (created and migrated on open); its tool steps'
    methods are :class:`~ember.chats.steps.StepStore`'s."""

    def __init__(self, path: Path, *, recover: bool = True) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn = connect(self.path)
        try:
            check_health(
                self._conn,
                self.path,
                label="chat history",
                remedy="Ember will not write to it; restore it from a backup, or move it aside "
                "(the SQLite `.recover` command can often save its chats) to start a new history.",
            )
            migrate(self._conn, MIGRATIONS, label="chat history")
        except BaseException:
            self._conn.close()
            raise
        if recover:
            self.recover_interrupted()

    @classmethod
    def default(cls) -> ChatStore:
        """The store in this user's (or ``EMBER_HOME``'s) data directory."""
        from ember.paths import ember_paths

        return cls(ember_paths().chats_db)

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database connection; the store cannot be used afterwards."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ChatStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StorageError(
                    f"The chat history at {self.path} is busy or read-only ({exc})."
                ) from None
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                # Disk full, I/O error, file made read-only under us: the environment, not a bug.
                self._rollback()
                raise StorageError(
                    f"Could not save to the chat history at {self.path} ({exc}); is the disk full?"
                ) from None
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # -- conversations ----------------------------------------------------------------------

    def create(
        self,
        title: str | None = None,
        *,
        model: str = "",
        collections: Iterable[str] = (),
    ) -> Conversation:
        """A new, empty chat. Without ``title`` it is named after its first user message."""
        now = time.time()
        auto = not (title and title.strip())
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO conversations (title, title_is_auto, created, updated, model, collections)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    NEW_CHAT_TITLE if auto else title.strip(),  # type: ignore[union-attr]
                    int(auto),
                    now,
                    now,
                    model,
                    json.dumps(list(collections)),
                ),
            )
            conversation_id = cursor.lastrowid
        assert conversation_id is not None
        return self._require(conversation_id)

    def get(self, conversation_id: int) -> Conversation | None:
        """The chat, also while it is in the trash (then ``deleted_at`` is set); None if gone."""
        rows = self._query("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
        return conversation_record(rows[0]) if rows else None

    def _require(self, conversation_id: int) -> Conversation:
        conversation = self.get(conversation_id)
        if conversation is None:
            raise ConversationNotFound(f"Chat {conversation_id} no longer exists.")
        return conversation

    def conversations(
        self, query: str | None = None, *, deleted: bool = False, limit: int | None = None
    ) -> list[Conversation]:
        """Chats, most recently active first; ``query`` keeps those whose title or a message
        contains every word typed (prefix match); ``deleted=True`` lists the trash instead."""
        where = "c.deleted_at IS NOT NULL" if deleted else "c.deleted_at IS NULL"
        params: list[Any] = []
        match = _match_expression(query) if query else None
        if match is not None:
            where += (
                " AND (c.id IN (SELECT rowid FROM conversations_fts WHERE conversations_fts MATCH ?)"
                " OR c.id IN (SELECT m.conversation_id FROM messages m JOIN messages_fts f"
                " ON f.rowid = m.id WHERE messages_fts MATCH ?))"
            )
            params += [match, match]
        sql = f"SELECT c.* FROM conversations c WHERE {where} ORDER BY c.updated DESC, c.id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [conversation_record(row) for row in self._query(sql, params)]

    def rename(self, conversation_id: int, title: str) -> Conversation:
        """Give the chat its own title (whitespace collapsed; no longer named after its first
        message).

        Raises :class:`StorageError` for an empty title and :class:`ConversationNotFound` for a chat
        that is gone.
        """
        title = " ".join(title.split())
        if not title:
            raise StorageError("A chat title cannot be empty.")
        self._update_conversation(conversation_id, "title = ?, title_is_auto = 0", (title,))
        return self._require(conversation_id)

    def set_model(self, conversation_id: int, model: str) -> Conversation:
        """Record ``model`` as the chat's last-used model; :class:`ConversationNotFound` if it is
        gone."""
        self._update_conversation(conversation_id, "model = ?", (model,))
        return self._require(conversation_id)

    def set_collections(self, conversation_id: int, collections: Iterable[str]) -> Conversation:
        """Which knowledge collections answer in this chat (empty = plain chat)."""
        value = json.dumps(list(dict.fromkeys(collections)))
        self._update_conversation(conversation_id, "collections = ?", (value,))
        return self._require(conversation_id)

    def _update_conversation(self, conversation_id: int, assignments: str, params: tuple) -> None:
        with self._transaction() as conn:
            cursor = conn.execute(
                f"UPDATE conversations SET {assignments} WHERE id = ?", (*params, conversation_id)
            )
        if cursor.rowcount == 0:
            raise ConversationNotFound(f"Chat {conversation_id} no longer exists.")

    def delete(self, conversation_id: int) -> DeletedConversation:
        """Move a chat to the trash; pass the result to :meth:`restore` to undo."""
        now = time.time()
        conversation = self._require(conversation_id)
        self._update_conversation(conversation_id, "deleted_at = ?", (now,))
        return DeletedConversation(conversation_id, now, conversation.title)

    def restore(self, deleted: DeletedConversation) -> Conversation:
        """Undo a :meth:`delete` (until the trash is purged)."""
        self._update_conversation(deleted.conversation_id, "deleted_at = NULL", ())
        return self._require(deleted.conversation_id)

    def purge_deleted(self, older_than_s: float = 0.0) -> int:
        """Erase chats that have been in the trash at least ``older_than_s``; returns how many."""
        cutoff = time.time() - older_than_s
        with self._transaction() as conn:
            # Unlinked first: deleting a thread by its parent links would cascade once per
            # message, and SQLite stops nested cascades 1,000 deep.
            conn.execute(
                "UPDATE messages SET parent_id = NULL WHERE conversation_id IN (SELECT id FROM"
                " conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ?)",
                (cutoff,),
            )
            cursor = conn.execute(
                "DELETE FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ?",
                (cutoff,),
            )
        return cursor.rowcount

    # -- messages ---------------------------------------------------------------------------

    def add_message(
        self,
        conversation_id: int,
        role: MessageRole,
        content: str,
        *,
        model: str = "",
        state: MessageState = "done",
        after: int | None = None,
        version_of: int | None = None,
    ) -> Message:
        """Add a message at the end of the chat's chosen branch, or right ``after`` a message, or
        as a new version of one (``version_of``: a sibling, with the same message before it).
        The new message becomes the chosen one among its siblings. The first user message of a
        branch names a chat that has no title of its own.

        Raises :class:`ConversationNotFound` if the chat, or the message named, is gone."""
        now = time.time()
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT title, title_is_auto FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if row is None:
                raise ConversationNotFound(f"Chat {conversation_id} no longer exists.")
            parent_id = self._parent_for(conn, conversation_id, after, version_of)
            cursor = conn.execute(
                "INSERT INTO messages (conversation_id, role, content, model, state, created,"
                " parent_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, role, content, model, state, now, parent_id),
            )
            message_id = cursor.lastrowid
            assert message_id is not None
            self._choose_path(conn, conversation_id, message_id, row)
            conn.execute(
                "UPDATE conversations SET updated = ? WHERE id = ?", (now, conversation_id)
            )
        message = self.message(message_id)
        assert message is not None
        return message

    def _parent_for(
        self,
        conn: sqlite3.Connection,
        conversation_id: int,
        after: int | None,
        version_of: int | None,
    ) -> int | None:
        """The parent a new message gets (see :meth:`add_message`)."""
        if after is not None and version_of is not None:
            raise ValueError("a new message goes either after a message or beside it, not both")
        named = after if after is not None else version_of
        if named is None:
            branch = chosen_branch(
                (r["id"], r["parent_id"], r["chosen"])
                for r in conn.execute(
                    "SELECT id, parent_id, chosen FROM messages WHERE conversation_id = ?",
                    (conversation_id,),
                )
            )
            return branch[-1][0] if branch else None
        row = conn.execute(
            "SELECT parent_id FROM messages WHERE id = ? AND conversation_id = ?",
            (named, conversation_id),
        ).fetchone()
        if row is None:
            raise ConversationNotFound(f"Message {named} does not exist (or was deleted).")
        return named if after is not None else row["parent_id"]

    def _choose_path(
        self, conn: sqlite3.Connection, conversation_id: int, message_id: int, chat: sqlite3.Row
    ) -> None:
        """Make the chat's branch run through ``message_id``: it, and every message above it not
        chosen yet, becomes the chosen version among its siblings (so a message in a branch not
        shown now brings that branch back). A chat without a title of its own (``chat``: its
        ``title`` and ``title_is_auto``) is named after that branch's first question when it is
        ``message_id`` or the branch changed above it."""
        path = conn.execute(_PATH_UP, (message_id,)).fetchall()
        rethreaded = False
        for step in path:
            if step["id"] == message_id or not step["chosen"]:
                rethreaded = rethreaded or step["id"] != message_id
                conn.execute(
                    "UPDATE messages SET chosen = (id = ?) WHERE conversation_id = ?"
                    " AND parent_id IS ?",
                    (step["id"], conversation_id, step["parent_id"]),
                )
        first = next((step["id"] for step in reversed(path) if step["role"] == "user"), None)
        if first is None or not chat["title_is_auto"]:
            return
        if first != message_id and not rethreaded:
            return
        content = conn.execute("SELECT content FROM messages WHERE id = ?", (first,)).fetchone()
        title = derive_title(content[0])
        if title != chat["title"]:
            conn.execute(
                "UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id)
            )

    def message(self, message_id: int) -> Message | None:
        """One message with its citations and its versions' ids, or None if it does not exist."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)
            ).fetchall()
            if not rows:
                return None
            versions = self._conn.execute(
                "SELECT id FROM messages WHERE conversation_id = ? AND parent_id IS ? ORDER BY id",
                (rows[0]["conversation_id"], rows[0]["parent_id"]),
            ).fetchall()
        versions_ids = tuple(v["id"] for v in versions)
        steps = tuple(self._steps("s.message_id = ?", message_id).get(message_id, ()))
        return message_record(rows[0], self.citations(message_id), versions_ids, steps)

    def messages(self, conversation_id: int) -> list[Message]:
        """The chat's chosen branch in order (the conversation as shown), each message with its
        citations and its versions' ids; other versions are reached with :meth:`versions`."""
        with self._lock:
            rows = {
                row["id"]: row
                for row in self._conn.execute(
                    f"SELECT {_MESSAGE_COLUMNS}, chosen FROM messages WHERE conversation_id = ?",
                    (conversation_id,),
                )
            }
            cited: dict[int, list[Citation]] = {}
            for row in self._conn.execute(
                "SELECT c.* FROM citations c JOIN messages m ON m.id = c.message_id"
                " WHERE m.conversation_id = ? ORDER BY c.message_id, c.n",
                (conversation_id,),
            ):
                cited.setdefault(row["message_id"], []).append(citation_record(row))
        steps = self._steps("m.conversation_id = ?", conversation_id)
        branch = chosen_branch((r["id"], r["parent_id"], r["chosen"]) for r in rows.values())
        return [
            message_record(rows[i], tuple(cited.get(i, ())), versions, tuple(steps.get(i, ())))
            for i, versions in branch
        ]

    def thread(self, message_id: int) -> list[Message]:
        """The messages from the chat's first down to ``message_id`` (itself last): what it
        follows, whichever branch the chat shows now (empty if it is gone). With their tool
        steps, without citations or versions' ids: for building a prompt."""
        rows = self._query(
            "WITH RECURSIVE up(id, parent_id, depth) AS (SELECT id, parent_id, 0 FROM messages"
            " WHERE id = ? UNION ALL SELECT m.id, m.parent_id, up.depth + 1 FROM messages m"
            f" JOIN up ON m.id = up.parent_id) SELECT {_M_COLUMNS}"
            " FROM up JOIN messages m ON m.id = up.id ORDER BY up.depth DESC",
            (message_id,),
        )
        if not rows:
            return []
        steps = self._steps("m.conversation_id = ?", rows[0]["conversation_id"])
        return [message_record(row, (), (), tuple(steps.get(row["id"], ()))) for row in rows]

    def versions(self, message_id: int) -> list[Message]:
        """Every version of a message (itself and its siblings), oldest first, each with its own
        citations and timings. Raises :class:`ConversationNotFound` if the message is gone."""
        message = self.message(message_id)
        if message is None:
            raise ConversationNotFound(f"Message {message_id} does not exist (or was deleted).")
        found = [self.message(i) for i in message.versions]
        return [m for m in found if m is not None]

    def choose_version(self, message_id: int) -> list[Message]:
        """Show this version of its message: the chat's branch now runs through it and on down
        the branch it had (what followed it when it was last shown). Returns the chat's messages
        as they now read (:meth:`messages`); :class:`ConversationNotFound` if it is gone."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT m.conversation_id, c.title, c.title_is_auto"
                " FROM messages m JOIN conversations c ON c.id = m.conversation_id"
                " WHERE m.id = ?",
                (message_id,),
            ).fetchone()
            if row is None:
                raise ConversationNotFound(f"Message {message_id} does not exist (or was deleted).")
            self._choose_path(conn, row["conversation_id"], message_id, row)
        return self.messages(row["conversation_id"])

    def truncate_after(self, message_id: int, *, inclusive: bool = False) -> int:
        """Delete every message below ``message_id`` (what follows it, in all versions), and it
        too if ``inclusive`` (then its newest other version, if any, shows in its place).
        Returns how many were deleted."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT conversation_id, parent_id FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
            if row is None:
                raise ConversationNotFound(f"Message {message_id} does not exist (or was deleted).")
            doomed = [r["id"] for r in conn.execute(_BELOW, (message_id,))]
            if inclusive:
                doomed.insert(0, message_id)  # (above all of them)
            # Deepest first (``_BELOW`` lists parents before their children): no delete then
            # cascades down a thread, which SQLite stops 1,000 messages deep.
            conn.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in reversed(doomed)])
            if inclusive:
                conn.execute(
                    "UPDATE messages SET chosen = 1 WHERE id = (SELECT MAX(id) FROM messages"
                    " WHERE conversation_id = ? AND parent_id IS ?)",
                    (row["conversation_id"], row["parent_id"]),
                )
            conn.execute(
                "UPDATE conversations SET updated = ? WHERE id = ?",
                (time.time(), row["conversation_id"]),
            )
        return len(doomed)

    def save_citations(self, message_id: int, citations: Iterable[Citation]) -> None:
        """Record the numbered sources behind a message (replacing any it had)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM citations WHERE message_id = ?", (message_id,))
            conn.executemany(
                "INSERT INTO citations (message_id, n, source, page, heading, snippet, score, "
                'page_label, page_count, section, start, "end", content_hash) '
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [citation_row(message_id, c) for c in citations],
            )

    def citations(self, message_id: int) -> tuple[Citation, ...]:
        """The sources saved for a message, in order of ``n`` (empty if none)."""
        rows = self._query("SELECT * FROM citations WHERE message_id = ? ORDER BY n", (message_id,))
        return tuple(citation_record(row) for row in rows)

    # -- streaming replies ------------------------------------------------------------------

    def begin_reply(
        self,
        conversation_id: int,
        *,
        model: str = "",
        after: int | None = None,
        version_of: int | None = None,
        flush_interval_s: float = 0.1,
        flush_tokens: int = 32,
    ) -> ReplyWriter:
        """Start an assistant message in state 'streaming' and return its durable writer; it
        goes where :meth:`add_message` puts it (``after`` a message, or a ``version_of`` one)."""
        from ember.chats.reply import ReplyWriter

        message = self.add_message(
            conversation_id,
            "assistant",
            "",
            model=model,
            state="streaming",
            after=after,
            version_of=version_of,
        )
        if model:
            self._update_conversation(conversation_id, "model = ?", (model,))
        return ReplyWriter(
            self, message, flush_interval_s=flush_interval_s, flush_tokens=flush_tokens
        )

    def write_reply(
        self,
        message_id: int,
        content: str,
        state: MessageState,
        *,
        error: str | None = None,
        model: str | None = None,
        stats: tuple[float | None, float | None, int | None, int | None] | None = None,
        thinking: str | None = None,
    ) -> None:
        """One transactional write of a streaming reply's text, and its ``thinking`` when given
        (and, at the end, its outcome); raises :class:`ConversationNotFound` when the message
        was deleted meanwhile."""
        assignments = ["content = ?", "state = ?", "error = ?"]
        params: list[Any] = [content, state, error]
        if thinking is not None:
            assignments.append("thinking = ?")
            params.append(thinking)
        if model:
            assignments.append("model = ?")
            params.append(model)
        if stats is not None:
            assignments += [
                "ttft_s = ?",
                "tokens_per_s = ?",
                "prompt_tokens = ?",
                "completion_tokens = ?",
            ]
            params += list(stats)
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT conversation_id FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
            if row is None:
                raise ConversationNotFound(
                    f"Message {message_id} was deleted while it was being written."
                )
            conn.execute(
                f"UPDATE messages SET {', '.join(assignments)} WHERE id = ?", (*params, message_id)
            )
            conn.execute(
                "UPDATE conversations SET updated = ? WHERE id = ?",
                (time.time(), row["conversation_id"]),
            )

    def recover_interrupted(self) -> int:
        """Mark replies left 'streaming' by a crash as 'interrupted' (their text is kept), and
        their tool steps left waiting for approval or running too. Returns how many replies.

        Harmless if another process is really still streaming: its next flush sets the state
        back to 'streaming' and its end sets the final one.
        """
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE messages SET state = 'interrupted' WHERE state = 'streaming'"
            )
            conn.execute(
                "UPDATE tool_steps SET state = 'interrupted', finished = COALESCE(finished, ?)"
                " WHERE state IN ('approval', 'running')",
                (time.time(),),
            )
        return cursor.rowcount

    # -- export -----------------------------------------------------------------------------

    def export_markdown(self, conversation_id: int) -> str:
        """The chat as Markdown (:func:`~ember.chats.export.to_markdown`); raises
        :class:`ConversationNotFound` if it is gone."""
        from ember.chats.export import to_markdown

        return to_markdown(self._require(conversation_id), self.messages(conversation_id))

    def export_json(self, conversation_id: int) -> str:
        """The chat as JSON (:func:`~ember.chats.export.to_json`); raises
        :class:`ConversationNotFound` if it is gone."""
        from ember.chats.export import to_json

        return to_json(self._require(conversation_id), self.messages(conversation_id))
