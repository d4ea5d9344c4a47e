"""The Ollama backend, through the official ``ollama`` client.

This module holds Ollama's protocol only: the request (options under Ollama's names), the chunk
parsing, and listing, showing and pulling models. Streaming and the translation of failures into
:class:`EngineUnavailable` / :class:`ModelNotFound` are :mod:`ember.engines.server`'s, in the
words of :data:`WORDING`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NoReturn

import httpx

from ember.cancel import CancelToken
from ember.engines.base import ChatMessage, GenerationOptions, StreamEvent, ToolCall
from ember.engines.http import LineLimitTransport, OversizedLine, http_timeout, warn_if_remote
from ember.engines.server import (
    SERVER_TEMPLATE_OVERHEAD,
    Chunk,
    MalformedReply,
    ServerErrors,
    ServerRefused,
    Wording,
    estimate_tokens,
    stream_reply,
)
from ember.engines.tool_calls import call_id, calls_so_far
from ember.errors import EngineUnavailable

if TYPE_CHECKING:
    import ollama

    from ember.engines import EngineSpec

BACKEND = "ollama"
DEFAULT_HOST = "http://127.0.0.1:11434"
_CANCEL_POLL_S = 0.1  # how often a pull waiting on a quiet server looks at its cancel token

WORDING = Wording(
    who="Ollama at {host}",
    not_answering=(
        "Ollama is not answering at {host} — is it running? Start it with `ollama serve`, "
        "or pick another model."
    ),
    stalled=(
        "{who} stopped answering (nothing for {seconds:g} s). It may be overloaded; try again "
        "or pick a smaller model."
    ),
    malformed="{who} sent a malformed reply; is that really an Ollama server?",
    refused="{who} refused the request: {detail}",
    bad_key="{who} refused the request: {detail}",  # Ollama has no keys: just a refusal
    no_model=(
        "{who} has no model {model!r}. Fetch it with `ember models pull {model}`, "
        "or pick another model."
    ),
)
PULL_WORDING = replace(
    WORDING,
    no_model=(
        "{who} found no model {model!r} to download ({detail}). Check the name and tag, "
        "e.g. `ember models pull llama3.2:1b`."
    ),
)


@dataclass(frozen=True, slots=True)
class OllamaModel:
    """A pulled model as ``/api/tags`` lists it (``size_bytes`` on the server's disk)."""

    name: str
    size_bytes: int
    family: str
    parameter_size: str
    quantization: str
    modified_at: str  # ISO 8601, "" when unknown


@dataclass(frozen=True, slots=True)
class OllamaModelInfo:
    """One model's details from ``/api/show``; ``n_ctx_train`` is what it was trained on."""

    name: str
    family: str
    parameter_size: str
    quantization: str
    n_ctx_train: int | None
    template: str
    parameters: str
    capabilities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PullProgress:
    """One progress line of a pull; ``completed``/``total`` in bytes of the current layer."""

    status: str
    completed: int | None = None
    total: int | None = None
    digest: str = ""


def _host(host: str | None) -> str:
    return (host or DEFAULT_HOST).rstrip("/")


def _client(host: str, timeout_s: float = 30.0) -> ollama.Client:
    import ollama

    return ollama.Client(host=host, timeout=http_timeout(timeout_s), transport=LineLimitTransport())


def _adapt(exc: BaseException) -> BaseException:
    """The ``ollama`` library's exceptions in :mod:`ember.engines.server`'s terms."""
    import ollama
    import pydantic

    if isinstance(exc, ollama.ResponseError):
        text = str(exc.error)
        lowered = text.lower()
        # Ollama says "not found" / "does not exist" for a missing model, not always with a 404.
        missing = "not found" in lowered or "does not exist" in lowered
        return ServerRefused(404 if missing else exc.status_code, text)
    if isinstance(exc, pydantic.ValidationError | KeyError | TypeError):
        return MalformedReply(str(exc))
    return exc


def _errors(
    host: str, model: str | None = None, timeout_s: float = 0, wording: Wording = WORDING
) -> ServerErrors:
    return ServerErrors(wording, host, model, timeout_s, _adapt)


def _translate(exc: BaseException, host: str, model: str | None = None, **kw: Any) -> NoReturn:
    _errors(host, model, **kw).translate(exc)


class OllamaEngine:
    """A model served by Ollama. The server does the work; we stream and translate."""

    backend = BACKEND
    template_overhead = SERVER_TEMPLATE_OVERHEAD
    structured_output = True  # Ollama's ``format``: a JSON schema, or "json"

    def __init__(self, spec: EngineSpec, info: OllamaModelInfo) -> None:
        self.host = _host(spec.host)
        self.model_name = spec.model
        self.info = info
        self.timeout_s = spec.timeout_s
        self.n_ctx = min(spec.n_ctx, info.n_ctx_train or spec.n_ctx)
        self.is_remote = warn_if_remote(self.host, "The Ollama server")
        self._client = _client(self.host, spec.timeout_s)
        self._errors = _errors(self.host, self.model_name, self.timeout_s)

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[StreamEvent]:
        """Stream from ``/api/chat``; cancelling closes the HTTP stream."""
        chunks = self._chunks(messages, options or GenerationOptions())
        return stream_reply(chunks, model=self.model_name, errors=self._errors, cancel=cancel)

    def _chunks(
        self, messages: Sequence[ChatMessage], options: GenerationOptions
    ) -> Iterator[Chunk]:
        request: dict[str, Any] = {
            "temperature": options.temperature,
            "top_p": options.top_p,
            "repeat_penalty": options.repeat_penalty,
            "num_predict": options.max_tokens,
            "num_ctx": self.n_ctx,
        }
        if options.seed is not None:
            request["seed"] = options.seed
        if options.stop:
            request["stop"] = list(options.stop)
        answer_format: Any = options.schema if options.json_schema else None
        if answer_format is None and options.json_object:
            answer_format = "json"
        # Ollama has no tool_choice: "required" sends the tools as "auto" does.
        tools = [d.openai() for d in options.tools] if options.tool_choice != "none" else None
        stream = self._client.chat(
            model=self.model_name,
            messages=[_message(m) for m in messages],
            tools=tools or None,
            options=request,
            format=answer_format,
            stream=True,
        )
        number = calls_so_far(messages)
        try:
            for part in stream:
                message = part.message
                text = (message.content if message else None) or ""
                thinking = (message.thinking if message else None) or ""
                calls: list[ToolCall] = []
                for call in (message.tool_calls if message else None) or ():
                    number += 1
                    arguments = dict(call.function.arguments or {})
                    calls.append(ToolCall(call_id(number), call.function.name, arguments))
                if not part.done:
                    yield Chunk(text, thinking=thinking, tool_calls=tuple(calls))
                    continue
                yield Chunk(
                    text,
                    finish="length" if part.done_reason == "length" else "stop",
                    done=True,
                    prompt_tokens=part.prompt_eval_count or 0,
                    completion_tokens=part.eval_count,
                    thinking=thinking,
                    tool_calls=tuple(calls),
                )
                return
        finally:
            stream.close()  # ends the HTTP response: Ollama stops generating

    def count_tokens(self, text: str) -> int:
        """An estimate: Ollama has no tokenize API. Errs high, so fitted prompts always fit."""
        return estimate_tokens(text)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client._client.close()


def _message(m: ChatMessage) -> dict[str, Any]:
    """One message in Ollama's shape: an assistant's ``tool_calls`` as
    ``{"function": {"name", "arguments": {..}}}``, a tool result with ``tool_name``."""
    entry: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        entry["tool_calls"] = [
            {"function": {"name": c.name, "arguments": c.arguments}} for c in m.tool_calls
        ]
    if m.role == "tool" and m.name:
        entry["tool_name"] = m.name
    return entry


# The engine class this module loads: what it can do, asked before loading a model.
ENGINE = OllamaEngine


def load(spec: EngineSpec) -> OllamaEngine:
    """Connect to Ollama and check the model is there (:class:`ModelNotFound` names the pull)."""
    host = _host(spec.host)
    return OllamaEngine(spec, show(host, spec.model, timeout_s=min(spec.timeout_s, 30.0)))


def is_reachable(host: str | None = None, timeout_s: float = 2.0) -> bool:
    """Whether an Ollama server answers ``/api/version`` at ``host``."""
    try:
        with httpx.Client(timeout=http_timeout(timeout_s), transport=LineLimitTransport()) as c:
            response = c.get(f"{_host(host)}/api/version")
            return response.status_code == 200 and "version" in response.json()
    except (httpx.HTTPError, OversizedLine, ValueError):
        return False


def list_models(host: str | None = None, timeout_s: float = 10.0) -> list[OllamaModel]:
    """The models the Ollama server at ``host`` has pulled."""
    host = _host(host)
    client = _client(host, timeout_s)
    try:
        listing = client.list()
    except Exception as exc:
        _translate(exc, host, timeout_s=timeout_s)
    finally:
        client._client.close()
    return [
        OllamaModel(
            name=m.model or "",
            size_bytes=int(m.size or 0),
            family=(m.details.family if m.details else None) or "",
            parameter_size=(m.details.parameter_size if m.details else None) or "",
            quantization=(m.details.quantization_level if m.details else None) or "",
            modified_at=m.modified_at.isoformat() if m.modified_at else "",
        )
        for m in listing.models
    ]


def show(host: str | None, name: str, timeout_s: float = 10.0) -> OllamaModelInfo:
    """Details of one pulled model; :class:`ModelNotFound` when it is not there."""
    host = _host(host)
    client = _client(host, timeout_s)
    try:
        shown = client.show(name)
    except Exception as exc:
        _translate(exc, host, name, timeout_s=timeout_s)
    finally:
        client._client.close()
    details = shown.details
    model_info = dict(shown.modelinfo or {})
    architecture = model_info.get("general.architecture", "")
    context = model_info.get(f"{architecture}.context_length")
    return OllamaModelInfo(
        name=name,
        family=(details.family if details else None) or "",
        parameter_size=(details.parameter_size if details else None) or "",
        quantization=(details.quantization_level if details else None) or "",
        n_ctx_train=context if isinstance(context, int) and context > 0 else None,
        template=shown.template or "",
        parameters=shown.parameters or "",
        capabilities=tuple(shown.capabilities or ()),
    )


def pull(
    host: str | None, name: str, cancel: CancelToken | None = None, timeout_s: float = 120.0
) -> Iterator[PullProgress]:
    """Ask Ollama to download ``name``, yielding its progress; cancelling stops at once.

    The stream is read on a helper thread: a server that goes quiet mid-download (a stalled
    registry) would otherwise hold a cancel until its next line or the read timeout. Cancelled,
    this returns within ~0.1 s; the helper hangs up at the next line or at the timeout.
    """
    host = _host(host)
    client = _client(host, timeout_s)
    parts: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
    stopped = threading.Event()  # the caller is gone: the helper stops reading

    def read() -> None:
        stream: Any = None
        try:
            stream = client.pull(name, stream=True)
            for part in stream:
                parts.put(("part", part))
                if stopped.is_set() or (cancel is not None and cancel.cancelled):
                    return
            parts.put(("end", None))
        except Exception as exc:
            parts.put(("error", exc))
        finally:
            if stream is not None:
                stream.close()
            client._client.close()

    threading.Thread(target=read, name=f"ember-pull-{name}", daemon=True).start()
    done = False
    try:
        while True:
            if cancel is not None and cancel.cancelled:
                return
            try:
                kind, value = parts.get(timeout=_CANCEL_POLL_S)
            except queue.Empty:
                continue
            if kind == "end":
                break
            if kind == "error":
                _translate(value, host, name, timeout_s=timeout_s, wording=PULL_WORDING)
            progress = PullProgress(
                status=value.status or "",
                completed=value.completed,
                total=value.total,
                digest=value.digest or "",
            )
            done = progress.status == "success"
            yield progress
    finally:
        stopped.set()
    if not done:
        raise EngineUnavailable(f"Ollama at {host} stopped pulling {name} before it finished.")
