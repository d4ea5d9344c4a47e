"""The one path every server backend (Ollama, OpenAI-compatible) streams and fails through.

A backend keeps only its protocol: it builds the request and turns the server's stream into
:class:`Chunk` values (:func:`stream_reply` reads them), and it names its server in a
:class:`Wording`. Everything else is here, once:

- the streaming loop: cancel checks between chunks, :class:`~ember.engines.base.StreamClock`
  timings, :class:`~ember.engines.base.Token` / :class:`~ember.engines.base.Finished` events,
  the partial answer kept on every failure;
- the translation of transport and HTTP failures into :mod:`ember.errors` domain errors
  (:meth:`ServerErrors.translate`): connection refused, a silent server, HTTP error statuses,
  malformed or oversized data, a server that dies mid-answer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NoReturn

import httpx

from ember.cancel import CancelToken
from ember.engines.base import FinishReason, StreamClock, StreamEvent, TemplateOverhead, ToolCall
from ember.engines.http import OversizedLine
from ember.engines.thinking import Piece, ThinkSplitter
from ember.errors import EngineUnavailable, ModelNotFound

# UTF-8 bytes per token, for servers without a tokenize call: over-counts English (~4 per token)
# and fits CJK (~3), so a prompt fitted with it always fits the real tokenizer.
BYTES_PER_TOKEN_ESTIMATE = 3
# A server's template is not ours to render; these allowances are generous on purpose.
SERVER_TEMPLATE_OVERHEAD = TemplateOverhead(per_message=8, per_prompt=8)
_ERROR_BODY_BYTES = 4096  # of an error response, enough for the server's message


def estimate_tokens(text: str) -> int:
    """Tokens ``text`` takes at most, from its UTF-8 length (a server has no tokenize call)."""
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN_ESTIMATE)


@dataclass(frozen=True, slots=True)
class Chunk:
    """One parsed piece of a server's stream.

    ``text``: answer text in this piece ("" for bookkeeping lines); a ``<think>`` block in it is
    split off as thinking by :func:`stream_reply`. ``finish``: the server's finish
    reason when it gives one (``"length"`` means ``max_tokens`` was reached; anything else counts
    as ``"stop"``). ``done``: the server says the stream is complete. ``prompt_tokens`` /
    ``completion_tokens``: the server's own counts, where it reports them.
    """

    text: str = ""
    finish: str | None = None
    done: bool = False
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    thinking: str = ""  # the server's own reasoning channel (Ollama's message.thinking...)
    tool_calls: tuple[ToolCall, ...] = ()  # calls complete in this piece


class ServerRefused(Exception):
    """The server answered with an HTTP error status; ``detail`` is its message, shortened."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class MalformedReply(Exception):
    """What the server sent is not its protocol (a chunk without choices, an error object...)."""


@dataclass(frozen=True, slots=True)
class Wording:
    """What a person is told when one kind of server fails: ``str.format`` templates.

    Each may use ``{who}`` (:attr:`who` filled in), ``{host}``, ``{model}``, ``{detail}`` (the
    server's own message), ``{status}`` (HTTP status), ``{seconds}`` (the read timeout, seconds)
    and ``{error}`` (the failure's own text or type).
    """

    who: str  # the server as a sentence subject, e.g. "Ollama at {host}"
    not_answering: str
    stalled: str
    malformed: str
    refused: str  # any HTTP error status not covered below
    bad_key: str  # HTTP 401 / 403
    no_model: str  # HTTP 404 for a named model: raised as ModelNotFound
    ended_early: str = "{who} ended the answer before it was done. Check that it is still running."
    oversized: str = "{who} sent {error}; the reply was abandoned."
    dropped: str = (
        "{who} closed the connection in the middle of the answer ({error}). "
        "Check that it is still running."
    )


