"""A tool round trip on every engine, with the real embedded model deciding: the question gets
a calculator call, the call and its result go back, the answer carries the result."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.faulty_openai_server import FaultyOpenAIServer
from tests.support.ollama_server import OllamaTestServer

from ember.engines import (
    ChatMessage,
    EngineSpec,
    Finished,
    GenerationOptions,
    Token,
    complete,
    remote,
)
from ember.engines import ollama as ollama_engine
from ember.engines.base import Engine, StreamEvent, ToolCall, ToolDefinition
from ember.engines.llamacpp import LlamaCppEngine
from ember.engines.remote import PendingCalls, _chunk

CALC = ToolDefinition.of(
    "calculator",
    "Evaluate an arithmetic expression exactly, e.g. 12*(3+4).",
    {
        "type": "object",
        "properties": {"expression": {"type": "string", "maxLength": 200}},
        "required": ["expression"],
    },
)
QUESTION = [ChatMessage("user", "What is 1234 * 5678? Use the calculator.")]
PRODUCT = "7006652"
TOOLS = GenerationOptions(temperature=0.0, seed=1, max_tokens=60, tools=(CALC,))


def round_trip(engine: Engine) -> tuple[list[StreamEvent], list[StreamEvent]]:
    """The call stream, then the answer stream after the call and its result are added."""
    first = list(engine.stream_chat(QUESTION, TOOLS))
    calls = [e for e in first if isinstance(e, ToolCall)]
    assert len(calls) == 1
    call = calls[0]
    result = ChatMessage("tool", PRODUCT, tool_call_id=call.id, name=call.name)
    second = [*QUESTION, ChatMessage("assistant", "", tool_calls=(call,)), result]
    return first, list(engine.stream_chat(second, TOOLS))


def check(first: list[StreamEvent], second: list[StreamEvent]) -> None:
    *before, finished = first
    assert not any(isinstance(e, Token) for e in before)  # the call is not streamed as text
    assert isinstance(finished, Finished) and finished.reason == "tool_calls"
    call = finished.tool_calls[0]
    assert (call.name, call.id) == ("calculator", "call_1")
    assert call.arguments == {"expression": "1234 * 5678"}
    answer = second[-1]
    assert isinstance(answer, Finished) and answer.reason in ("stop", "length")
    assert not answer.tool_calls and PRODUCT in answer.text


# -- llama.cpp: grammar mode ---------------------------------------------------------------------


def test_llama_cpp_grammar_mode_calls_the_calculator_then_answers(engine: LlamaCppEngine) -> None:
    assert engine.tool_format is None  # SmolLM2's template has no tool format
    check(*round_trip(engine))


def test_tool_choice_none_answers_without_deciding(engine: LlamaCppEngine) -> None:
    options = GenerationOptions(
        temperature=0.0, seed=1, max_tokens=20, tools=(CALC,), tool_choice="none"
    )
    reply = complete(engine, QUESTION, options)
    assert reply.finished.reason in ("stop", "length") and reply.text.strip()
    assert not reply.finished.tool_calls


def test_tool_choice_required_calls_a_tool_even_for_a_greeting(engine: LlamaCppEngine) -> None:
    greeting = [ChatMessage("user", "Hello!")]
    auto = complete(engine, greeting, TOOLS)
    assert auto.finished.reason != "tool_calls"  # the few-shot says: no tool for a greeting
    required = complete(
        engine,
        greeting,
        GenerationOptions(temperature=0.0, seed=1, tools=(CALC,), tool_choice="required"),
    )
    assert required.finished.reason == "tool_calls"
    assert required.finished.tool_calls[0].name == "calculator"


def test_tool_messages_render_without_tools_for_a_template_without_them(
    engine: LlamaCppEngine,
) -> None:
    """A later turn (no tools offered) still carries the earlier result, folded into text."""
    call = ToolCall("call_1", "calculator", {"expression": "1234 * 5678"})
    history = [
        *QUESTION,
        ChatMessage("assistant", "", tool_calls=(call,)),
        ChatMessage("tool", PRODUCT, tool_call_id="call_1", name="calculator"),
    ]
    reply = complete(engine, history, GenerationOptions(temperature=0.0, seed=1, max_tokens=60))
    assert PRODUCT in reply.text


# -- Ollama: native tools field ------------------------------------------------------------------


@pytest.fixture(scope="module")
def ollama_server(model_path: Path) -> Iterator[OllamaTestServer]:
    with OllamaTestServer(model_path) as running:
        yield running


def test_ollama_tools_round_trip(ollama_server: OllamaTestServer) -> None:
    spec = EngineSpec("ollama", ollama_server.model_name, host=ollama_server.url, timeout_s=30)
    engine = ollama_engine.load(spec)
    try:
        check(*round_trip(engine))
    finally:
        engine.close()
    chats = [body for method, path, body in ollama_server.requests if path == "/api/chat"]
    # The ollama client's Tool model keeps type/description/enum of each property (it drops
    # maxLength): what a real Ollama gets too.
    (tool,) = chats[-2]["tools"]
    assert tool["type"] == "function" and tool["function"]["name"] == "calculator"
    assert tool["function"]["parameters"]["required"] == ["expression"]
    sent = chats[-1]["messages"]
    assert sent[1]["tool_calls"] == [
        {"function": {"name": "calculator", "arguments": {"expression": "1234 * 5678"}}}
    ]
    assert sent[2] == {"role": "tool", "content": PRODUCT, "tool_name": "calculator"}
    assert json.loads(ollama_server.decisions[0])["tool"] == "calculator"


# -- OpenAI-compatible: tools / streamed tool_calls deltas -----------------------------------------


@pytest.fixture(scope="module")
def openai_server(model_path: Path) -> Iterator[FaultyOpenAIServer]:
    with FaultyOpenAIServer(model_path) as running:
        yield running


def test_openai_tools_round_trip(openai_server: FaultyOpenAIServer) -> None:
    spec = EngineSpec("openai", openai_server.model_name, host=openai_server.base_url, timeout_s=30)
    engine = remote.load(spec)
    try:
        check(*round_trip(engine))
    finally:
        engine.close()
    chats = [body for _, path, body in openai_server.requests if path == "/v1/chat/completions"]
    assert chats[-2]["tools"] == [CALC.openai()] and chats[-2]["tool_choice"] == "auto"
    sent = chats[-1]["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "calculator", "arguments": '{"expression": "1234 * 5678"}'},
            }
        ],
    }
    assert sent[2] == {"role": "tool", "content": PRODUCT, "tool_call_id": "call_1"}


def _delta(delta: dict[str, object], finish: str | None = None) -> str:
    return json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


def test_streamed_tool_call_deltas_are_assembled_per_index() -> None:
    """Two parallel calls, as OpenAI streams them: id and name first, arguments in pieces."""
    calls = PendingCalls()
    lines = [
        _delta(
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_abc",
                        "type": "function",
                        "function": {"name": "calculator", "arguments": ""},
                    }
                ],
            }
        ),
        _delta({"tool_calls": [{"index": 0, "function": {"arguments": '{"expre'}}]}),
        _delta(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_def",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city"'},
                    }
                ]
            }
        ),
        _delta({"tool_calls": [{"index": 0, "function": {"arguments": 'ssion": "2*3"}'}}]}),
        _delta({"tool_calls": [{"index": 1, "function": {"arguments": ': "Paris"}'}}]}),
    ]
    assert all(not _chunk(line, calls).tool_calls for line in lines)
    done = _chunk(_delta({}, "tool_calls"), calls)
    assert done.tool_calls == (
        ToolCall("call_abc", "calculator", {"expression": "2*3"}),
        ToolCall("call_def", "get_weather", {"city": "Paris"}),
    )
    assert done.text == ""


def test_a_streamed_call_with_broken_arguments_becomes_text() -> None:
    calls = PendingCalls()
    _chunk(
        _delta(
            {
                "tool_calls": [
                    {"index": 0, "function": {"name": "calculator", "arguments": '{"expression": '}}
                ]
            }
        ),
        calls,
    )
    done = _chunk(_delta({}, "tool_calls"), calls)
    assert done.tool_calls == () and done.text == 'calculator {"expression": '
