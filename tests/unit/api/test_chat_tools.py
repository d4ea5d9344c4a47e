"""Tools through the local API: the embedded model's calls come back as OpenAI ``tool_calls``
(Ember runs none of them), and the client's ``tool`` message gets an answer that uses it."""

from __future__ import annotations

import json

import openai

CALCULATOR = {
    "type": "function",
    "function": {
        "name": "calculator",
        "description": "Evaluate an arithmetic expression exactly, e.g. 12*(3+4).",
        "parameters": {
            "type": "object",
            "properties": {"expression": {"type": "string", "maxLength": 200}},
            "required": ["expression"],
        },
    },
}
QUESTION = {"role": "user", "content": "What is 1234 * 5678? Use the calculator."}
GREEDY = {"temperature": 0.0, "seed": 7, "max_tokens": 60}


def test_the_model_call_comes_back_as_tool_calls_and_the_result_is_answered(
    client: openai.OpenAI,
) -> None:
    asked = client.chat.completions.create(
        model="embedded", messages=[QUESTION], tools=[CALCULATOR], **GREEDY
    )
    choice = asked.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "calculator"
    expression = json.loads(call.function.arguments)["expression"]
    assert expression.replace(" ", "") == "1234*5678"

    answered = client.chat.completions.create(
        model="embedded",
        messages=[
            QUESTION,
            choice.message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "7006652"},
        ],
        tools=[CALCULATOR],
        **GREEDY,
    )
    assert answered.choices[0].finish_reason == "stop"
    assert "7006652" in (answered.choices[0].message.content or "")


def test_a_streamed_call_arrives_as_tool_call_deltas(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="embedded", messages=[QUESTION], tools=[CALCULATOR], stream=True, **GREEDY
    )
    deltas, finish = [], None
    for chunk in stream:
        choice = chunk.choices[0]
        deltas.extend(choice.delta.tool_calls or ())
        finish = choice.finish_reason or finish
    assert finish == "tool_calls"
    assert [d.function.name for d in deltas] == ["calculator"]
    assert deltas[0].index == 0 and deltas[0].id
    assert "1234" in json.loads(deltas[0].function.arguments)["expression"]


def test_tool_choice_none_answers_in_text_though_tools_are_listed(client: openai.OpenAI) -> None:
    answered = client.chat.completions.create(
        model="embedded",
        messages=[QUESTION],
        tools=[CALCULATOR],
        tool_choice="none",
        **GREEDY,
    )
    choice = answered.choices[0]
    assert choice.finish_reason in ("stop", "length")
    assert not choice.message.tool_calls and choice.message.content
