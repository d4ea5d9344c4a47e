"""The model runner behind ``/v1/chat/completions``: one model, taken in turns, on worker threads.

Each request becomes a :class:`ChatJob` run by :meth:`ModelRunner.start` on a thread of its own;
its events (:class:`~ember.engines.base.Token`, then one :class:`Answered`) reach the event loop
through an asyncio queue (:class:`Run`). Every generation runs inside ``core.turns.turn(cancel)``,
the FIFO lock the window's chats share, so concurrent requests queue fairly on the one loaded
model. The model is loaded inside that turn too (``core.load_engine`` takes the same, reentrant
turn), so a switch never closes a model another request is streaming from.

With ``config.switch_models`` (``ember serve``) a request may name any model Ember can run; it
is loaded on first use, one model at a time, and unloaded after ``config.idle_unload_s`` seconds
without requests. In the window the person's choice rules: a request for another model is a 400
naming the one served. A client that leaves sets the run's :class:`CancelToken`; the engine
checks it at every token.

Grounded answers (``ember:NAME`` or ``{"ember": {"collections": [...]}}``) go through the core's
:class:`~ember.assistant.Assistant` over a chat store in memory, so the retrieval, the abstain
decision and the prompt are exactly those of ``ember ask``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ember.api.errors import ApiError
from ember.api.model_ids import model_id
from ember.assistant import ABSTAIN_TEXT
from ember.cancel import CancelToken
from ember.engines.base import (
    ChatMessage,
    Engine,
    Finished,
    GenerationOptions,
    Thinking,
    Timings,
    Token,
    ToolCall,
    ToolDefinition,
)
from ember.engines.context import MIN_ANSWER_TOKENS, PromptTooLong
from ember.engines.sanitize import neutralize_special_tokens
from ember.errors import EmberError, EngineUnavailable

if TYPE_CHECKING:
    from starlette.requests import Request

    from ember.api.config import ServeConfig
    from ember.config import Settings
    from ember.core import Core
    from ember.knowledge.types import Citation

# How often a request still waiting for its first event checks that its client is there.
DISCONNECT_POLL_S = 0.25


@dataclass(frozen=True, slots=True)
class ChatJob:
    """One request to answer.

    ``key``: the Ember model key to answer with. ``messages``: system/user/assistant text as the
    client sent it (untrusted; neutralised here), the last one the user's. ``options``: sampling
    (its ``max_tokens`` is replaced by the fitted budget). ``max_tokens``: what the client asked
    for (None: the settings' answer length). ``collections``: answer from these documents.
    """

    key: str
    messages: tuple[ChatMessage, ...]
    options: GenerationOptions
    max_tokens: int | None = None
    collections: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Answered:
    """The last event of a run: the engine's :class:`Finished`, the model that answered, and for
    grounded answers the sources (``citations``) and whether retrieval abstained."""

    finished: Finished
    model: str
    citations: tuple[Citation, ...] = ()
    abstained: bool = False


RunEvent = Token | Thinking | ToolCall | Answered


class Run:
    """A job running on a worker thread; :meth:`next` hands its events to the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.cancel = CancelToken()
        self._loop = loop
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._ended = False
        self._check_at = time.monotonic() + DISCONNECT_POLL_S  # next look for a client gone

    def put(self, kind: str, value: object) -> None:
        """*worker* Pass one item to the loop (dropped when the server has stopped)."""
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, (kind, value))
        except RuntimeError:  # the loop is closed: nobody is listening any more
            self.cancel.cancel()

    async def next(self, request: Request | None = None) -> RunEvent | None:
        """The next event, or None after the last. Raises what the job raised. With
        ``request``, a client found gone cancels the job: it is looked for every
        :data:`DISCONNECT_POLL_S` seconds, whether events flow (a whole answer being generated)
        or not (waiting for a turn)."""
        if self._ended:
            return None
        while True:
            if request is not None and time.monotonic() >= self._check_at:
                self._check_at = time.monotonic() + DISCONNECT_POLL_S
                if await request.is_disconnected():
                    self.cancel.cancel()
            try:
                if request is None:
                    kind, value = await self._queue.get()
                else:
                    kind, value = await asyncio.wait_for(self._queue.get(), DISCONNECT_POLL_S)
            except TimeoutError:
                continue
            if kind == "event":
                return value
            self._ended = True
            if kind == "error":
                raise value
            return None


