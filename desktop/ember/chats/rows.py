"""Typed records from chat-database rows (the store hands out these, never ``sqlite3.Row``)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from typing import Any

from ember.chats.records import Conversation, Message, ToolStep
from ember.files import path_from_db, path_to_db
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
        tools=tuple(json.loads(row["tools"])),
        show_thinking=bool(row["show_thinking"]),
    )


def message_record(
    row: sqlite3.Row,
    citations: tuple[Citation, ...],
    versions: tuple[int, ...] = (),
    steps: tuple[ToolStep, ...] = (),
) -> Message:
    """A ``messages`` row as a :class:`Message` (``versions``: its versions' ids; just its own
    when empty; ``steps``: its tool steps, in order)."""
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
        thinking=row["thinking"],
        steps=steps,
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


def citation_row(message_id: int, c: Citation) -> tuple[Any, ...]:
    """The values of a ``citations`` row for ``c`` (in the column order
    :meth:`~ember.chats.store.ChatStore.save_citations` inserts)."""
    return (
        message_id,
        c.n,
        path_to_db(c.source),
        c.page,
        c.heading,
        c.snippet,
        float(c.similarity),
        c.page_label,
        c.page_count,
        c.section,
        c.start,
        c.end,
        c.content_hash,
    )


def citations_json(citations: tuple[Citation, ...]) -> str:
    """A tool step's citations as JSON text (a list of Citation fields; odd file-name bytes
    survive as escaped surrogates)."""
    return json.dumps([asdict(c) for c in citations])


def step_record(row: sqlite3.Row) -> ToolStep:
    """A ``tool_steps`` row as a :class:`ToolStep`."""
    return ToolStep(
        id=row["id"],
        message_id=row["message_id"],
        position=row["position"],
        text_offset=row["text_offset"],
        call_id=row["call_id"],
        tool=row["tool"],
        server=row["server"],
        arguments=row["arguments"],
        state=row["state"],
        decision=row["decision"],
        result=row["result"],
        truncated=bool(row["truncated"]),
        error=row["error"],
        started=row["started"],
        finished=row["finished"],
        citations=tuple(Citation(**c) for c in json.loads(row["citations"])),
    )
