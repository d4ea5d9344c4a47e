"""Typed records from chat-database rows (the store hands out these, never ``sqlite3.Row``)."""

from __future__ import annotations

import json
import sqlite3

from ember.chats.records import Conversation, Message
from ember.files import path_from_db
from ember.knowledge.types import Citation


def conversation_record(row: sqlite3.Row) -> Conversation:
    """A ``conversations`` row as a :class:`Conversation`."""
    return Conversation(
        id=row["id"],
        title=row["title"],
        created=row["created"],
        updated=row["updated"],
        model=row["model"],
        collections=tuple(json.loads(row["collections"])),
        deleted_at=row["deleted_at"],
    )


def message_record(
    row: sqlite3.Row, citations: tuple[Citation, ...], versions: tuple[int, ...] = ()
) -> Message:
    """A ``messages`` row as a :class:`Message` (``versions``: its versions' ids; just its own
    when empty)."""
    return Message(
        id=row["id"],
        conversation_id=row["conversation_id"],
        role=row["role"],
        content=row["content"],
        model=row["model"],
        state=row["state"],
        created=row["created"],
        error=row["error"],
        ttft_s=row["ttft_s"],
        tokens_per_s=row["tokens_per_s"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        citations=citations,
        parent_id=row["parent_id"],
        versions=versions or (row["id"],),
    )


def citation_record(row: sqlite3.Row) -> Citation:
    """A ``citations`` row as a :class:`Citation`."""
    return Citation(
        n=row["n"],
        source=path_from_db(row["source"]),
        page=row["page"],
        heading=row["heading"],
        snippet=row["snippet"],
        similarity=row["score"],
        page_label=row["page_label"],
        page_count=row["page_count"],
        section=row["section"],
        start=row["start"],
        end=row["end"],
        content_hash=row["content_hash"],
    )