class ModelRunner:
    """Runs chat jobs over ``core`` as ``config`` allows (see the module's docstring)."""

    def __init__(self, core: Core, config: ServeConfig) -> None:
        self.core = core
        self.config = config
        self._lock = threading.Lock()
        self._active = 0
        self._last_done = time.monotonic()
        self._idle_timer: threading.Timer | None = None
        self._runs: set[Run] = set()  # started and not yet done
        self._closed = False
        # How recent runs ended ("stop", "length", "cancelled"), newest last: what a run that
        # lost its client came to, for logs and tests.
        self.finished: deque[Finished] = deque(maxlen=256)

    # -- which model ------------------------------------------------------------------------

    def served_key(self) -> str:
        """The model answering now: the loaded one, else the configured one."""
        loaded = self.core.loaded
        return loaded.key if loaded is not None else self.core.settings.model

    def check_model(self, key: str) -> None:
        """*worker* Raise unless ``key`` may answer: :class:`ModelNotFound` (404) when Ember
        knows no such model, :class:`ApiError` 400 when the window serves another one."""
        from ember.catalog import resolve_model

        if not self.config.switch_models and key == self.served_key():
            return
        resolve_model(key, self.core.settings, self.core.paths)  # ModelNotFound: unknown
        if not self.config.switch_models:
            raise self._not_served(key)

    def _not_served(self, key: str) -> ApiError:
        served = model_id(self.served_key())
        return ApiError(
            400,
            f"This Ember window serves the model {served!r}, not {model_id(key)!r}. Ask "
            f"for {served!r}, choose another model in the window, or run `ember serve`, which "
            "loads the model each request names.",
            code="model_not_loaded",
            param="model",
        )

    def engine_for(self, key: str) -> Engine:
        """*worker* (inside a turn) The engine for ``key``, loading it if the server may."""
        core = self.core
        if self.config.switch_models:
            if core.loaded is None or core.loaded.key != key:
                core.load_engine(key)
        elif core.loaded is not None and core.loaded.key != key:
            raise self._not_served(key)  # the person switched models since the request came
        return core.engine()

    # -- running ------------------------------------------------------------------------------

    def start(self, job: ChatJob) -> Run:
        """Start ``job`` on a worker thread (called on the event loop); read it with
        :meth:`Run.next` and cancel it with ``run.cancel``."""
        run = Run(asyncio.get_running_loop())
        with self._lock:
            self._active += 1
            self._runs.add(run)
            if self._closed:  # the server is stopping: the job gives up at once
                run.cancel.cancel()
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None
        threading.Thread(
            target=self._work, args=(job, run), name="ember-api-answer", daemon=True
        ).start()
        return run

    def _work(self, job: ChatJob, run: Run) -> None:
        try:
            events = self._grounded(job, run.cancel) if job.collections else self._plain(job, run)
            for event in events:
                if isinstance(event, Answered):
                    self.finished.append(event.finished)
                run.put("event", event)
            run.put("end", None)
        except BaseException as exc:  # every failure goes to the request that caused it
            run.put("error", exc)
        finally:
            self._done(run)

    def _plain(self, job: ChatJob, run: Run) -> Iterator[RunEvent]:
        cancel = run.cancel
        with self.core.turns.turn(cancel) as granted:
            if not granted:  # the client left while waiting for its turn
                yield Answered(_cancelled(), model_id(job.key))
                return
            engine = self.engine_for(job.key)
            if job.options.structured and not getattr(engine, "structured_output", False):
                raise ApiError(
                    400,
                    f"{engine.model_name} ({engine.backend}) cannot constrain its answer to JSON; "
                    "leave out response_format or use another model.",
                    param="response_format",
                )
            messages, options = self._fit(engine, job)
            finished: Finished | None = None
            stream = engine.stream_chat(messages, options, cancel)
            try:
                for event in stream:
                    if isinstance(event, Finished):
                        finished = event
                    else:
                        yield event  # a token, a piece of thinking, a tool call
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()  # stop the backend now, not at garbage collection
        if finished is None:
            raise EngineUnavailable(f"{engine.model_name} ended its answer without finishing.")
        yield Answered(finished, finished.model or engine.model_name)

    def _fit(self, engine: Engine, job: ChatJob) -> tuple[list[ChatMessage], GenerationOptions]:
        """The messages with special tokens neutralised, and the options with the answer's
        budget. Every message goes in (a client sent them on purpose); raises
        :class:`PromptTooLong` with the numbers when they leave too little room."""
        extra = tuple(getattr(engine, "special_tokens", ()) or ())
        messages = [
            replace(m, content=neutralize_special_tokens(m.content, extra)) for m in job.messages
        ]
        wanted = job.max_tokens or self.core.settings.max_tokens
        required = sum(engine.count_tokens(_text_of(m)) for m in messages)
        required += sum(engine.count_tokens(_text_of(t)) for t in job.options.tools)
        required += engine.template_overhead.of(len(messages))
        answer = min(wanted, engine.n_ctx - required)
        if answer < min(MIN_ANSWER_TOKENS, wanted):
            raise PromptTooLong(
                f"The messages take about {required} tokens, but {engine.model_name} reads at "
                f"most {engine.n_ctx} tokens at once (n_ctx), the answer included. Send less "
                "text, or a model with a larger context.",
                required,
                engine.n_ctx,
            )
        return messages, replace(job.options, max_tokens=answer)

    def _grounded(self, job: ChatJob, cancel: CancelToken) -> Iterator[RunEvent]:
        from ember.assistant import ReplyDone, ReplyStarted

        core = self.core
        try:
            collections = core.known_collections(list(job.collections))
        except EmberError as exc:
            raise ApiError(
                404, str(exc), code="collection_not_found", param="ember.collections"
            ) from None
        citations: tuple[Citation, ...] = ()
        done: ReplyDone | None = None
        with core.request_assistant(self._settings(job), lambda: self.engine_for(job.key)) as bot:
            bot.stop = job.options.stop
            chat = bot.store.create(collections=collections)
            *history, question = [m for m in job.messages if m.role != "system"]
            for message in history:
                bot.store.add_message(chat.id, message.role, message.content)
            for event in bot.send(chat.id, question.content, cancel=cancel):
                if isinstance(event, ReplyStarted):
                    citations = event.citations
                elif isinstance(event, Token):
                    yield event
                elif isinstance(event, ReplyDone):
                    done = event
        assert done is not None
        model = done.message.model or model_id(job.key)
        finished = done.finished or Finished("stop", ABSTAIN_TEXT, Timings(None, 0.0, 0, 0), model)
        yield Answered(finished, finished.model or model, citations, done.abstained)

    def _settings(self, job: ChatJob) -> Settings:
        """The settings with this request's sampling and system prompt (if it sent one)."""
        options = job.options
        update: dict[str, object] = {
            "temperature": options.temperature,
            "top_p": options.top_p,
            "seed": -1 if options.seed is None else options.seed,
            "max_tokens": job.max_tokens or self.core.settings.max_tokens,
        }
        system = "\n\n".join(m.content for m in job.messages if m.role == "system").strip()
        if system:
            update["system_prompt"] = system
        return self.core.settings.model_copy(update=update)

    # -- idle unload ----------------------------------------------------------------------------

    def _done(self, run: Run) -> None:
        idle_s = self.config.idle_unload_s
        with self._lock:
            self._active -= 1
            self._runs.discard(run)
            self._last_done = time.monotonic()
            if self._closed or self._active or not self.config.switch_models or idle_s <= 0:
                return
            timer = threading.Timer(idle_s, self._unload_if_idle)
            timer.daemon = True
            self._idle_timer = timer
            timer.start()

    def _unload_if_idle(self) -> None:
        """Unload the model when no request came for ``idle_unload_s`` seconds."""
        with self.core.turns.turn():  # after any answer still running (the window's too)
            with self._lock:
                idle_for = time.monotonic() - self._last_done
                if self._closed or self._active or idle_for < self.config.idle_unload_s * 0.99:
                    return
            self.core.unload_engine()

    def close(self) -> None:
        """The server is stopping: cancel every run (an answer ends at its next token, a request
        waiting for its turn leaves the queue) and stop the idle timer, for good."""
        with self._lock:
            self._closed = True
            for run in self._runs:
                run.cancel.cancel()
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None


def _text_of(item: ChatMessage | ToolDefinition) -> str:
    """The text a message or a tool definition puts in the prompt (for counting tokens)."""
    if isinstance(item, ToolDefinition):
        return f"{item.name} {item.description} {item.parameters}"
    calls = " ".join(f"{c.name} {json.dumps(c.arguments)}" for c in item.tool_calls)
    return f"{item.content} {calls}" if calls else item.content


def _cancelled() -> Finished:
    return Finished("cancelled", "", Timings(None, 0.0, 0, 0), "")
