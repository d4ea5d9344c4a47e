"""Message versions over long chats: a thread is a chain of parent links as long as the chat, so
deleting one must never recurse through it (SQLite stops foreign-key cascades 1,000 deep)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.chats.store import ChatStore

LONG = 1_200  # messages: past SQLite's limit of 1,000 nested cascades


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChatStore]:
    with ChatStore(tmp_path / "chats.sqlite3") as chat_store:
        yield chat_store


def _long_chat(store: ChatStore, messages: int = LONG) -> list[int]:
    chat = store.create()
    roles = ("user", "assistant")
    return [store.add_message(chat.id, roles[i % 2], f"message {i}").id for i in range(messages)]


def _count(store: ChatStore, sql: str) -> int:
    return store._query(sql)[0][0]


def test_a_long_chat_in_the_trash_is_purged(store: ChatStore) -> None:
    ids = _long_chat(store)
    kept = store.create()
    store.add_message(kept.id, "user", "stays")
    chat_id = store.message(ids[0]).conversation_id  # type: ignore[union-attr]
    store.delete(chat_id)

    assert store.purge_deleted() == 1

    assert store.get(chat_id) is None
    assert _count(store, "SELECT COUNT(*) FROM messages") == 1
    assert [m.content for m in store.messages(kept.id)] == ["stays"]
    assert store.conversations("message") == []  # search forgot the purged chat's messages


def test_truncating_a_long_thread_deletes_it_all(store: ChatStore) -> None:
    ids = _long_chat(store)

    assert store.truncate_after(ids[0]) == LONG - 1

    chat_id = store.message(ids[0]).conversation_id  # type: ignore[union-attr]
    assert [m.id for m in store.messages(chat_id)] == [ids[0]]


def test_truncating_a_long_thread_with_its_first_message_deletes_it_all(store: ChatStore) -> None:
    ids = _long_chat(store)
    chat_id = store.message(ids[0]).conversation_id  # type: ignore[union-attr]

    assert store.truncate_after(ids[1], inclusive=True) == LONG - 1

    assert [m.id for m in store.messages(chat_id)] == [ids[0]]
