"""The Ollama backend, through the official ``ollama`` client.

Every library and transport error is translated in :func:`_translate`, so the rest of Ember sees
only :class:`EngineUnavailable` (server down, died mid-answer, garbage, timeout; with the text
streamed so far) and :class:`ModelNotFound` (the model is not pulled).
"""

from __future__ import annotations

import json
import math
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import httpx

from ember.cancel import CancelToken
from ember.engines.base import ChatMessage, GenerationOptions, StreamClock, StreamEvent
from ember.engines.context import fit_messages, reply_budget
from ember.engines.http import LineLimitTransport, OversizedLine, http_timeout, warn_if_remote
from ember.errors import EngineUnavailable, ModelNotFound

if TYPE_CHECKING:
    import ollama

    from ember.engines import EngineSpec

BACKEND = "ollama"
DEFAULT_HOST = "http://127.0.0.1:11434"
CHARS_PER_TOKEN_ESTIMATE = 3  # UTF-8 bytes per token: over-counts English (~4), fits CJK (~3)
MESSAGE_OVERHEAD_ESTIMATE = 8
_CANCEL_POLL_S = 0.1  # how often a pull waiting on a quiet server looks at its cancel token


@dataclass(frozen=True, slots=True)
class OllamaModel:
    name: str
    size_bytes: int
    family: str
    parameter_size: str
    quantization: str
    modified_at: str


@dataclass(frozen=True, slots=True)
class OllamaModelInfo:
    name: str
    family: str
    parameter_size: str
    quantization: str
    context_length: int | None
    template: str
    parameters: str
    capabilities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PullProgress:
    status: str
    completed: int | None = None
    total: int | None = None
    digest: str = ""


def _host(host: str | None) -> str:
    return (host or DEFAULT_HOST).rstrip("/")


def _client(host: str, timeout_s: float = 30.0) -> ollama.Client:
    import ollama

    return ollama.Client(host=host, timeout=http_timeout(timeout_s), transport=LineLimitTransport())


def _translate(
    exc: BaseException,
    host: str,
    model: str | None = None,
    partial: str = "",
    timeout_s: float = 0,
    pulling: bool = False,
) -> NoReturn:
    """The one place library and transport errors become Ember errors."""
    import ollama
    import pydantic

    if isinstance(exc, ollama.ResponseError):
        text = str(exc.error)
        if pulling and ("does not exist" in text or "not found" in text.lower()):
            raise ModelNotFound(
                f"Ollama at {host} found no model {model!r} to download ({text}). Check the "
                "name and tag, e.g. `ember models pull llama3.2:1b`."
            ) from None
        if model and (exc.status_code == 404 or "not found" in text.lower()):
            raise ModelNotFound(
                f"Ollama at {host} has no model {model!r}. Fetch it with "
                f"`ember models pull {model}`, or pick another model."
            ) from None
        raise EngineUnavailable(f"Ollama at {host} refused the request: {text}", partial) from None
    if isinstance(exc, ConnectionError | httpx.ConnectError | httpx.ConnectTimeout):
        raise EngineUnavailable(
            f"Ollama is not answering at {host} — is it running? Start it with `ollama serve`, "
            "or pick another model.",
            partial,
        ) from None
    if isinstance(exc, httpx.TimeoutException):
        raise EngineUnavailable(
            f"Ollama at {host} stopped answering (nothing for {timeout_s:g} s). It may be "
            "overloaded; try again or pick a smaller model.",
            partial,
        ) from None
    if isinstance(exc, OversizedLine):
        raise EngineUnavailable(
            f"Ollama at {host} sent {exc}; the reply was abandoned.", partial
        ) from None
    if isinstance(exc, json.JSONDecodeError | pydantic.ValidationError | KeyError | TypeError):
        raise EngineUnavailable(
            f"Ollama at {host} sent a malformed reply; is that really an Ollama server?", partial
        ) from None
    if isinstance(exc, httpx.HTTPError):
        raise EngineUnavailable(
            f"Ollama at {host} closed the connection in the middle of the answer "
            f"({type(exc).__name__}). Check that it is still running.",
            partial,
        ) from None
    raise exc


class OllamaEngine:
    """A model served by Ollama. The server does the work; we stream and translate."""

    backend = BACKEND

    def __init__(self, spec: EngineSpec, info: OllamaModelInfo) -> None:
        self.host = _host(spec.host)
        self.model_name = spec.model
        self.info = info
        self.timeout_s = spec.timeout_s
        self.context_length = min(spec.n_ctx, info.context_length or spec.n_ctx)
        self.is_remote = warn_if_remote(self.host, "The Ollama server")
        self._client = _client(self.host, spec.timeout_s)

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[StreamEvent]:
        """Stream from ``/api/chat``; cancelling closes the HTTP stream."""
        options = options or GenerationOptions()
        clock = StreamClock()
        fitted = fit_messages(
            messages,
            self.count_tokens,
            self.context_length,
            reply_budget(options.max_tokens, self.context_length),
            MESSAGE_OVERHEAD_ESTIMATE,
        )
        request: dict[str, Any] = {
            "temperature": options.temperature,
            "top_p": options.top_p,
            "repeat_penalty": options.repeat_penalty,
            "num_predict": options.max_tokens,
            "num_ctx": self.context_length,
        }
        if options.seed is not None:
            request["seed"] = options.seed
        if options.stop:
            request["stop"] = list(options.stop)
        reason, prompt_tokens, completion_tokens = "", 0, None
        stream: Any = None
        try:
            stream = self._client.chat(
                model=self.model_name,
                messages=[{"role": m.role, "content": m.content} for m in fitted],
                options=request,
                stream=True,
            )
            for part in stream:
                if cancel is not None and cancel.cancelled:
                    reason = "cancelled"
                    break
                text = part.message.content if part.message else None
                if text:
                    yield clock.token(text)
                if part.done:
                    reason = "length" if part.done_reason == "length" else "stop"
                    prompt_tokens = part.prompt_eval_count or 0
                    completion_tokens = part.eval_count
                    break
        except Exception as exc:
            _translate(exc, self.host, self.model_name, clock.text, self.timeout_s)
        finally:
            if stream is not None:
                stream.close()  # ends the HTTP response: Ollama stops generating
        if not reason:
            if cancel is not None and cancel.cancelled:
                reason = "cancelled"
            else:
                raise EngineUnavailable(
                    f"Ollama at {self.host} ended the answer before it was done. "
                    "Check that it is still running.",
                    clock.text,
                )
        yield clock.finish(reason, self.model_name, prompt_tokens, completion_tokens)  # type: ignore[arg-type]

    def count_tokens(self, text: str) -> int:
        """An estimate: Ollama has no tokenize API. Errs high, so fitted prompts always fit."""
        return math.ceil(len(text.encode("utf-8")) / CHARS_PER_TOKEN_ESTIMATE)

    def close(self) -> None:
        self._client._client.close()


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
        context_length=context if isinstance(context, int) and context > 0 else None,
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
                _translate(value, host, name, timeout_s=timeout_s, pulling=True)
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
