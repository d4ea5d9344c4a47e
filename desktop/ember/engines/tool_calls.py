"""Tool calls for models that run in this process: their native formats, and grammar mode.

A GGUF whose chat template knows tools (its source mentions ``tools``) is given the tool
definitions through the template and writes calls in its own format, which
:class:`NativeCallFilter` takes out of the stream and :func:`parse_native` reads:

- ``hermes`` (Qwen2.5, Hermes, many fine-tunes): ``<tool_call>{"name": .., "arguments": {..}}
  </tool_call>``, one block per call;
- ``llama3`` (Llama 3.1-3.3): the whole answer is ``{"name": .., "parameters": {..}}`` (several
  separated by ``;``), optionally after ``<|python_tag|>``;
- ``mistral``: ``[TOOL_CALLS] [{"name": .., "arguments": {..}}, ..]``.

A call whose JSON does not parse is given back as answer text, unchanged: nothing the model
wrote is lost, and no half-understood call runs.

Any other model gets grammar mode (:func:`decide_messages`, :func:`decide_schema`): a first
grammar-constrained pass answers one JSON object, ``{"tool": NAME, "arguments": {..}}`` or
``{"tool": "none"}``; "none" is followed by a normal answer whose question carries the tool
results as text (:func:`folded_messages`). Measured with the embedded SmolLM2 135M at
temperature 0: it calls the calculator for arithmetic and answers with the result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal

from ember.engines.base import ChatMessage, ToolCall, ToolChoice, ToolDefinition

NativeFormat = Literal["hermes", "llama3", "mistral"]

HERMES_OPEN, HERMES_CLOSE = "<tool_call>", "</tool_call>"
PYTHON_TAG = "<|python_tag|>"
MISTRAL_TAG = "[TOOL_CALLS]"


def native_format(template: str | None) -> NativeFormat | None:
    """The tool-call format ``template`` (a Jinja chat template's source) renders, or None when
    it has no tools section (or one in a format not read here): then grammar mode is used."""
    if not template or "tools" not in template:
        return None
    if HERMES_OPEN in template:
        return "hermes"
    if MISTRAL_TAG in template:
        return "mistral"
    if "<|start_header_id|>" in template and ("parameters" in template or "python_tag" in template):
        return "llama3"
    return None


def call_id(number: int) -> str:
    """The made-up id of a conversation's ``number``-th call (1-based): ``call_<n>``."""
    return f"call_{number}"


def calls_so_far(messages: Sequence[ChatMessage]) -> int:
    """How many tool calls the conversation already holds (to number new ones)."""
    return sum(len(m.tool_calls) for m in messages)


# -- native formats ------------------------------------------------------------------------------


def _arguments(value: Any) -> dict[str, Any] | None:
    """A call's arguments as an object: a dict, or JSON text of one; None otherwise."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def _call(entry: Any, number: int) -> ToolCall | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        return None
    raw = entry.get("arguments", entry.get("parameters", {}))
    arguments = _arguments(raw)
    if arguments is None or not entry["name"]:
        return None
    given = entry.get("id")
    return ToolCall(
        given if isinstance(given, str) and given else call_id(number), entry["name"], arguments
    )


def _json_values(text: str) -> list[Any] | None:
    """Every JSON value in ``text``, in order (separated by blanks, ``;`` or ``,``); None when
    anything else is there."""
    decoder = json.JSONDecoder()
    values, at = [], 0
    while True:
        while at < len(text) and text[at] in " \t\r\n;,":
            at += 1
        if at >= len(text):
            return values
        try:
            value, at = decoder.raw_decode(text, at)
        except ValueError:
            return None
        values.append(value)


def parse_native(fmt: NativeFormat, text: str, first_number: int = 1) -> list[ToolCall] | None:
    """The calls in ``text`` (the call markup the model wrote, as :class:`NativeCallFilter`
    captured it), numbered from ``first_number`` where the model gave no id; None when it is
    not a well-formed call in ``fmt`` (the caller then keeps it as text)."""
    entries: list[Any] = []
    if fmt == "hermes":
        blocks = re.findall(
            re.escape(HERMES_OPEN) + r"(.*?)(?:" + re.escape(HERMES_CLOSE) + r"|$)", text, re.S
        )
        for block in blocks:
            values = _json_values(block)
            if values is None or len(values) != 1:
                return None
            entries.append(values[0])
    else:
        body = text.strip()
        tag = PYTHON_TAG if fmt == "llama3" else MISTRAL_TAG
        body = body.removeprefix(tag)
        values = _json_values(body)
        if values is None:
            return None
        for value in values:
            entries.extend(value if isinstance(value, list) else [value])
    calls = [_call(entry, first_number + n) for n, entry in enumerate(entries)]
    if not calls or any(c is None for c in calls):
        return None
    return [c for c in calls if c is not None]


class NativeCallFilter:
    """Keeps a native format's call markup out of the streamed answer.

    :meth:`feed` returns the answer text that is certainly not part of a call; from the first
    sign of a call everything is held. :meth:`finish` returns ``(text, calls)``: the calls
    parsed, or (when they do not parse) the held markup as text and no calls.
    """

    def __init__(self, fmt: NativeFormat, first_number: int = 1) -> None:
        self.fmt = fmt
        self.first_number = first_number
        self._marker = {"hermes": HERMES_OPEN, "llama3": PYTHON_TAG, "mistral": MISTRAL_TAG}[fmt]
        self._pending = ""  # text that may be the start of a call
        self._captured: str | None = None  # the call markup, once one began
        self._said_anything = False

    def feed(self, text: str) -> str:
        """The part of ``text`` (and of what was held) that is answer text for sure."""
        if self._captured is not None:
            self._captured += text
            return ""
        buffer = self._pending + text
        self._pending = ""
        if self.fmt == "llama3" and not self._said_anything:
            stripped = buffer.lstrip()
            # Llama 3 writes a call as the whole answer: a JSON object from the first character.
            if stripped.startswith("{") or stripped.startswith(PYTHON_TAG):
                self._captured = buffer
                return ""
            if not stripped or PYTHON_TAG.startswith(stripped):
                self._pending = buffer
                return ""
        index = buffer.find(self._marker)
        if index >= 0:
            self._captured = buffer[index:]
            return self._said(buffer[:index])
        keep = _held_prefix(buffer, self._marker)
        self._pending = buffer[len(buffer) - keep :]
        return self._said(buffer[: len(buffer) - keep])

    def finish(self) -> tuple[str, list[ToolCall]]:
        """The rest of the answer text and the calls, at the end of the stream."""
        if self._captured is None:
            text, self._pending = self._pending, ""
            return text, []
        captured, self._captured = self._captured, None
        calls = parse_native(self.fmt, captured, self.first_number)
        return ("", calls) if calls else (captured, [])

    def _said(self, text: str) -> str:
        if text.strip():
            self._said_anything = True
        return text


def _held_prefix(text: str, tag: str) -> int:
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


def native_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """Messages in the OpenAI shape tool-aware templates read: an assistant's ``tool_calls``
    (``{"id", "type": "function", "function": {"name", "arguments": {..}}}``) and ``tool``
    messages with ``tool_call_id`` and ``name``."""
    payload: list[dict[str, Any]] = []
    for m in messages:
        entry: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.tool_calls:
            entry["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in m.tool_calls
            ]
        if m.role == "tool":
            entry["tool_call_id"] = m.tool_call_id
            entry["name"] = m.name
        payload.append(entry)
    return payload


# -- grammar mode --------------------------------------------------------------------------------

DECIDE_SYSTEM = (
    "Before you answer, decide whether a tool is needed. Reply with one JSON object: "
    '{"tool": "NAME", "arguments": {...}} to call a tool, or {"tool": "none"} when no tool is '
    "needed or the tool results already answer the question.\nTools:\n"
)
_SHOTS = (
    ("user", "What is 3 * 4?"),
    ("assistant", '{"tool": "calculator", "arguments": {"expression": "3 * 4"}}'),
    ("user", "Tool result (calculator): 12"),
    ("assistant", '{"tool": "none"}'),
    ("user", "Hello!"),
    ("assistant", '{"tool": "none"}'),
)
ANSWER_HINT = "Use the tool results given with the question."
NO_TOOL = "none"


def decide_schema(tools: Sequence[ToolDefinition], choice: ToolChoice = "auto") -> dict[str, Any]:
    """The JSON Schema of the decide step: one ``{"tool": NAME, "arguments": <its params>}``
    per tool, plus ``{"tool": "none"}`` unless ``choice`` is ``"required"``."""
    branches: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {"tool": {"const": t.name}, "arguments": t.schema},
            "required": ["tool", "arguments"],
        }
        for t in tools
    ]
    if choice != "required":
        branches.append(
            {"type": "object", "properties": {"tool": {"const": NO_TOOL}}, "required": ["tool"]}
        )
    return {"anyOf": branches}


def _result_line(call: ToolCall | None, message: ChatMessage) -> str:
    name = call.name if call else (message.name or "tool")
    return f"Tool result ({name}): {message.content}"


def decide_messages(
    messages: Sequence[ChatMessage], tools: Sequence[ToolDefinition]
) -> list[dict[str, str]]:
    """The decide step's prompt: the tool list and few-shot examples, then the last user message
    and the calls and results that followed it (calls as the JSON this step writes, results as
    ``Tool result (NAME): ...`` user turns). Earlier turns are left out: a small model decides
    best on the question at hand."""
    listing = "\n".join(f"- {t.name}: {t.description}" for t in tools)
    payload = [{"role": "system", "content": DECIDE_SYSTEM + listing}]
    payload += [{"role": role, "content": text} for role, text in _SHOTS]
    start = _last_user(messages)
    calls: dict[str, ToolCall] = {}
    for m in messages[start:]:
        if m.role == "user":
            payload.append({"role": "user", "content": m.content})
        elif m.role == "assistant" and m.tool_calls:
            for c in m.tool_calls:
                calls[c.id] = c
                text = json.dumps({"tool": c.name, "arguments": c.arguments})
                payload.append({"role": "assistant", "content": text})
        elif m.role == "tool":
            payload.append({"role": "user", "content": _result_line(calls.get(m.tool_call_id), m)})
    return payload


def parse_decision(text: str, first_number: int) -> ToolCall | None:
    """The call the decide step chose (None for ``{"tool": "none"}`` or unreadable output)."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("tool"), str):
        return None
    if value["tool"] == NO_TOOL:
        return None
    arguments = value.get("arguments")
    return ToolCall(
        call_id(first_number), value["tool"], arguments if isinstance(arguments, dict) else {}
    )


def folded_messages(messages: Sequence[ChatMessage], hint: bool = False) -> list[dict[str, str]]:
    """Messages for a template without tool support: each user message carries the results of
    the calls that followed it as text (``Tool NAME({args}) returned: ...``, then
    ``Question: ...``); call-only assistant turns and ``tool`` turns are dropped. ``hint`` adds
    :data:`ANSWER_HINT` to the system message (made when there is none) when results were folded."""
    payload: list[dict[str, str]] = []
    question_at: int | None = None
    results: list[str] = []
    calls: dict[str, ToolCall] = {}

    def fold() -> None:
        if question_at is not None and results:
            question = payload[question_at]["content"]
            payload[question_at]["content"] = "".join(results) + "\nQuestion: " + question

    for m in messages:
        if m.role == "tool":
            call = calls.get(m.tool_call_id)
            name = call.name if call else (m.name or "tool")
            args = json.dumps(call.arguments) if call else "{}"
            results.append(f"Tool {name}({args}) returned: {m.content}\n")
            continue
        for c in m.tool_calls:
            calls[c.id] = c
        if m.role == "user":
            fold()
            question_at, results = len(payload), []
        if m.role == "assistant" and m.tool_calls and not m.content.strip():
            continue
        payload.append({"role": m.role, "content": m.content})
    fold()
    if hint and any(m.role == "tool" for m in messages):
        if payload and payload[0]["role"] == "system":
            payload[0]["content"] = payload[0]["content"].rstrip() + "\n" + ANSWER_HINT
        else:
            payload.insert(
                0, {"role": "system", "content": "You are a helpful assistant. " + ANSWER_HINT}
            )
    return payload


def _last_user(messages: Sequence[ChatMessage]) -> int:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user":
            return index
    return 0
