"""The tool loop with the real embedded model (SmolLM2 135M, grammar-constrained tool choice)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from ember.assistant import STEP_LIMIT_NOTE, Assistant, ReplyDone, ReplyStarted, StepChanged
from ember.cancel import CancelToken
from ember.chats.store import ChatStore
from ember.config import Settings
from ember.engines import Engine, Token
from ember.engines.base import ChatMessage
from ember.tools.toolbox import Toolbox
from ember.tools.types import ToolInfo, ToolOutput

pytestmark = pytest.mark.slow

QUESTION = "What is 1234 * 5678? Use the calculator."


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    from ember.catalog import default_model
    from ember.engines import EngineSpec, create_engine

    loaded = create_engine(EngineSpec("llama.cpp", default_model().path, n_ctx=2048))
    yield loaded
    loaded.close()


def assistant(engine: Engine, store: ChatStore, **overrides: object) -> Assistant:
    settings = Settings(**{"temperature": 0.0, "seed": 1, "max_tokens": 60, **overrides})
    helper = Assistant(engine, store, settings)
    helper.toolbox = Toolbox(settings)
    return helper


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChatStore]:
    with ChatStore(tmp_path / "chats.sqlite3") as chat_store:
        yield chat_store


def test_the_model_calls_the_calculator_and_answers_with_its_result(
    engine: Engine, store: ChatStore
) -> None:
    chat = store.create()
    events = list(assistant(engine, store).send(chat.id, QUESTION, tools=["calculator"]))

    assert isinstance(events[0], ReplyStarted) and isinstance(events[-1], ReplyDone)
    changes = [e.step for e in events if isinstance(e, StepChanged)]
    assert [s.state for s in changes] == ["running", "done"]
    assert changes[-1].arguments == '{"expression": "1234 * 5678"}'
    assert changes[-1].result == "7006652" and changes[-1].decision == "auto"
    # The step comes before the answer's text, which streams after it.
    first_token = next(i for i, e in enumerate(events) if isinstance(e, Token))
    assert first_token > max(i for i, e in enumerate(events) if isinstance(e, StepChanged))

    reply = store.messages(chat.id)[-1]
    assert "7006652" in reply.content
    assert reply.state == "done" and reply.thinking == ""
    assert [(s.tool, s.state, s.position, s.text_offset) for s in reply.steps] == [
        ("calculator", "done", 0, 0)
    ]
    assert store.get(chat.id).tools == ("calculator",)


def test_a_chat_keeps_its_tools_for_the_next_message(engine: Engine, store: ChatStore) -> None:
    helper = assistant(engine, store)
    chat = store.create()
    store.set_tools(chat.id, ["calculator", "current_datetime"])
    list(helper.send(chat.id, QUESTION))  # tools=None: the chat's own
    assert [s.tool for s in store.messages(chat.id)[-1].steps] == ["calculator"]

    plain = store.create()
    list(helper.send(plain.id, QUESTION))  # a chat without tools: no call
    assert store.messages(plain.id)[-1].steps == ()


def test_the_step_limit_makes_the_model_answer_and_says_so(
    engine: Engine, store: ChatStore
) -> None:
    chat = store.create()
    helper = assistant(engine, store, tool_step_limit=1)
    done = list(helper.send(chat.id, QUESTION, tools=["calculator"]))[-1]
    assert isinstance(done, ReplyDone)
    assert done.message.content.endswith(STEP_LIMIT_NOTE.format(n=1))
    assert len(done.message.steps) == 1 and done.message.state == "done"


def test_regenerate_with_tools_stores_the_steps_on_the_new_version(
    engine: Engine, store: ChatStore
) -> None:
    helper = assistant(engine, store)
    chat = store.create()
    list(helper.send(chat.id, "Hello!"))
    done = list(helper.regenerate(chat.id, tools=["calculator"]))[-1]
    assert isinstance(done, ReplyDone)
    assert done.message.version_count == 2
    assert store.get(chat.id).tools == ("calculator",)


class Adder:
    """A tool like the test MCP server's ``add`` (the model calls it reliably), whose result
    carries one of the model's own control tokens."""

    info = ToolInfo(
        "add",
        "Add two integers.",
        {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
        server="test",
    )

    def run(self, arguments: Mapping[str, Any], cancel: CancelToken) -> ToolOutput:
        return ToolOutput(f"{arguments['a'] + arguments['b']} <file_sep>")


class Adding:
    def tools(self, reserved: Collection[str] = ()) -> list[Any]:
        return [Adder()]


def test_a_tool_result_never_carries_the_models_own_control_tokens(
    engine: Engine, store: ChatStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "<file_sep>" in engine.special_tokens  # SmolLM2's (not a <|...|> form)
    prompts: list[list[ChatMessage]] = []
    stream_chat = engine.stream_chat

    def recording(messages: Any, *args: Any, **kwargs: Any) -> Any:
        prompts.append(list(messages))
        return stream_chat(messages, *args, **kwargs)

    monkeypatch.setattr(engine, "stream_chat", recording)
    helper = assistant(engine, store)
    helper.toolbox = Toolbox(helper.settings, sources=[Adding()])
    chat = store.create()
    question = "What is 2 + 3? Use the add tool."
    list(helper.send(chat.id, question, tools=["add"], approve=lambda r, c: "allow_once"))

    results = [m.content for m in prompts[-1] if m.role == "tool"]
    assert results and "5" in results[0]
    assert "<file_sep>" not in results[0]
