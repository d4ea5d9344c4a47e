"""An OpenAI-compatible chat endpoint (vLLM, llama-server, llama-cpp-python's server, LM Studio).

``spec.host`` is the base URL including ``/v1``; ``spec.api_key`` goes out as a Bearer token.
This module holds the protocol only: the request body, the Server-Sent Events of
``/chat/completions`` parsed into chunks, and ``/models``. Streaming and the translation of
failures are :mod:`ember.engines.server`'s, in the words of :data:`WORDING`. A host that is not
this computer is logged (logger ``ember.engines``) and flagged on the engine as ``is_remote``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from ember.cancel import CancelToken
from ember.engines.base import ChatMessage, GenerationOptions, StreamEvent, ToolCall
from ember.engines.http import LineLimitTransport, http_timeout, is_loopback_url, warn_if_remote
from ember.engines.server import (
    SERVER_TEMPLATE_OVERHEAD,
    Chunk,
    MalformedReply,
    ServerErrors,
    ServerRefused,
    Wording,
    error_detail,
    estimate_tokens,
    stream_reply,
)
from ember.engines.tool_calls import call_id, calls_so_far
from ember.errors import EngineUnavailable, ModelNotFound

if TYPE_CHECKING:
    from ember.engines import EngineSpec

__all__ = ["RemoteEngine", "is_loopback_url", "list_models", "load"]

BACKEND = "openai"

WORDING = Wording(
    who="The server at {host}",
    not_answering=("{who} is not answering — is it running? Check the URL, or pick another model."),
    stalled="{who} stopped answering (nothing for {seconds:g} s).",
    malformed="{who} sent a malformed reply ({error}); is it OpenAI-compatible?",
    refused="{who} answered HTTP {status}: {detail}",
    bad_key="{who} refused the API key ({detail}). Check the key in the remote's settings.",
    no_model=(
        "{who} does not serve {model!r} ({detail}). Check the model name, or that base_url "
        "ends in /v1."
    ),
)


def _base(url: str | None) -> str:
    if not url:
        raise EngineUnavailable(
            "No server URL is set for this remote model; add base_url (ending in /v1) to it."
        )
    if not url.startswith(("http://", "https://")):
        raise EngineUnavailable(f"Remote URL {url!r} must start with http:// or https://.")
    return url.rstrip("/")


def _headers(api_key: str | None) -> dict[str, str]:
    headers = {"Accept": "text/event-stream, application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def _client(api_key: str | None, timeout_s: float) -> httpx.Client:
    return httpx.Client(
        headers=_headers(api_key), timeout=http_timeout(timeout_s), transport=LineLimitTransport()
    )


def _chunk(data: str, calls: PendingCalls | None = None) -> Chunk:
    """One SSE ``data:`` payload (a ``chat.completion.chunk``) as a :class:`Chunk`; streamed
    ``tool_calls`` deltas go into ``calls``, whose complete calls come out with the finish."""
    calls = calls if calls is not None else PendingCalls()
    if data == "[DONE]":
        text, done_calls = calls.take()
        return Chunk(text, done=True, tool_calls=done_calls)
    chunk = json.loads(data)
    try:
        if "error" in chunk:
            raise MalformedReply(f"error in stream: {chunk['error']}")
        choices = chunk["choices"]
        usage = chunk.get("usage") or {}  # the last chunk, where the server counts (include_usage)
        counts = {
            "prompt_tokens": _count(usage.get("prompt_tokens")),
            "completion_tokens": _count(usage.get("completion_tokens")),
        }
        if not choices:  # the usage-only chunk OpenAI's protocol ends with
            return Chunk(**counts)
        choice = choices[0]
        delta = choice.get("delta") or {}
        calls.add(delta.get("tool_calls") or ())
        text = delta.get("content") or ""
        done_calls: tuple[ToolCall, ...] = ()
        finish = choice.get("finish_reason")
        if finish is not None:
            broken, done_calls = calls.take()
            text += broken
        # vLLM and llama-server name the reasoning channel reasoning_content; others reasoning.
        thinking = delta.get("reasoning_content") or delta.get("reasoning") or ""
        return Chunk(
            text,
            finish=finish,
            thinking=thinking if isinstance(thinking, str) else "",
            tool_calls=done_calls,
            **counts,
        )
    except (KeyError, TypeError, AttributeError, IndexError):
        raise MalformedReply("a chunk without choices") from None


class PendingCalls:
    """Tool calls being streamed: OpenAI sends each as deltas keyed by ``index`` (the first with
    ``id`` and ``function.name``, then ``function.arguments`` in pieces of JSON text)."""

    def __init__(self, first_number: int = 1) -> None:
        self.first_number = first_number
        self._entries: dict[int, dict[str, str]] = {}

    def add(self, deltas: Sequence[Any]) -> None:
        """Fold one chunk's ``delta.tool_calls`` in."""
        for delta in deltas:
            index = delta.get("index", len(self._entries))
            entry = self._entries.setdefault(index, {"id": "", "name": "", "arguments": ""})
            if delta.get("id"):
                entry["id"] = delta["id"]
            function = delta.get("function") or {}
            entry["name"] += function.get("name") or ""
            entry["arguments"] += function.get("arguments") or ""

    def take(self) -> tuple[str, tuple[ToolCall, ...]]:
        """The complete calls, in index order, and clears them. A call whose arguments are not
        a JSON object comes back as text (``name arguments``) instead: never run half-read."""
        calls: list[ToolCall] = []
        broken = ""
        for index in sorted(self._entries):
            entry = self._entries[index]
            try:
                arguments = json.loads(entry["arguments"]) if entry["arguments"].strip() else {}
            except ValueError:
                arguments = None
            if not isinstance(arguments, dict) or not entry["name"]:
                broken += f"{entry['name']} {entry['arguments']}"
                continue
            number = self.first_number + len(calls)
            calls.append(ToolCall(entry["id"] or call_id(number), entry["name"], arguments))
        self.first_number += len(calls)
        self._entries.clear()
        return broken, tuple(calls)


