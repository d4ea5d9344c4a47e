"""An OpenAI-compatible chat endpoint (vLLM, llama-server, llama-cpp-python's server, LM Studio).

``spec.host`` is the base URL including ``/v1``; ``spec.api_key`` goes out as a Bearer token.
Streaming is Server-Sent Events from ``/chat/completions``. Library and transport errors are
translated in :func:`_translate`, as in the Ollama backend. A host that is not this computer is
logged (logger ``ember.engines``) and flagged on the engine as ``is_remote`` for the UI.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import httpx

from ember.cancel import CancelToken
from ember.engines.base import ChatMessage, GenerationOptions, StreamClock, StreamEvent
from ember.engines.context import fit_messages, reply_budget
from ember.engines.http import (
    LineLimitTransport,
    OversizedLine,
    http_timeout,
    is_loopback_url,
    warn_if_remote,
)
from ember.errors import EngineUnavailable, ModelNotFound

if TYPE_CHECKING:
    from ember.engines import EngineSpec

__all__ = ["RemoteEngine", "is_loopback_url", "list_models", "load"]

BACKEND = "openai"
BYTES_PER_TOKEN_ESTIMATE = 3
MESSAGE_OVERHEAD_ESTIMATE = 8
_ERROR_BODY_BYTES = 4096


class _ServerError(Exception):
    """A non-200 answer, with the bit of body worth showing."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class _Malformed(Exception):
    """A stream line that is not the OpenAI chunk format."""


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


def _error_detail(response: httpx.Response) -> str:
    raw = b""
    for chunk in response.iter_bytes():
        raw += chunk
        if len(raw) >= _ERROR_BODY_BYTES:
            break
    text = raw[:_ERROR_BODY_BYTES].decode("utf-8", "replace")
    try:
        error = json.loads(text).get("error", text)
        return str(error.get("message", error) if isinstance(error, dict) else error)
    except (ValueError, AttributeError):
        return text.strip()[:300] or response.reason_phrase


def _translate(
    exc: BaseException, base: str, model: str | None, partial: str = "", timeout_s: float = 0
) -> NoReturn:
    """The one place transport and protocol errors become Ember errors."""
    if isinstance(exc, _ServerError):
        if exc.status in (401, 403):
            raise EngineUnavailable(
                f"The server at {base} refused the API key ({exc.detail}). Check the key in the "
                "remote's settings.",
                partial,
            ) from None
        if exc.status == 404 and model:
            raise ModelNotFound(
                f"The server at {base} does not serve {model!r} ({exc.detail}). Check the model "
                "name, or that base_url ends in /v1."
            ) from None
        raise EngineUnavailable(
            f"The server at {base} answered HTTP {exc.status}: {exc.detail}", partial
        ) from None
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        raise EngineUnavailable(
            f"The server at {base} is not answering — is it running? Check the URL, or pick "
            "another model.",
            partial,
        ) from None
    if isinstance(exc, httpx.TimeoutException):
        raise EngineUnavailable(
            f"The server at {base} stopped answering (nothing for {timeout_s:g} s).", partial
        ) from None
    if isinstance(exc, OversizedLine):
        raise EngineUnavailable(
            f"The server at {base} sent {exc}; the reply was abandoned.", partial
        ) from None
    if isinstance(exc, _Malformed | json.JSONDecodeError):
        raise EngineUnavailable(
            f"The server at {base} sent a malformed reply ({exc}); is it OpenAI-compatible?",
            partial,
        ) from None
    if isinstance(exc, httpx.HTTPError):
        raise EngineUnavailable(
            f"The server at {base} closed the connection in the middle of the answer "
            f"({type(exc).__name__}). Check that it is still running.",
            partial,
        ) from None
    raise exc


def _chunk_text(data: str) -> tuple[str, str | None]:
    """(content, finish_reason) of one SSE ``data:`` payload."""
    try:
        chunk = json.loads(data)
        if "error" in chunk:
            raise _Malformed(f"error in stream: {chunk['error']}")
        choices = chunk["choices"]
        if not choices:  # usage-only chunks some servers send at the end
            return "", None
        choice = choices[0]
        delta = choice.get("delta") or {}
        return delta.get("content") or "", choice.get("finish_reason")
    except (KeyError, TypeError, AttributeError, IndexError):
        raise _Malformed("a chunk without choices") from None


class RemoteEngine:
    """A model on an OpenAI-compatible server."""

    backend = BACKEND

    def __init__(self, spec: EngineSpec, served: list[str], context_limit: int | None) -> None:
        self.host = _base(spec.host)
        self.model_name = spec.model
        self.served_models = served
        self.timeout_s = spec.timeout_s
        self.context_length = min(spec.n_ctx, context_limit or spec.n_ctx)
        self.is_remote = warn_if_remote(self.host, "The OpenAI-compatible server")
        self._client = _client(spec.api_key, spec.timeout_s)

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[StreamEvent]:
        """Stream ``/chat/completions`` as SSE; cancelling closes the HTTP response."""
        options = options or GenerationOptions()
        clock = StreamClock()
        fitted = fit_messages(
            messages,
            self.count_tokens,
            self.context_length,
            reply_budget(options.max_tokens, self.context_length),
            MESSAGE_OVERHEAD_ESTIMATE,
        )
        body: dict[str, Any] = {
            "model": self.model_name,
            "messages": [{"role": m.role, "content": m.content} for m in fitted],
            "stream": True,
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
        reason: str | None = None
        done = False
        try:
            with self._client.stream("POST", f"{self.host}/chat/completions", json=body) as resp:
                if resp.status_code != 200:
                    raise _ServerError(resp.status_code, _error_detail(resp))
                for line in resp.iter_lines():
                    if cancel is not None and cancel.cancelled:
                        reason = "cancelled"
                        break
                    if not line.startswith("data:"):
                        continue  # blank separators, ": keep-alive" comments, event/id fields
                    data = line[5:].strip()
                    if data == "[DONE]":
                        done = True
                        break
                    text, finish = _chunk_text(data)
                    if text:
                        yield clock.token(text)
                    if finish:
                        reason = finish
        except Exception as exc:
            _translate(exc, self.host, self.model_name, clock.text, self.timeout_s)
        if reason != "cancelled" and cancel is not None and cancel.cancelled:
            reason = "cancelled"
        if reason is None and not done:
            raise EngineUnavailable(
                f"The server at {self.host} ended the answer before it was done. Check that it "
                "is still running.",
                clock.text,
            )
        final = reason if reason in ("cancelled", "length") else "stop"
        yield clock.finish(final, self.model_name, 0)  # type: ignore[arg-type]

    def count_tokens(self, text: str) -> int:
        """An estimate (the OpenAI protocol has no tokenize call); errs high so prompts fit."""
        return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN_ESTIMATE)

    def close(self) -> None:
        self._client.close()


def _models(base: str, api_key: str | None, timeout_s: float) -> list[dict[str, Any]]:
    with _client(api_key, timeout_s) as client:
        try:
            response = client.get(f"{base}/models")
            if response.status_code != 200:
                raise _ServerError(response.status_code, _error_detail(response))
            payload = response.json()
            data = payload.get("data") if isinstance(payload, dict) else None
            if not isinstance(data, list):
                raise _Malformed("/models has no data list")
        except Exception as exc:
            _translate(exc, base, None, timeout_s=timeout_s)
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
