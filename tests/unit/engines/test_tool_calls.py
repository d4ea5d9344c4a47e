"""Native tool-call formats (parsing, streaming filter, rendering) and grammar mode's pieces."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import llama_cpp
import pytest
from tests.unit.engines.qwen_template import QWEN25_TEMPLATE

from ember.engines import ChatMessage, Finished, GenerationOptions, Token
from ember.engines.base import ToolCall, ToolDefinition
from ember.engines.gguf import inspect_gguf
from ember.engines.llamacpp import LlamaCppEngine, chat_formatter
from ember.engines.tool_calls import (
    NativeCallFilter,
    decide_messages,
    decide_schema,
    folded_messages,
    native_format,
    native_messages,
    parse_decision,
    parse_native,
)

CALC = ToolDefinition.of(
    "calculator",
    "Evaluate an arithmetic expression exactly, e.g. 12*(3+4).",
    {
        "type": "object",
        "properties": {"expression": {"type": "string"}},
        "required": ["expression"],
    },
)
WEATHER = ToolDefinition.of(
    "get_weather",
    "Weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}},
)

# What the models write (Qwen2.5 / Hermes 2 Pro, Llama 3.1 / 3.2, Mistral Nemo).
HERMES_OUT = (
    'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n'
    '</tool_call>\n<tool_call>\n{"name": "calculator", "arguments": {"expression": "2*3"}}\n'
    "</tool_call>"
)
LLAMA3_OUT = '{"name": "get_weather", "parameters": {"city": "Paris"}}'
LLAMA3_TAGGED = '<|python_tag|>{"name": "calculator", "parameters": {"expression": "2*3"}}'
MISTRAL_OUT = (
    '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "a1B2c3D4e"}]'
)


def test_the_format_is_read_off_the_template_source() -> None:
    assert native_format(QWEN25_TEMPLATE) == "hermes"
    assert native_format("{{ tools }}<|start_header_id|>ipython ... parameters") == "llama3"
    assert native_format("{% if tools %}[AVAILABLE_TOOLS]{% endif %}[TOOL_CALLS]") == "mistral"
    assert native_format(None) is None
    assert native_format("{% for message in messages %}<|im_start|>{% endfor %}") is None


def test_hermes_calls_parse_in_order_with_made_up_ids() -> None:
    calls = parse_native("hermes", HERMES_OUT[HERMES_OUT.index("<tool_call>") :], first_number=3)
    assert calls == [
        ToolCall("call_3", "get_weather", {"city": "Paris"}),
        ToolCall("call_4", "calculator", {"expression": "2*3"}),
    ]


def test_llama3_calls_parse_with_or_without_the_python_tag() -> None:
    assert parse_native("llama3", LLAMA3_OUT) == [
        ToolCall("call_1", "get_weather", {"city": "Paris"})
    ]
    assert parse_native("llama3", LLAMA3_TAGGED) == [
        ToolCall("call_1", "calculator", {"expression": "2*3"})
    ]
    two = LLAMA3_OUT + "; " + LLAMA3_TAGGED.removeprefix("<|python_tag|>")
    assert [c.name for c in parse_native("llama3", two) or []] == ["get_weather", "calculator"]


def test_mistral_calls_keep_their_own_ids() -> None:
    assert parse_native("mistral", MISTRAL_OUT) == [
        ToolCall("a1B2c3D4e", "get_weather", {"city": "Paris"})
    ]


def test_arguments_given_as_json_text_are_parsed() -> None:
    text = '<tool_call>{"name": "calculator", "arguments": "{\\"expression\\": \\"1+1\\"}"}</tool_call>'
    assert parse_native("hermes", text) == [ToolCall("call_1", "calculator", {"expression": "1+1"})]


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("hermes", '<tool_call>{"name": "calculator", "arguments": {"expression": </tool_call>'),
        ("hermes", "<tool_call>not json</tool_call>"),
        ("llama3", '{"name": "calculator", "parameters": '),
        ("llama3", '{"parameters": {"x": 1}}'),
        ("mistral", "[TOOL_CALLS] [{oops}]"),
    ],
)
def test_malformed_calls_do_not_parse(fmt: str, text: str) -> None:
    assert parse_native(fmt, text) is None  # type: ignore[arg-type]


def _filtered(fmt: str, pieces: list[str]) -> tuple[str, list[ToolCall]]:
    keep = NativeCallFilter(fmt)  # type: ignore[arg-type]
    streamed = "".join(keep.feed(p) for p in pieces)
    rest, calls = keep.finish()
    return streamed + rest, calls


@pytest.mark.parametrize("at", range(len(HERMES_OUT) + 1))
def test_hermes_markup_never_streams_wherever_the_tokens_split(at: int) -> None:
    keep = NativeCallFilter("hermes")
    streamed = keep.feed(HERMES_OUT[:at]) + keep.feed(HERMES_OUT[at:])
    assert "<" not in streamed and "Let me check.\n".startswith(streamed)
    rest, calls = keep.finish()
    assert streamed + rest == "Let me check.\n"
    assert [c.name for c in calls] == ["get_weather", "calculator"]


@pytest.mark.parametrize("at", range(len(LLAMA3_TAGGED) + 1))
def test_a_llama3_call_is_held_from_its_first_character(at: int) -> None:
    assert _filtered("llama3", [LLAMA3_TAGGED[:at], LLAMA3_TAGGED[at:]]) == (
        "",
        [ToolCall("call_1", "calculator", {"expression": "2*3"})],
    )


def test_a_plain_answer_streams_through_the_filter() -> None:
    assert _filtered("llama3", ["The weather", " is fine."]) == ("The weather is fine.", [])
    assert _filtered("hermes", ["It is ", "4."]) == ("It is 4.", [])


def test_a_call_that_does_not_parse_is_given_back_as_text() -> None:
    broken = '<tool_call>{"name": "calculator", "arguments": {"expr'
    assert _filtered("hermes", ["Sure. ", broken]) == ("Sure. " + broken, [])


CONVERSATION = [
    ChatMessage("system", "Be brief."),
    ChatMessage("user", "What is 6 * 7?"),
    ChatMessage(
        "assistant", "", tool_calls=(ToolCall("call_1", "calculator", {"expression": "6 * 7"}),)
    ),
    ChatMessage("tool", "42", tool_call_id="call_1", name="calculator"),
]


def test_a_qwen_template_renders_tools_calls_and_results_natively() -> None:
    formatter = chat_formatter(QWEN25_TEMPLATE, "<|im_end|>", "")
    prompt = formatter(messages=native_messages(CONVERSATION), tools=[CALC.openai()]).prompt
    assert '<tools>\n{"type": "function", "function": {"name": "calculator"' in prompt
    assert '<tool_call>\n{"name": "calculator", "arguments": {"expression": "6 * 7"}}' in prompt
    assert "<|im_start|>user\n<tool_response>\n42\n</tool_response><|im_end|>" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")


def test_folded_messages_put_results_into_the_question_for_any_template() -> None:
    assert folded_messages(CONVERSATION, hint=True) == [
        {"role": "system", "content": "Be brief.\nUse the tool results given with the question."},
        {
            "role": "user",
            "content": 'Tool calculator({"expression": "6 * 7"}) returned: 42\n\n'
            "Question: What is 6 * 7?",
        },
    ]
    later = [*CONVERSATION, ChatMessage("assistant", "42."), ChatMessage("user", "Thanks")]
    folded = folded_messages(later)
    assert [m["role"] for m in folded] == ["system", "user", "assistant", "user"]
    assert "returned: 42" in folded[1]["content"] and folded[3]["content"] == "Thanks"


def test_the_decide_schema_offers_each_tool_and_none_unless_required() -> None:
    schema = decide_schema([CALC, WEATHER])
    tools = [b["properties"]["tool"]["const"] for b in schema["anyOf"]]
    assert tools == ["calculator", "get_weather", "none"]
    assert schema["anyOf"][0]["properties"]["arguments"] == CALC.schema
    assert list(schema["anyOf"][0]["properties"]) == ["tool", "arguments"]  # tool name first
    required = decide_schema([CALC], "required")
    assert [b["properties"]["tool"]["const"] for b in required["anyOf"]] == ["calculator"]


def test_the_decide_prompt_holds_the_question_and_the_round_so_far() -> None:
    prompt = decide_messages(CONVERSATION, [CALC])
    assert prompt[0]["role"] == "system" and "- calculator: Evaluate" in prompt[0]["content"]
    assert prompt[-3:] == [
        {"role": "user", "content": "What is 6 * 7?"},
        {
            "role": "assistant",
            "content": '{"tool": "calculator", "arguments": {"expression": "6 * 7"}}',
        },
        {"role": "user", "content": "Tool result (calculator): 42"},
    ]
    assert parse_decision('{"tool": "none"}', 2) is None
    assert parse_decision(
        json.dumps({"tool": "calculator", "arguments": {"expression": "1"}}), 2
    ) == (ToolCall("call_2", "calculator", {"expression": "1"}))


def test_the_real_model_under_a_qwen_template_streams_no_call_markup(model_path: Path) -> None:
    """An engine whose GGUF carries a Hermes-style template: tools go through the template,
    tool messages render, and whatever the real model writes, no ``<tool_call>`` markup is
    streamed as answer text."""
    info = replace(inspect_gguf(model_path), chat_template=QWEN25_TEMPLATE)
    llama = llama_cpp.Llama(str(model_path), n_ctx=2048, n_threads=1, verbose=False)
    engine = LlamaCppEngine(llama, info, model_name="qwen-templated")
    try:
        assert engine.tool_format == "hermes"
        options = GenerationOptions(temperature=0.0, seed=1, max_tokens=40, tools=(CALC,))
        question = [ChatMessage("user", "What is 1234 * 5678? Use the calculator.")]
        events = list(engine.stream_chat(question, options))
        answer = list(engine.stream_chat(CONVERSATION, options))
    finally:
        engine.close()
    for stream in (events, answer):
        finished = stream[-1]
        assert isinstance(finished, Finished)
        tokens = "".join(e.text for e in stream if isinstance(e, Token))
        assert tokens == finished.text and "<tool_call>" not in tokens
        assert finished.reason in ("tool_calls", "stop", "length")
        assert (finished.reason == "tool_calls") == bool(finished.tool_calls)
    assert answer[-1].timings.prompt_tokens > 0  # type: ignore[union-attr]
