"""The one small interface every generation backend implements.

Messages go in; a plain iterator of :class:`Token` events comes out, closed by exactly one
:class:`Finished`. Cancellation is cooperative: a :class:`CancelToken` set from any thread makes the
stream end at the next token with ``reason="cancelled"`` and the partial text kept.

An engine renders and streams what it is given; it does not fit messages into its window. The
caller does that once (:func:`ember.engines.context.fit_prompt`), from the engine's ``n_ctx``,
``count_tokens`` and ``template_overhead``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, runtime_checkable

from ember.cancel import CancelToken

Role = Literal["system", "user", "assistant", "tool"]
# "tool_calls": the model stopped to call tools (:attr:`Finished.tool_calls`); run them, add
# their results as ``tool`` messages and stream again.
FinishReason = Literal["stop", "length", "cancelled", "tool_calls"]
ToolChoice = Literal["auto", "none", "required"]


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    """A tool the model may call: its ``name`` (``^[A-Za-z0-9_-]{1,64}$``, unique in a request),
    what it does (``description``, for the model) and its arguments as a JSON Schema object
    (``parameters``, JSON text so the options stay hashable; make one with :meth:`of`)."""

    name: str
    description: str
    parameters: str = '{"type":"object","properties":{}}'

    @classmethod
    def of(cls, name: str, description: str, parameters: dict[str, Any]) -> ToolDefinition:
        """A definition from a JSON Schema dict."""
        text = json.dumps(parameters, sort_keys=True, separators=(",", ":"))
        return cls(name, description, text)

    @property
    def schema(self) -> dict[str, Any]:
        """``parameters`` as a dict."""
        return json.loads(self.parameters)

    def openai(self) -> dict[str, Any]:
        """The OpenAI / Ollama wire form: ``{"type": "function", "function": {...}}``."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.schema,
            },
        }


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The model asks to run tool ``name`` with ``arguments`` (parsed JSON, always an object).

    ``id`` pairs the call with its result message (``ChatMessage.tool_call_id``); backends that
    do not number calls get one made up (``call_<n>``). Also a stream event: engines yield each
    call as it is complete, before the :class:`Finished` whose reason is ``"tool_calls"``.
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One turn of a conversation: who said it (``role``) and the plain text (``content``).

    An ``assistant`` message that called tools carries them in ``tool_calls`` (``content`` may
    then be empty); a ``tool`` message is one call's result: ``tool_call_id`` names the call and
    ``name`` the tool. Tool results are untrusted text: the caller fences and caps them.
    """

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    """How to sample one answer.

    ``temperature`` >= 0 (0 = greedy); ``top_p`` in (0, 1]; ``max_tokens`` the most tokens the
    answer may have; ``seed`` fixes sampling (``None`` = random); ``stop`` strings end the answer
    where they appear (they are not part of it).

    Tools: see :class:`ToolDefinition`; a stream that calls tools yields :class:`ToolCall`
    events and ends ``Finished(reason="tool_calls")``.

    Structured output: ``json_schema`` (a JSON Schema as JSON text, so the options stay hashable;
    make it with :meth:`with_json_schema`) makes the answer one JSON value valid against it;
    ``json_object`` alone makes it any JSON object. Engines that can constrain their output say
    so with ``structured_output = True``.
    """

    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 512
    seed: int | None = None
    # 1.0 = off. Tiny models loop on a phrase without it; llama.cpp's own tools default to 1.1.
    repeat_penalty: float = 1.0
    stop: tuple[str, ...] = ()
    json_schema: str | None = None
    json_object: bool = False
    # Tools the model may call (empty = none); ``tool_choice`` "required" makes it call one,
    # "none" keeps it from calling any though they are listed.
    tools: tuple[ToolDefinition, ...] = ()
    tool_choice: ToolChoice = "auto"

    def with_json_schema(self, schema: dict[str, object]) -> GenerationOptions:
        """These options, answering JSON valid against ``schema`` (a JSON Schema object)."""
        text = json.dumps(schema, sort_keys=True, separators=(",", ":"))
        return replace(self, json_schema=text, json_object=True)

    @property
    def schema(self) -> dict[str, object] | None:
        """``json_schema`` as a dict (None without one)."""
        return None if self.json_schema is None else json.loads(self.json_schema)

    @property
    def structured(self) -> bool:
        """Whether the answer must be JSON (a schema, or any JSON object)."""
        return self.json_object or self.json_schema is not None


@dataclass(frozen=True, slots=True)
class Token:
    """One piece of streamed text (usually one model token)."""

    text: str


@dataclass(frozen=True, slots=True)
class Thinking:
    """One piece of a reasoning model's thinking (``<think>…</think>`` or the backend's own
    reasoning channel). Never part of the answer: not in :attr:`Finished.text`, not cited, not
    sent back to the model in later turns."""

    text: str


@dataclass(frozen=True, slots=True)
class Timings:
    """How one answer went, measured by the engine.

    ``ttft_s``: seconds from the request to the first token (``None`` when no token came).
    ``total_s``: seconds from the request to the end of the stream.
    ``prompt_tokens``: tokens of the rendered prompt (0 where the backend does not report it).
    ``completion_tokens``: tokens of the answer (the server's count where it gives one).
    """

    ttft_s: float | None
    total_s: float
    prompt_tokens: int
    completion_tokens: int

    @property
    def tokens_per_s(self) -> float:
        """Decode speed: completion tokens after the first, over the time after the first."""
        if self.ttft_s is None or self.completion_tokens < 2:
            return 0.0
        decode_s = self.total_s - self.ttft_s
        return (self.completion_tokens - 1) / decode_s if decode_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Finished:
    """The last event of every stream.

    ``reason``: ``"stop"`` (the model ended, or a stop string), ``"length"`` (``max_tokens``
    reached) or ``"cancelled"``; ``text`` is the whole answer (all :class:`Token` texts joined);
    ``model`` the name the backend answered with; ``tool_calls`` the calls the model made (the
    same :class:`ToolCall` events streamed before; reason ``"tool_calls"`` when there are any);
    ``thinking`` all :class:`Thinking` texts joined.
    """

    reason: FinishReason
    text: str
    timings: Timings
    model: str
    tool_calls: tuple[ToolCall, ...] = ()
    thinking: str = ""


StreamEvent = Token | Thinking | ToolCall | Finished


@dataclass(frozen=True, slots=True)
class TemplateOverhead:
    """Tokens a backend's chat template adds to the text of the messages, in model tokens.

    ``per_message``: role markers and separators around each message (ChatML: 4-6).
    ``per_prompt``: added once per prompt (the generation prompt such as
    ``<|im_start|>assistant``, a BOS token, a template's default system prompt) plus rounding.
    """

    per_message: int = 8
    per_prompt: int = 8

    def of(self, message_count: int) -> int:
        """Template tokens of a prompt of ``message_count`` messages."""
        return self.per_prompt + self.per_message * message_count


@runtime_checkable
class Engine(Protocol):
    """A loaded model that can chat. Implementations live in ``ember.engines.<backend>``.

    Attributes:
        backend: the backend's name (a key of :data:`ember.engines.BACKENDS`).
        model_name: the model as the backend names it (a GGUF file name, a server's model id).
        n_ctx: the context window in tokens: prompt and answer together never exceed it.
        template_overhead: what the chat template adds around the messages (see
            :class:`TemplateOverhead`); measured on the template where the backend has it,
            a generous estimate otherwise.
        is_remote: True when prompts leave this computer (a server not on loopback).
    """

    backend: str
    model_name: str
    n_ctx: int
    template_overhead: TemplateOverhead
    is_remote: bool

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[StreamEvent]:
        """Yield :class:`Token` events (and :class:`Thinking` / :class:`ToolCall` ones where the
        model thinks or calls tools), then one :class:`Finished`.

        ``messages`` must already fit ``n_ctx`` with room for ``options.max_tokens``; an engine
        does not drop or cut them. Raises :class:`ember.errors.EngineUnavailable` (with ``partial_text``) when the backend fails
        mid-stream.
        """
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in this model (exact where the backend exposes a tokenizer)."""
        ...

    def close(self) -> None:
        """Free the model or connection; the engine is unusable afterwards."""
        ...


@dataclass(slots=True)
class StreamClock:
    """Measures time to first token and counts tokens while a backend streams."""

    started: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    completion_tokens: int = 0
    pieces: list[str] = field(default_factory=list)
    thoughts: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)

    def token(self, text: str, count: int = 1) -> Token:
        """Note ``text`` (``count`` tokens of the answer) and return it as a :class:`Token`."""
        self.note(count)
        self.pieces.append(text)
        return Token(text)

    def note(self, count: int = 1) -> None:
        """Note ``count`` generated tokens (the first starts the time to first token)."""
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        self.completion_tokens += count

    def thought(self, text: str, count: int = 0) -> Thinking:
        """Note ``text`` (``count`` tokens of thinking) and return it as :class:`Thinking`."""
        self.note(count)
        self.thoughts.append(text)
        return Thinking(text)

    def call(self, call: ToolCall) -> ToolCall:
        """Note a complete tool call (the answer then finishes with ``"tool_calls"``)."""
        self.tool_calls.append(call)
        return call

    @property
    def text(self) -> str:
        """Everything passed to :meth:`token` so far, joined."""
        return "".join(self.pieces)

    def finish(
        self,
        reason: FinishReason,
        model: str,
        prompt_tokens: int,
        completion_tokens: int | None = None,
    ) -> Finished:
        """The closing event; ``completion_tokens`` overrides the count of :meth:`token` calls.
        With tool calls noted (:meth:`call`) the reason is ``"tool_calls"`` unless cancelled."""
        now = time.perf_counter()
        ttft = None if self.first_token_at is None else self.first_token_at - self.started
        timings = Timings(
            ttft_s=ttft,
            total_s=now - self.started,
            prompt_tokens=prompt_tokens,
            completion_tokens=self.completion_tokens
            if completion_tokens is None
            else completion_tokens,
        )
        if self.tool_calls and reason != "cancelled":
            reason = "tool_calls"
        return Finished(
            reason=reason,
            text=self.text,
            timings=timings,
            model=model,
            tool_calls=tuple(self.tool_calls),
            thinking="".join(self.thoughts),
        )


@dataclass(frozen=True, slots=True)
class Reply:
    """A whole answer, for callers that do not stream."""

    text: str
    finished: Finished


def complete(
    engine: Engine,
    messages: Sequence[ChatMessage],
    options: GenerationOptions | None = None,
    cancel: CancelToken | None = None,
) -> Reply:
    """Run a stream to the end; the same code path as streaming."""
    for event in engine.stream_chat(messages, options, cancel):
        if isinstance(event, Finished):
            return Reply(event.text, event)
    raise AssertionError("engine stream ended without a Finished event")
