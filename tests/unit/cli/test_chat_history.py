"""`ember chat list / show --versions / choose`: the chat history and its message versions, read
from a terminal (in process, over this test's own EMBER_HOME)."""

from __future__ import annotations

import json

import pytest

from ember.chats.store import ChatStore
from ember.cli import main, parse_args
from ember.cli.chat import run_chat
from ember.paths import ember_paths


@pytest.fixture
def chat() -> dict[str, int]:
    """A chat whose question was edited once and whose answer to the edit was regenerated."""
    with ChatStore(ember_paths().ensure().chats_db) as store:
        chat = store.create()
        question = store.add_message(chat.id, "user", "Name a colour.")
        store.add_message(chat.id, "assistant", "Blue.")
        edited = store.add_message(chat.id, "user", "Name a fruit.", version_of=question.id)
        first = store.add_message(chat.id, "assistant", "A pear.", after=edited.id)
        second = store.add_message(chat.id, "assistant", "An apple.", version_of=first.id)
    return {
        "chat": chat.id,
        "question": question.id,
        "edited": edited.id,
        "first": first.id,
        "second": second.id,
    }


def _out(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_chat_alone_still_starts_a_conversation() -> None:
    assert parse_args(["chat", "--max-tokens", "8"]).handler is run_chat


def test_show_prints_the_chosen_branch_and_lists_versions(
    chat: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    listed = json.loads(_out(capsys, "chat", "list", "--json"))
    assert [(c["id"], c["title"]) for c in listed] == [(chat["chat"], "Name a fruit.")]

    plain = _out(capsys, "chat", "show", str(chat["chat"]))
    assert "Name a fruit." in plain and "An apple." in plain
    assert "Blue." not in plain and "A pear." not in plain
    assert "version 2 of 2" in plain

    text = _out(capsys, "chat", "show", str(chat["chat"]), "--versions")
    assert f"version 1: [{chat['first']}] A pear." in text
    assert f"* version 2: [{chat['second']}] An apple." in text
    assert f"version 1: [{chat['question']}] Name a colour." in text

    shown = json.loads(_out(capsys, "chat", "show", str(chat["chat"]), "--versions", "--json"))
    question, answer = shown["messages"]
    assert (answer["version"], answer["version_count"]) == (2, 2)
    assert [v["content"] for v in answer["versions"]] == ["A pear.", "An apple."]
    assert [v["content"] for v in question["versions"]] == ["Name a colour.", "Name a fruit."]


def test_choose_shows_an_earlier_version_and_what_followed_it(
    chat: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    chosen = json.loads(_out(capsys, "chat", "choose", str(chat["question"]), "--json"))
    assert [m["content"] for m in chosen["messages"]] == ["Name a colour.", "Blue."]
    plain = _out(capsys, "chat", "show", str(chat["chat"]))
    assert "Blue." in plain and "An apple." not in plain


def test_a_missing_chat_or_message_is_one_line_and_a_failing_exit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["chat", "show", "404"]) == 1
    assert "Chat 404 does not exist" in capsys.readouterr().err
    assert main(["chat", "choose", "404"]) == 1
    assert "Message 404 does not exist" in capsys.readouterr().err


def test_show_lists_an_answers_sources_below_it(capsys: pytest.CaptureFixture[str]) -> None:
    from ember.knowledge.types import Citation

    with ChatStore(ember_paths().ensure().chats_db) as store:
        chat = store.create()
        store.add_message(chat.id, "user", "How do I descale it?")
        answer = store.add_message(chat.id, "assistant", "With vinegar [1].")
        cited = Citation(1, "/docs/kettle.pdf", 12, "Cleaning", "Use vinegar.", 0.8, "10", 40)
        store.save_citations(answer.id, [cited])
    text = _out(capsys, "chat", "show", str(chat.id))
    assert (
        "With vinegar [1].\nSources:\n  [1] /docs/kettle.pdf, p. 10 (12 of 40) — Cleaning" in text
    )
