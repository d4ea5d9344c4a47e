"""Choosing a version shows it, wherever it is: a message in a branch the chat does not show now
(below another version of a question above it) brings its whole branch back, and a message added
there (an edit, an answer) shows too. The chat's auto title follows the branch's first question."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.chats.store import ChatStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChatStore]:
    with ChatStore(tmp_path / "chats.sqlite3") as chat_store:
        yield chat_store


def _thread(store: ChatStore, chat_id: int) -> list[str]:
    return [m.content for m in store.messages(chat_id)]


@pytest.fixture
def edited(store: ChatStore) -> tuple[int, dict[str, int]]:
    """A chat whose first question was edited: the first thread is hidden below version 1."""
    chat = store.create()
    ids = {}
    for role, text in [("user", "Tea?"), ("assistant", "Yes."), ("user", "Hot?")]:
        ids[text] = store.add_message(chat.id, role, text).id
    ids["Very."] = store.add_message(chat.id, "assistant", "Very.").id
    ids["Coffee?"] = store.add_message(chat.id, "user", "Coffee?", version_of=ids["Tea?"]).id
    ids["No."] = store.add_message(chat.id, "assistant", "No.", after=ids["Coffee?"]).id
    assert _thread(store, chat.id) == ["Coffee?", "No."]
    assert store.get(chat.id).title == "Coffee?"  # type: ignore[union-attr]
    return chat.id, ids


def test_choosing_a_hidden_message_shows_its_whole_branch(
    store: ChatStore, edited: tuple[int, dict[str, int]]
) -> None:
    chat_id, ids = edited

    thread = [m.content for m in store.choose_version(ids["Very."])]

    assert thread == ["Tea?", "Yes.", "Hot?", "Very."]
    assert _thread(store, chat_id) == thread
    assert store.get(chat_id).title == "Tea?"  # type: ignore[union-attr]


def test_an_edit_of_a_hidden_question_shows_with_its_branch(
    store: ChatStore, edited: tuple[int, dict[str, int]]
) -> None:
    chat_id, ids = edited

    store.add_message(chat_id, "user", "Cold?", version_of=ids["Hot?"])

    assert _thread(store, chat_id) == ["Tea?", "Yes.", "Cold?"]
    assert store.get(chat_id).title == "Tea?"  # type: ignore[union-attr]
    # The branch below the other version of the first question keeps its own choices.
    assert [m.content for m in store.choose_version(ids["Coffee?"])] == ["Coffee?", "No."]


def test_an_answer_after_a_hidden_question_shows(
    store: ChatStore, edited: tuple[int, dict[str, int]]
) -> None:
    chat_id, ids = edited

    writer = store.begin_reply(chat_id, after=ids["Hot?"])
    writer.append("Warm.")
    writer.finish()

    assert _thread(store, chat_id) == ["Tea?", "Yes.", "Hot?", "Warm."]
    assert store.message(writer.message_id).versions == (ids["Very."], writer.message_id)  # type: ignore[union-attr]
