from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.chats.records import NEW_CHAT_TITLE, ConversationNotFound, derive_title
from ember.chats.store import ChatStore
from ember.db import integrity_ok
from ember.errors import SchemaTooNew
from ember.knowledge.types import Citation


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChatStore]:
    with ChatStore(tmp_path / "chats.sqlite3") as chat_store:
        yield chat_store


def test_a_new_chat_is_named_after_its_first_user_message(store: ChatStore) -> None:
    chat = store.create()
    assert chat.title == NEW_CHAT_TITLE
    store.add_message(chat.id, "user", "\n  How do I   reset the router?\nIt blinks red.")
    store.add_message(chat.id, "user", "Another question entirely")
    assert store.get(chat.id).title == "How do I reset the router?"


def test_a_given_or_renamed_title_is_not_replaced_by_messages(store: ChatStore) -> None:
    chat = store.create("Router notes")
    store.add_message(chat.id, "user", "How do I reset it?")
    assert store.get(chat.id).title == "Router notes"
    other = store.create()
    store.rename(other.id, "  My   plan ")
    store.add_message(other.id, "user", "first words")
    assert store.get(other.id).title == "My plan"


def test_long_first_messages_give_a_short_title_cut_at_a_word() -> None:
    title = derive_title("word " * 40)
    assert len(title) <= 61 and title.endswith("…") and "wor…" not in title
    assert derive_title("   \n\t") == NEW_CHAT_TITLE


def test_chats_are_listed_most_recently_active_first(store: ChatStore) -> None:
    first = store.create("first")
    second = store.create("second")
    assert [c.id for c in store.conversations()] == [second.id, first.id]
    store.add_message(first.id, "user", "bump")
    assert [c.id for c in store.conversations()] == [first.id, second.id]
    assert [c.id for c in store.conversations(limit=1)] == [first.id]


def test_messages_come_back_in_order_as_typed_records(store: ChatStore) -> None:
    chat = store.create()
    store.add_message(chat.id, "system", "be nice")
    store.add_message(chat.id, "user", "hi")
    store.add_message(chat.id, "assistant", "hello", model="smollm2")
    messages = store.messages(chat.id)
    assert [(m.role, m.content, m.state) for m in messages] == [
        ("system", "be nice", "done"),
        ("user", "hi", "done"),
        ("assistant", "hello", "done"),
    ]
    assert messages[2].model == "smollm2"
    assert not isinstance(messages[0], sqlite3.Row)


def test_search_matches_titles_and_message_text_by_word_prefix(store: ChatStore) -> None:
    router = store.create("Router troubles")
    bread = store.create()
    store.add_message(bread.id, "user", "Sourdough starter schedule")
    store.add_message(bread.id, "assistant", "Feed the starter twice a day at the café.")
    assert [c.id for c in store.conversations("rout")] == [router.id]
    assert [c.id for c in store.conversations("starter twice")] == [bread.id]
    assert [c.id for c in store.conversations("cafe")] == [bread.id]  # diacritics ignored
    assert store.conversations("starter router") == []  # every word must match in one place
    assert store.conversations("nothing-like-this") == []


def test_search_text_with_fts_syntax_is_taken_literally(store: ChatStore) -> None:
    chat = store.create()
    store.add_message(chat.id, "user", 'what does "NEAR(a b)" OR * mean')
    assert [c.id for c in store.conversations('"NEAR(a b)" OR *')] == [chat.id]
    assert len(store.conversations("***")) == 1  # nothing searchable: everything listed


def test_search_follows_edits_and_deletions(store: ChatStore) -> None:
    chat = store.create("untitled")
    message = store.add_message(chat.id, "user", "alpha")
    store.truncate_after(message.id, inclusive=True)
    assert store.conversations("alpha") == []
    store.rename(chat.id, "beta gamma")
    assert [c.id for c in store.conversations("gamma")] == [chat.id]


