"""Message versions in the chat store: edits and regenerations are kept as a tree, the chat reads
its chosen branch, and choosing a version re-threads what follows it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.chats.migrations import MIGRATIONS, VERSIONS_MIGRATION
from ember.chats.records import ConversationNotFound
from ember.chats.store import ChatStore
from ember.db import connect, migrate
from ember.engines import Timings
from ember.knowledge.types import Citation


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChatStore]:
    with ChatStore(tmp_path / "chats.sqlite3") as chat_store:
        yield chat_store


def _cite(n: int, source: str) -> Citation:
    return Citation(n, f"/docs/{source}", n + 2, "Care", f"Passage from {source}.", 0.8)


def _answer(store: ChatStore, chat_id: int, text: str, **where: int) -> int:
    writer = store.begin_reply(chat_id, model="smollm2", **where)
    writer.append(text)
    return writer.finish(timings=Timings(0.1, 20.0, 30, len(text))).id


def _thread(store: ChatStore, chat_id: int) -> list[str]:
    return [m.content for m in store.messages(chat_id)]


def test_a_chat_from_before_versions_opens_as_one_branch(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    before = MIGRATIONS[: [m.name for m in MIGRATIONS].index(VERSIONS_MIGRATION)]
    conn = connect(path)
    migrate(conn, before, label="chat history")
    conn.execute("INSERT INTO conversations (title, created, updated) VALUES ('old', 1, 1)")
    conn.execute("INSERT INTO conversations (title, created, updated) VALUES ('other', 1, 1)")
    rows = [(1, "user", "one"), (2, "user", "elsewhere"), (1, "assistant", "two")]
    rows += [(1, "user", "three"), (1, "assistant", "four")]
    for chat_id, role, content in rows:
        conn.execute(
            "INSERT INTO messages (conversation_id, role, content, created) VALUES (?, ?, ?, 1)",
            (chat_id, role, content),
        )
    conn.execute(
        "INSERT INTO citations (message_id, n, source, snippet, score) VALUES (3, 1, '/a', 's', 1)"
    )
    conn.close()

    with ChatStore(path) as store:
        messages = store.messages(1)
        assert [m.content for m in messages] == ["one", "two", "three", "four"]
        assert [m.parent_id for m in messages] == [None, 1, 3, 4]
        assert all((m.version, m.version_count) == (1, 1) for m in messages)
        assert [str(c.source) for c in messages[1].citations] == ["/a"]
        assert _thread(store, 2) == ["elsewhere"]
        # New messages keep adding to the end of the old thread.
        store.add_message(1, "user", "five")
        assert _thread(store, 1)[-2:] == ["four", "five"]
        assert [c.title for c in store.conversations("three")] == ["old"]


def test_an_edit_is_a_version_and_choosing_re_threads_what_follows(store: ChatStore) -> None:
    chat = store.create()
    question = store.add_message(chat.id, "user", "How warm is the tea?")
    _answer(store, chat.id, "Hot.")
    store.add_message(chat.id, "user", "And the coffee?")
    _answer(store, chat.id, "Warm.")
    old = _thread(store, chat.id)

    edit = store.add_message(chat.id, "user", "How cold is the tea?", version_of=question.id)
    _answer(store, chat.id, "Cold.", after=edit.id)
    assert _thread(store, chat.id) == ["How cold is the tea?", "Cold."]
    assert store.messages(chat.id)[0].versions == (question.id, edit.id)
    assert [v.content for v in store.versions(edit.id)] == [old[0], "How cold is the tea?"]

    assert [m.content for m in store.choose_version(question.id)] == old
    assert (store.messages(chat.id)[0].version, store.messages(chat.id)[0].version_count) == (1, 2)
    assert [m.content for m in store.choose_version(edit.id)] == ["How cold is the tea?", "Cold."]


def test_each_version_of_an_answer_keeps_its_own_citations_and_timings(store: ChatStore) -> None:
    chat = store.create()
    store.add_message(chat.id, "user", "How do I descale it?")
    first = _answer(store, chat.id, "With vinegar [1].")
    store.save_citations(first, [_cite(1, "kettle.pdf")])
    writer = store.begin_reply(chat.id, version_of=first)
    writer.append("With citric acid [1].")
    second = writer.finish(timings=Timings(0.3, 5.0, 30, 8)).id
    store.save_citations(second, [_cite(1, "descaler.pdf")])

    shown = store.messages(chat.id)[-1]
    assert (shown.id, shown.version, shown.version_count) == (second, 2, 2)
    assert [Path(c.source).name for c in shown.citations] == ["descaler.pdf"]
    earlier, later = store.versions(second)
    assert [Path(c.source).name for c in earlier.citations] == ["kettle.pdf"]
    assert (earlier.ttft_s, later.ttft_s) == (0.1, 0.3)
    assert (earlier.completion_tokens, later.completion_tokens) == (len("With vinegar [1]."), 8)
    assert Path(store.choose_version(first)[-1].citations[0].source).name == "kettle.pdf"


def test_a_later_version_below_a_version_is_remembered(store: ChatStore) -> None:
    """Each branch keeps the choices made below it: switching away and back restores them."""
    chat = store.create()
    question = store.add_message(chat.id, "user", "Q")
    a1 = _answer(store, chat.id, "A1")
    a2 = _answer(store, chat.id, "A2", version_of=a1)
    edit = store.add_message(chat.id, "user", "Q edited", version_of=question.id)
    _answer(store, chat.id, "B", after=edit.id)
    assert [m.content for m in store.choose_version(question.id)] == ["Q", "A2"]
    store.choose_version(a1)
    store.choose_version(edit.id)
    assert [m.content for m in store.choose_version(question.id)] == ["Q", "A1"]
    assert store.message(a2).versions == (a1, a2)


def test_only_a_branchs_first_question_names_the_chat(store: ChatStore) -> None:
    chat = store.create()
    first = store.add_message(chat.id, "user", "Tea")
    _answer(store, chat.id, "Yes.")
    later = store.add_message(chat.id, "user", "Coffee")
    store.add_message(chat.id, "user", "Cocoa", version_of=later.id)
    assert store.get(chat.id).title == "Tea"
    store.add_message(chat.id, "user", "Water", version_of=first.id)
    assert store.get(chat.id).title == "Water"
    store.choose_version(first.id)
    assert store.get(chat.id).title == "Tea"


def test_versions_of_gone_messages_say_so(store: ChatStore) -> None:
    chat = store.create()
    other = store.create()
    message = store.add_message(chat.id, "user", "hi")
    with pytest.raises(ConversationNotFound):
        store.versions(9999)
    with pytest.raises(ConversationNotFound):
        store.choose_version(9999)
    with pytest.raises(ConversationNotFound):  # a message of another chat is not a place to add
        store.add_message(other.id, "user", "x", version_of=message.id)


def test_search_finds_every_version_and_follows_their_deletion(store: ChatStore) -> None:
    chat = store.create("untitled")
    question = store.add_message(chat.id, "user", "alpha")
    store.add_message(chat.id, "user", "gamma", version_of=question.id)
    assert [c.id for c in store.conversations("alpha")] == [chat.id]
    assert [c.id for c in store.conversations("gamma")] == [chat.id]
    store.truncate_after(question.id, inclusive=True)
    assert store.conversations("alpha") == []
    assert _thread(store, chat.id) == ["gamma"]  # the other version shows in its place


def test_truncating_removes_what_follows_in_every_version(store: ChatStore) -> None:
    chat = store.create()
    question = store.add_message(chat.id, "user", "Q")
    first = _answer(store, chat.id, "A1")
    _answer(store, chat.id, "A2", version_of=first)
    store.add_message(chat.id, "user", "next")
    assert store.truncate_after(question.id) == 3
    assert _thread(store, chat.id) == ["Q"]


def test_a_version_cut_off_by_a_crash_is_recovered(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    with ChatStore(path) as store:
        chat = store.create()
        store.add_message(chat.id, "user", "Q")
        first = _answer(store, chat.id, "A1")
        writer = store.begin_reply(chat.id, version_of=first)
        writer.append("A2 half")
        writer.flush()  # then the app dies
    with ChatStore(path) as store:
        shown = store.messages(chat.id)[-1]
        assert (shown.content, shown.state, shown.version) == ("A2 half", "interrupted", 2)
        assert store.versions(shown.id)[0].state == "done"


def test_a_deleted_chat_comes_back_with_its_versions(store: ChatStore) -> None:
    chat = store.create()
    question = store.add_message(chat.id, "user", "Q")
    store.add_message(chat.id, "user", "Q2", version_of=question.id)
    store.restore(store.delete(chat.id))
    assert [v.content for v in store.versions(question.id)] == ["Q", "Q2"]
    assert _thread(store, chat.id) == ["Q2"]


def test_exports_hold_the_chosen_branch_only(store: ChatStore) -> None:
    chat = store.create()
    question = store.add_message(chat.id, "user", "Old question")
    _answer(store, chat.id, "Old answer")
    edit = store.add_message(chat.id, "user", "New question", version_of=question.id)
    first = _answer(store, chat.id, "Answer one", after=edit.id)
    _answer(store, chat.id, "Answer two", version_of=first)

    markdown = store.export_markdown(chat.id)
    assert "New question" in markdown and "Answer two" in markdown
    assert "Old" not in markdown and "Answer one" not in markdown
    exported = json.loads(store.export_json(chat.id))["messages"]
    assert [m["content"] for m in exported] == ["New question", "Answer two"]
    assert [(m["version"], m["version_count"]) for m in exported] == [(2, 2), (2, 2)]
    assert all("versions" not in m and "parent_id" not in m for m in exported)
