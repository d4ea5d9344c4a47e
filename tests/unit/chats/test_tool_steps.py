"""Tool steps, thinking and each chat's tools in the chat database (real SQLite files)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from tests.support.old_chats import chat_db_before

from ember.chats.migrations import MIGRATIONS, TOOLS_MIGRATION
from ember.chats.records import ConversationNotFound
from ember.chats.store import ChatStore
from ember.knowledge.types import Citation

CITATION = Citation(1, "/docs/kettle.txt", 2, "Care", "Descale with vinegar.", 0.71)


@pytest.fixture
def store(tmp_path: Path):
    with ChatStore(tmp_path / "chats.sqlite3") as chat_store:
        yield chat_store


def _reply(store: ChatStore) -> tuple[int, int]:
    chat = store.create()
    store.add_message(chat.id, "user", "What is 1234 * 5678?")
    writer = store.begin_reply(chat.id)
    return chat.id, writer.message_id


def test_steps_are_numbered_in_order_and_come_back_with_their_message(store: ChatStore) -> None:
    chat_id, reply_id = _reply(store)
    first = store.add_step(
        reply_id, tool="calculator", arguments='{"expression": "1234 * 5678"}', state="running",
        call_id="call_1", server="built-in", text_offset=0, decision="auto",
    )  # fmt: skip
    done = store.update_step(first.id, state="done", result="7006652", finished=time.time())
    second = store.add_step(
        reply_id, tool="read_file", arguments='{"path": "/etc/passwd"}', state="approval",
        text_offset=12,
    )  # fmt: skip
    assert (first.position, second.position) == (0, 1)
    assert done.state == "done" and done.result == "7006652" and done.duration_s is not None
    assert second.decision is None and second.finished is None and second.text_offset == 12

    shown = store.messages(chat_id)[-1]
    assert [s.tool for s in shown.steps] == ["calculator", "read_file"]
    assert store.message(reply_id).steps == shown.steps
    assert store.thread(reply_id)[-1].steps == shown.steps
    assert store.messages(chat_id)[0].steps == ()  # the question has none


def test_a_step_keeps_its_citations_and_truncation(store: ChatStore) -> None:
    _chat_id, reply_id = _reply(store)
    step = store.add_step(reply_id, tool="search_documents", arguments="{}", state="running")
    store.update_step(step.id, state="done", citations=(CITATION,), truncated=True)
    stored = store.message(reply_id).steps[0]
    assert stored.citations == (CITATION,)
    assert stored.truncated is True


def test_update_step_refuses_fields_it_does_not_have(store: ChatStore) -> None:
    _chat_id, reply_id = _reply(store)
    step = store.add_step(reply_id, tool="calculator", arguments="{}", state="running")
    with pytest.raises(ValueError, match="tool"):
        store.update_step(step.id, tool="something else")


def test_a_step_for_a_deleted_reply_is_refused(store: ChatStore) -> None:
    chat_id, reply_id = _reply(store)
    store.truncate_after(store.messages(chat_id)[0].id)
    with pytest.raises(ConversationNotFound):
        store.add_step(reply_id, tool="calculator", arguments="{}", state="running")


def test_reopening_after_a_crash_marks_open_steps_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    with ChatStore(path) as store:
        _chat_id, reply_id = _reply(store)
        done = store.add_step(reply_id, tool="calculator", arguments="{}", state="running")
        store.update_step(done.id, state="done", result="42", finished=time.time())
        store.add_step(reply_id, tool="read_file", arguments="{}", state="approval")
        store.add_step(
            reply_id, tool="calculator", arguments='{"expression": "1"}', state="running"
        )
    with ChatStore(path) as store:
        reply = store.message(reply_id)
    assert reply.state == "interrupted"
    assert [s.state for s in reply.steps] == ["done", "interrupted", "interrupted"]
    assert all(s.finished is not None for s in reply.steps)
    assert reply.steps[0].result == "42"


def test_thinking_is_kept_apart_from_the_answer(store: ChatStore) -> None:
    chat_id, _ = _reply(store)
    writer = store.begin_reply(chat_id)
    writer.think("The user wants a product. ")
    writer.append("It is 7006652.")
    writer.think("Done.")
    message = writer.finish()
    assert message.content == "It is 7006652."
    assert message.thinking == "The user wants a product. Done."


def test_a_chat_keeps_its_tools_and_thinking_choice(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    with ChatStore(path) as store:
        chat = store.create()
        assert chat.tools == () and chat.show_thinking is True
        store.set_tools(chat.id, ["calculator", "read_file", "calculator"])
        store.set_show_thinking(chat.id, False)
    with ChatStore(path) as store:
        again = store.get(chat.id)
    assert again.tools == ("calculator", "read_file")
    assert again.show_thinking is False


def test_a_history_from_before_tools_opens_with_none(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    chat_db_before(path, [m.name for m in MIGRATIONS].index(TOOLS_MIGRATION))
    with ChatStore(path) as store:
        chat = store.get(1)
        message = store.message(1)
        step = store.add_step(1, tool="calculator", arguments="{}", state="running")
    assert chat.tools == () and chat.show_thinking is True
    assert message.content == "See [1]." and message.thinking == "" and message.steps == ()
    assert step.position == 0


def test_exports_carry_thinking_and_steps(store: ChatStore) -> None:
    chat_id, _ = _reply(store)
    writer = store.begin_reply(chat_id)
    writer.think("Multiply.")
    step = store.add_step(
        writer.message_id, tool="calculator", arguments='{"expression": "1234 * 5678"}',
        state="running", decision="auto",
    )  # fmt: skip
    store.update_step(step.id, state="done", result="7006652", finished=time.time())
    writer.append("The answer is 7006652.")
    writer.finish()

    markdown = store.export_markdown(chat_id)
    assert "**Thinking**" in markdown and "> Multiply." in markdown
    assert '`calculator` `{"expression": "1234 * 5678"}`: done' in markdown
    assert "7006652" in markdown.split("**Tool calls**")[1]

    data = json.loads(store.export_json(chat_id))
    answer = data["messages"][-1]
    assert answer["thinking"] == "Multiply."
    assert answer["steps"][0]["tool"] == "calculator"
    assert answer["steps"][0]["result"] == "7006652"
    assert answer["steps"][0]["duration_s"] >= 0