def test_delete_moves_a_chat_to_the_trash_and_restore_undoes_it(store: ChatStore) -> None:
    chat = store.create("keep me")
    store.add_message(chat.id, "user", "precious words")
    undo = store.delete(chat.id)
    assert store.conversations() == []
    assert store.conversations("precious") == []
    assert [c.id for c in store.conversations(deleted=True)] == [chat.id]
    assert store.get(chat.id).deleted
    restored = store.restore(undo)
    assert not restored.deleted
    assert [m.content for m in store.messages(chat.id)] == ["precious words"]


def test_purging_the_trash_erases_chats_messages_and_citations(store: ChatStore) -> None:
    kept = store.create("kept")
    gone = store.create("gone")
    message = store.add_message(gone.id, "assistant", "cited [1]")
    store.save_citations(message.id, [Citation(1, "/doc.pdf", 3, "Intro", "text", 0.9)])
    undo = store.delete(gone.id)
    assert store.purge_deleted(older_than_s=3600) == 0  # not old enough yet
    assert store.purge_deleted() == 1
    assert store.get(gone.id) is None
    assert store.message(message.id) is None
    assert store.citations(message.id) == ()
    with pytest.raises(ConversationNotFound):
        store.restore(undo)
    assert [c.id for c in store.conversations()] == [kept.id]


def test_truncate_after_keeps_the_message_and_drops_what_follows(store: ChatStore) -> None:
    chat = store.create()
    ids = [store.add_message(chat.id, "user", str(n)).id for n in range(5)]
    assert store.truncate_after(ids[2]) == 2
    assert [m.content for m in store.messages(chat.id)] == ["0", "1", "2"]
    assert store.truncate_after(ids[1], inclusive=True) == 2
    assert [m.content for m in store.messages(chat.id)] == ["0"]


def test_truncate_only_touches_its_own_chat(store: ChatStore) -> None:
    first, second = store.create(), store.create()
    anchor = store.add_message(first.id, "user", "a")
    store.add_message(second.id, "user", "b")
    store.truncate_after(anchor.id)
    assert [m.content for m in store.messages(second.id)] == ["b"]


def test_citations_are_saved_with_their_message(store: ChatStore) -> None:
    chat = store.create()
    message = store.add_message(chat.id, "assistant", "The fan is on page 4 [1].")
    citations = [
        Citation(1, "/docs/manual.pdf", 4, "Cooling", "The fan spins up at 70 °C.", 0.81),
        Citation(2, "/docs/notes.md", None, None, "Unrelated", 0.2),
    ]
    store.save_citations(message.id, citations)
    assert store.messages(chat.id)[0].citations == tuple(citations)
    assert store.message(message.id).citations == tuple(citations)


def test_collections_and_model_of_a_chat_are_kept(store: ChatStore) -> None:
    chat = store.create(collections=["manuals"])
    assert chat.collections == ("manuals",)
    store.set_collections(chat.id, ["manuals", "notes", "manuals"])
    store.set_model(chat.id, "smollm2")
    reopened = store.get(chat.id)
    assert reopened.collections == ("manuals", "notes")
    assert reopened.model == "smollm2"


def test_operations_on_a_missing_chat_say_so(store: ChatStore) -> None:
    assert store.get(999) is None
    with pytest.raises(ConversationNotFound, match="999"):
        store.add_message(999, "user", "hi")
    with pytest.raises(ConversationNotFound):
        store.rename(999, "x")


def test_data_survives_reopening_and_the_file_is_healthy(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    with ChatStore(path) as store:
        chat = store.create()
        store.add_message(chat.id, "user", "persist me")
    with ChatStore(path) as store:
        assert [m.content for m in store.messages(chat.id)] == ["persist me"]
    conn = sqlite3.connect(path)
    assert integrity_ok(conn)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_a_database_from_a_newer_ember_is_refused_and_left_byte_identical(
    tmp_path: Path,
) -> None:
    path = tmp_path / "chats.sqlite3"
    with ChatStore(path) as store:
        chat = store.create()
        store.add_message(chat.id, "user", "from the future")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(SchemaTooNew, match="newer Ember"):
        ChatStore(path)
    assert path.read_bytes() == before