def _message(m: ChatMessage) -> dict[str, Any]:
    """One message in OpenAI's shape (an assistant's ``tool_calls`` with arguments as JSON
    text; a tool result with ``tool_call_id``)."""
    entry: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        entry["content"] = m.content or None
        entry["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
            }
            for c in m.tool_calls
        ]
    if m.role == "tool":
        entry["tool_call_id"] = m.tool_call_id
    return entry


def _count(value: object) -> int | None:
    """A token count from the server, or None when it gave none (or nonsense)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class RemoteEngine:
    """A model on an OpenAI-compatible server."""

    backend = BACKEND
    template_overhead = SERVER_TEMPLATE_OVERHEAD
    structured_output = True  # ``response_format``; a server without it refuses the request

    def __init__(self, spec: EngineSpec, served: list[str], context_limit: int | None) -> None:
        self.host = _base(spec.host)
        self.model_name = spec.model
        self.served_models = served
        self.timeout_s = spec.timeout_s
        self.n_ctx = min(spec.n_ctx, context_limit or spec.n_ctx)
        self.is_remote = warn_if_remote(self.host, "The OpenAI-compatible server")
        self._client = _client(spec.api_key, spec.timeout_s)
        self._errors = ServerErrors(WORDING, self.host, self.model_name, self.timeout_s)

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[StreamEvent]:
        """Stream ``/chat/completions`` as SSE; cancelling closes the HTTP response."""
        chunks = self._chunks(messages, options or GenerationOptions())
        return stream_reply(chunks, model=self.model_name, errors=self._errors, cancel=cancel)

    def _chunks(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> Iterator[Chunk]:
        body: dict[str, Any] = {
            "model": self.model_name,
            "messages": [_message(m) for m in messages],
            "stream": True,
            # The token counts on the last chunk (OpenAI's protocol; vLLM, llama-server, LM
            # Studio and Ollama send them), so answers carry the server's own numbers.
            "stream_options": {"include_usage": True},
            "temperature": options.temperature,
            "top_p": options.top_p,
            "max_tokens": options.max_tokens,
            # No repeat penalty: the OpenAI API has no such field and strict servers refuse
            # unknown ones; vLLM and llama-server apply their own defaults.
        }
        if options.seed is not None:
            body["seed"] = options.seed
        if options.stop:
            body["stop"] = list(options.stop)
        if options.json_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": options.schema, "strict": True},
            }
        elif options.json_object:
            body["response_format"] = {"type": "json_object"}
        if options.tools:
            body["tools"] = [d.openai() for d in options.tools]
            body["tool_choice"] = options.tool_choice
        calls = PendingCalls(calls_so_far(messages) + 1)
        with self._client.stream("POST", f"{self.host}/chat/completions", json=body) as resp:
            if resp.status_code != 200:
                raise ServerRefused(resp.status_code, error_detail(resp))
            for line in resp.iter_lines():
                if line.startswith("data:"):
                    yield _chunk(line[5:].strip(), calls)
                else:
                    # Blank separators, ": keep-alive" comments, event/id fields: nothing to
                    # show, but a chance to notice a cancel while the server thinks.
                    yield Chunk()

    def count_tokens(self, text: str) -> int:
        """An estimate (the OpenAI protocol has no tokenize call); errs high so prompts fit."""
        return estimate_tokens(text)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()


def _models(base: str, api_key: str | None, timeout_s: float) -> list[dict[str, Any]]:
    with _client(api_key, timeout_s) as client:
        try:
            response = client.get(f"{base}/models")
            if response.status_code != 200:
                raise ServerRefused(response.status_code, error_detail(response))
            payload = response.json()
            data = payload.get("data") if isinstance(payload, dict) else None
            if not isinstance(data, list):
                raise MalformedReply("/models has no data list")
        except Exception as exc:
            ServerErrors(WORDING, base, None, timeout_s).translate(exc)
    return [m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]


def list_models(base_url: str, api_key: str | None = None, timeout_s: float = 10.0) -> list[str]:
    """The model ids the server at ``base_url`` (ending in /v1) offers."""
    return [m["id"] for m in _models(_base(base_url), api_key, timeout_s)]


def _context_limit(entry: dict[str, Any]) -> int | None:
    """vLLM reports ``max_model_len``; llama-server ``meta.n_ctx_train``."""
    for value in (entry.get("max_model_len"), (entry.get("meta") or {}).get("n_ctx_train")):
        if isinstance(value, int) and value > 0:
            return value
    return None


# The engine class this module loads: what it can do, asked before loading a model.
ENGINE = RemoteEngine


def load(spec: EngineSpec) -> RemoteEngine:
    """Reach the server and check it serves ``spec.model``."""
    base = _base(spec.host)
    entries = _models(base, spec.api_key, min(spec.timeout_s, 30.0))
    served = [m["id"] for m in entries]
    if served and spec.model not in served:
        raise ModelNotFound(
            f"The server at {base} does not serve {spec.model!r}; it offers: "
            f"{', '.join(served[:20])}."
        )
    limit = next((_context_limit(m) for m in entries if m["id"] == spec.model), None)
    return RemoteEngine(spec, served, limit)
