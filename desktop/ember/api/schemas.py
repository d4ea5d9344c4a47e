"""Request bodies of the local API, as OpenAI's clients send them (pydantic, checked on arrival).

Fields Ember does not use (``frequency_penalty``, ``user``, ``metadata``, ``store``,
``logit_bias``...) are accepted and ignored, as LM Studio does, so a client's defaults never fail a
request. A feature Ember cannot give is refused, never silently dropped: a client that asks for
tool calls or log probabilities must learn it will not get them
(:meth:`ChatCompletionRequest.unsupported`). A value out of range is a 400 naming the field (see
:func:`ember.api.app.create_app`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ContentPart(_Lenient):
    """One part of a message in the list form: ``{"type": "text", "text": ...}``; any other
    type (``image_url``, ``input_audio``) is refused by the route with a 400."""

    type: str
    text: str | None = None


class FunctionCall(_Lenient):
    """``function`` of a tool call: the tool's ``name`` and its ``arguments`` as JSON text."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    arguments: str = "{}"


class RequestToolCall(_Lenient):
    """A call an assistant message made (sent back by the client with the tool's result)."""

    id: Annotated[str, Field(min_length=1, max_length=200)]
    type: Literal["function"] = "function"
    function: FunctionCall


class RequestMessage(_Lenient):
    """One message: ``role`` and ``content`` (a string, or a list of parts); an assistant
    message's ``tool_calls``; a ``tool`` message's ``tool_call_id`` (and the tool's ``name``)."""

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    tool_calls: list[RequestToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None


class FunctionDefinition(_Lenient):
    """A tool the model may call: ``name`` (letters, digits, ``_`` and ``-``, at most 64),
    ``description`` and ``parameters`` (a JSON Schema object)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    description: Annotated[str, Field(max_length=4000)] = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})


class RequestTool(_Lenient):
    """``{"type": "function", "function": {...}}``."""

    type: Literal["function"]
    function: FunctionDefinition


class NamedToolChoice(_Lenient):
    """``tool_choice`` naming one tool: ``{"type": "function", "function": {"name": ...}}``."""

    type: Literal["function"]
    function: FunctionCall


class StreamOptions(_Lenient):
    """``include_usage``: send a last chunk with ``usage`` (Ember puts it on the last chunk
    always, as LM Studio does; with this set it also comes as OpenAI's own usage-only chunk)."""

    include_usage: bool = False


class JsonSchemaFormat(_Lenient):
    """``response_format.json_schema``: the schema under ``schema`` (``name`` and ``strict``
    are taken and not needed)."""

    name: str = "answer"
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    strict: bool | None = None


class ResponseFormat(_Lenient):
    """``{"type": "text"}``, ``{"type": "json_object"}`` or ``{"type": "json_schema",
    "json_schema": {...}}``."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


class EmberOptions(_Lenient):
    """Ember's own body field (``extra_body={"ember": {...}}`` with the openai client):
    ``collections`` to answer from, by name, with citations."""

    collections: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=64)
    ] = Field(default_factory=list)


class ChatCompletionRequest(_Lenient):
    """``POST /v1/chat/completions``. ``max_tokens`` (or ``max_completion_tokens``) in tokens;
    ``temperature`` 0-2; ``top_p`` in (0, 1]; ``stop`` up to 4 strings; ``n`` must be 1."""

    model: Annotated[str, Field(min_length=1, max_length=400)]
    messages: Annotated[list[RequestMessage], Field(min_length=1)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    temperature: Annotated[float, Field(ge=0.0, le=2.0)] | None = None
    top_p: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    seed: int | None = None
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    n: int | None = None
    response_format: ResponseFormat | None = None
    ember: EmberOptions | None = None
    # Tools the model may call; the calls come back as ``tool_calls`` for the client to run.
    tools: Annotated[list[RequestTool], Field(max_length=128)] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    # Asked for, never given (see :meth:`unsupported`).
    functions: list[Any] | None = None
    function_call: Any = None
    logprobs: bool | None = None
    top_logprobs: int | None = None

    def unsupported(self) -> str | None:
        """The first field that asks for something Ember does not do, or None: the legacy
        function calling (``functions``, ``function_call``; ``tools`` is its successor), log
        probabilities (``logprobs: true``, ``top_logprobs`` above 0). Empty lists, nulls and
        ``false`` ask for nothing and pass."""
        if self.functions:
            return "functions"
        if self.function_call is not None and self.function_call != "none":
            return "function_call"
        if self.logprobs:
            return "logprobs"
        if self.top_logprobs:
            return "top_logprobs"
        return None

    @property
    def answer_tokens(self) -> int | None:
        """The answer's token limit asked for (``max_completion_tokens`` wins), or None."""
        return self.max_completion_tokens or self.max_tokens

    @property
    def stops(self) -> tuple[str, ...]:
        """``stop`` as a tuple of non-empty strings."""
        if self.stop is None:
            return ()
        stops = [self.stop] if isinstance(self.stop, str) else self.stop
        return tuple(s for s in stops if s)