@dataclass(frozen=True, slots=True)
class ServerErrors:
    """The one place one server's transport and HTTP failures become Ember errors.

    ``host``: the server's base URL as shown to people. ``model``: the model asked for (a 404 then
    means that model is missing). ``timeout_s``: the read timeout in seconds, named when the
    server goes silent. ``adapt``: the backend's hook that turns its client library's exceptions
    into :class:`ServerRefused` / :class:`MalformedReply` (returns the exception itself otherwise).
    """

    wording: Wording
    host: str
    model: str | None = None
    timeout_s: float = 0.0
    adapt: Callable[[BaseException], BaseException] | None = None

    def message(self, template: str, **values: object) -> str:
        """``template`` of :attr:`wording` filled in with this server's names and ``values``."""
        who = self.wording.who.format(host=self.host)
        return template.format(
            who=who, host=self.host, model=self.model, seconds=self.timeout_s, **values
        )

    def ended_early(self, partial: str = "") -> EngineUnavailable:
        """The error for a stream that stopped without the server saying it was done."""
        return EngineUnavailable(self.message(self.wording.ended_early), partial)

    def translate(self, exc: BaseException, partial: str = "") -> NoReturn:
        """Raise the domain error for ``exc``, keeping ``partial`` (the text streamed so far).

        :class:`ModelNotFound` for a missing model; :class:`EngineUnavailable` for everything the
        server or the network did. Anything else is a bug and is re-raised as it is.
        """
        words = self.wording
        if self.adapt is not None:
            exc = self.adapt(exc)
        if isinstance(exc, ServerRefused):
            values = {"status": exc.status, "detail": exc.detail}
            if exc.status in (401, 403):
                raise EngineUnavailable(self.message(words.bad_key, **values), partial) from None
            if exc.status == 404 and self.model:
                raise ModelNotFound(self.message(words.no_model, **values)) from None
            raise EngineUnavailable(self.message(words.refused, **values), partial) from None
        if isinstance(exc, ConnectionError | httpx.ConnectError | httpx.ConnectTimeout):
            raise EngineUnavailable(self.message(words.not_answering), partial) from None
        if isinstance(exc, httpx.TimeoutException):
            raise EngineUnavailable(self.message(words.stalled), partial) from None
        if isinstance(exc, OversizedLine):
            raise EngineUnavailable(self.message(words.oversized, error=exc), partial) from None
        if isinstance(exc, MalformedReply | json.JSONDecodeError):
            raise EngineUnavailable(self.message(words.malformed, error=exc), partial) from None
        if isinstance(exc, httpx.HTTPError):
            error = type(exc).__name__
            raise EngineUnavailable(self.message(words.dropped, error=error), partial) from None
        raise exc


def stream_reply(
    chunks: Iterator[Chunk],
    *,
    model: str,
    errors: ServerErrors,
    cancel: CancelToken | None = None,
) -> Iterator[StreamEvent]:
    """Turn a backend's parsed ``chunks`` into Token / Thinking / ToolCall events and one
    Finished (reason ``"tool_calls"`` when calls came).

    Checks ``cancel`` before each chunk: a cancel ends the stream with ``"cancelled"`` and the text
    so far. The stream must end with a chunk marked ``done`` or carrying a ``finish`` reason; one
    that just stops raises :meth:`ServerErrors.ended_early`. Any failure while reading goes through
    ``errors.translate`` with the partial text. ``chunks`` is closed on every way out (a
    generator's ``finally`` ends the HTTP response, so the server stops generating).
    """
    clock = StreamClock()
    splitter = ThinkSplitter()
    reason: str | None = None
    done = False
    prompt_tokens, completion_tokens = 0, None

    def pieces(split: list[Piece]) -> Iterator[StreamEvent]:
        for kind, piece in split:
            yield clock.thought(piece) if kind == "thinking" else clock.token(piece, count=0)

    try:
        for chunk in chunks:
            if cancel is not None and cancel.cancelled:
                reason = "cancelled"
                break
            if chunk.thinking:
                yield clock.thought(chunk.thinking, count=1)
            if chunk.text:
                clock.note()
                yield from pieces(splitter.feed(chunk.text))
            for call in chunk.tool_calls:
                yield clock.call(call)
            reason = chunk.finish or reason
            if chunk.prompt_tokens is not None:
                prompt_tokens = chunk.prompt_tokens
            if chunk.completion_tokens is not None:
                completion_tokens = chunk.completion_tokens
            if chunk.done:
                done = True
                break
    except Exception as exc:
        errors.translate(exc, clock.text)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    yield from pieces(splitter.flush())
    if not done and reason != "cancelled" and cancel is not None and cancel.cancelled:
        reason = "cancelled"
    if reason is None and not done:
        raise errors.ended_early(clock.text)
    final: FinishReason = reason if reason in ("cancelled", "length") else "stop"  # type: ignore[assignment]
    yield clock.finish(final, model, prompt_tokens, completion_tokens)


def error_detail(response: httpx.Response) -> str:
    """The message in an HTTP error response: its JSON ``error`` (or ``error.message``), else the
    start of its text, else the reason phrase. Reads at most a few KB of the body."""
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
