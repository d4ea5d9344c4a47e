"""The conversation service the CLI and the Qt UI both drive.

:class:`Assistant` turns "the user said X in chat N" into a stored, streamed, durable answer:
it saves the user message, optionally grounds the question in the chat's document collections,
fits system prompt + history + question into the model's context, streams the engine's tokens
through a :class:`~ember.chats.reply.ReplyWriter`, and saves citations, timings and the outcome.

It is a plain iterator with no Qt and no threads: nothing happens until the caller iterates, and
the UI iterates in its worker. Cancellation goes through a :class:`~ember.cancel.CancelToken`
(or by closing the iterator); either way the partial answer is kept as 'cancelled'.

Tools: when the chat has tools (``Conversation.tools``) and the assistant a :attr:`toolbox`,
the model may call them. Each call becomes a stored step of the answer (yielded as
:class:`StepChanged` whenever it changes), is approved (read-only built-ins and tools always
allowed run at once; others ask the ``approve`` function, or are denied without one), runs
outside the model's turn (other answers may use the model meanwhile), and its result, capped and
fenced, goes back to the model, which streams again: until it answers, or
``Settings.tool_step_limit`` rounds (then it must answer, and the answer says the limit stopped
it). A reasoning model's thinking is stored apart from the answer and never sent back.

Documents that do not contain the answer: when the retriever abstains (nothing relevant above its
calibrated threshold), the assistant answers :data:`ABSTAIN_TEXT` without running the model. A
small model handed no sources invents confident answers that *look* grounded, which is the
complaint users have most about document chat; an honest "not in your documents" is better, and
the user can turn documents off for the chat to ask the model directly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from ember.cancel import CancelToken
from ember.chats.records import ConversationNotFound, Message, ToolStep
from ember.chats.reply import ReplyWriter
from ember.chats.store import ChatStore
from ember.config import Settings
from ember.engines.base import (
    ChatMessage,
    Engine,
    Finished,
    GenerationOptions,
    Thinking,
    Timings,
    Token,
    ToolCall,
)
from ember.engines.context import MIN_ANSWER_TOKENS, PromptTooLong, fit_for
from ember.engines.sanitize import neutralize_special_tokens
from ember.errors import EmberError, EngineUnavailable
from ember.knowledge.types import Citation, Grounding, StaleSource
from ember.tools.loop import CallOutcome, StepCancelled, StepRunner
from ember.turns import ModelTurns

if TYPE_CHECKING:
    from ember.tools.toolbox import Toolbox
    from ember.tools.types import Approver, Tool

ABSTAIN_TEXT = "I could not find this in your documents."

# Fixed text, appended to the system prompt whenever sources are given, so the prefix of every
# grounded prompt is identical and the backend can reuse its KV cache for it.
GROUNDING_INSTRUCTION = (
    "The user's message starts with numbered sources from their own documents. Answer using only "
    "those sources and cite each one you use as [n], for example [1]. If the sources do not "
    "contain the answer, say plainly that your documents do not contain it; do not guess."
)

__all__ = [
    "ABSTAIN_TEXT",
    "GROUNDING_INSTRUCTION",
    "Assistant",
    "AssistantEvent",
    "PromptTooLong",
    "ReplyDone",
    "ReplyStarted",
    "Retriever",
    "StepChanged",
]


class Retriever(Protocol):
    """What the assistant needs from the knowledge base."""

    def retrieve(self, question: str, collections: Sequence[str] | None) -> Grounding:
        """Sources and citations for ``question`` from ``collections`` (every collection when
        ``None``), or an abstention."""


@dataclass(frozen=True, slots=True)
class ReplyStarted:
    """First event: the question is stored and the answer's message exists (empty, streaming)."""

    user_message: Message
    reply_id: int
    citations: tuple[Citation, ...]  # the sources the answer may cite (already saved)
    # Matching files left out because they were deleted or changed since they were indexed.
    stale: tuple[StaleSource, ...] = ()
    # Ids of every version of the answer, oldest first (it is the last): a regenerated one has 2+.
    reply_versions: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ReplyDone:
    """Last event: the answer as stored (text, state, timings, citations)."""

    message: Message
    finished: Finished | None  # the engine's end event; None when the assistant abstained
    abstained: bool = False


@dataclass(frozen=True, slots=True)
class StepChanged:
    """A tool step of the answer was added or changed state (waiting for approval, running,
    done...); ``step`` is it as now stored."""

    step: ToolStep


AssistantEvent = ReplyStarted | Token | Thinking | StepChanged | ReplyDone

# Appended to an answer that the tool step limit stopped (the model was made to answer).
STEP_LIMIT_NOTE = (
    "\n\n[Stopped after {n} rounds of tool calls: the limit set in Settings (tool_step_limit).]"
)

EngineProvider = Callable[[], Engine]


class Assistant:
    """Chats stored in ``store``, answered by an engine (or a zero-argument function returning the
    engine to use now, so a model switch or a lazy load needs no new Assistant).

    ``turns`` (when given) is shared with everything else that streams from the same loaded
    model (the local API): each answer waits for its turn, in order, before the model runs;
    with ``priority`` (the person's own chats) ahead of other programs' requests.
    """

    def __init__(
        self,
        engine: Engine | EngineProvider,
        store: ChatStore,
        settings: Settings,
        retriever: Retriever | None = None,
        turns: ModelTurns | None = None,
        priority: bool = False,
    ) -> None:
        self.turns = turns or ModelTurns()
        self.priority = priority
        if isinstance(engine, Engine):
            loaded = engine
            self._engine_provider: EngineProvider = lambda: loaded
        else:
            self._engine_provider = engine
        self.store = store
        self.settings = settings
        self.retriever = retriever
        self.stop: tuple[str, ...] = ()  # strings that end an answer (the local API's ``stop``)
        self.toolbox: Toolbox | None = None  # the tools chats may use (none: no tool calls)

    # -- public operations ------------------------------------------------------------------

    def send(
        self,
        conversation_id: int,
        text: str,
        *,
        collections: Sequence[str] | None = None,
        cancel: CancelToken | None = None,
        tools: Sequence[str] | None = None,
        approve: Approver | None = None,
    ) -> Iterator[AssistantEvent]:
        """Store ``text`` as the user's next message and stream the answer.

        ``collections`` and ``tools`` (names, see :meth:`Toolbox.infos`), when given, become the
        chat's document and tool selection; ``None`` keeps the chat's own. ``approve`` decides
        on calls that need approval (None: they are denied, and the model is told so). Yields
        :class:`ReplyStarted`, then :class:`Token`, :class:`Thinking` and :class:`StepChanged`
        events, then :class:`ReplyDone`. Errors are saved on the answer (state 'error', partial
        text kept) and re-raised.
        """
        if not text.strip():
            raise EmberError("There is nothing to send: the message is empty.")
        self._require(conversation_id)
        self._select(conversation_id, collections, tools)
        user_message = self.store.add_message(conversation_id, "user", text)
        yield from self._answer(user_message, cancel, approve=approve)

    def regenerate(
        self,
        conversation_id: int,
        *,
        cancel: CancelToken | None = None,
        tools: Sequence[str] | None = None,
        approve: Approver | None = None,
    ) -> Iterator[AssistantEvent]:
        """Answer the chat's last user message again: a new version of its answer (the earlier
        one is kept, reachable with :meth:`ChatStore.versions`). ``tools``, ``approve``: as
        :meth:`send`."""
        self._require(conversation_id)
        self._select(conversation_id, None, tools)
        messages = self.store.messages(conversation_id)
        last = next((i for i in reversed(range(len(messages))) if messages[i].role == "user"), None)
        if last is None:
            raise EmberError("There is no question in this chat to answer again.")
        after = messages[last + 1 :]
        answer = after[0] if after and after[0].role == "assistant" else None
        version_of = answer.id if answer else None
        yield from self._answer(messages[last], cancel, version_of=version_of, approve=approve)

    def edit_and_resend(
        self,
        message_id: int,
        new_text: str,
        *,
        collections: Sequence[str] | None = None,
        cancel: CancelToken | None = None,
        tools: Sequence[str] | None = None,
        approve: Approver | None = None,
    ) -> Iterator[AssistantEvent]:
        """Send ``new_text`` as a new version of a user message and answer it; the earlier
        version and the conversation that followed it are kept (see
        :meth:`ChatStore.choose_version`). ``tools``, ``approve``: as :meth:`send`."""
        original = self.store.message(message_id)
        if original is None:
            raise ConversationNotFound(f"Message {message_id} does not exist (or was deleted).")
        if original.role != "user":
            raise EmberError("Only your own messages can be edited and sent again.")
        if not new_text.strip():
            raise EmberError("There is nothing to send: the message is empty.")
        conversation_id = original.conversation_id
        self._require(conversation_id)
        self._select(conversation_id, collections, tools)
        edited = self.store.add_message(conversation_id, "user", new_text, version_of=message_id)
        yield from self._answer(edited, cancel, approve=approve)

    def options(self, max_tokens: int | None = None) -> GenerationOptions:
        """Generation options from the settings (seed -1 means a random seed)."""
        s = self.settings
        return GenerationOptions(
            temperature=s.temperature,
            top_p=s.top_p,
            repeat_penalty=s.repeat_penalty,
            max_tokens=max_tokens or s.max_tokens,
            seed=None if s.seed < 0 else s.seed,
            stop=self.stop,
        )

    # -- the answer ---------------------------------------------------------------------------

    def _select(
        self, conversation_id: int, collections: Sequence[str] | None, tools: Sequence[str] | None
    ) -> None:
        if collections is not None:
            self.store.set_collections(conversation_id, collections)
        if tools is not None:
            self.store.set_tools(conversation_id, tools)

    def _require(self, conversation_id: int) -> None:
        conversation = self.store.get(conversation_id)
        if conversation is None or conversation.deleted:
            raise ConversationNotFound(f"Chat {conversation_id} no longer exists.")

    def _answer(
        self,
        user_message: Message,
        cancel: CancelToken | None,
        version_of: int | None = None,
        approve: Approver | None = None,
    ) -> Iterator[AssistantEvent]:
        """Answer ``user_message``: the reply follows it, or is a new version of the answer
        ``version_of``."""
        conversation_id = user_message.conversation_id
        cancel = cancel or CancelToken()
        if version_of is None:
            writer = self.store.begin_reply(conversation_id, after=user_message.id)
        else:
            writer = self.store.begin_reply(conversation_id, version_of=version_of)
        try:
            conversation = self.store.get(conversation_id)
            assert conversation is not None
            grounding: Grounding | None = None
            if self.retriever is not None and conversation.collections:
                grounding = self.retriever.retrieve(
                    user_message.content, list(conversation.collections)
                )
                if grounding.citations and not grounding.abstained:
                    self.store.save_citations(writer.message_id, grounding.citations)
            citations = grounding.citations if grounding and not grounding.abstained else ()
            stale = grounding.stale if grounding is not None else ()
            yield ReplyStarted(user_message, writer.message_id, citations, stale, writer.versions)

            if grounding is not None and grounding.abstained:
                writer.append(ABSTAIN_TEXT)
                yield Token(ABSTAIN_TEXT)
                yield ReplyDone(writer.finish(), None, abstained=True)
                return
            tools = self._chat_tools(conversation.tools)
            runner = self._runner(writer.message_id, tools, approve, cancel, citations)
            yield from self._rounds(writer, user_message, grounding, runner, cancel)
        except EngineUnavailable as exc:
            if not writer.closed:
                writer.fail(str(exc), partial_text=exc.partial_text)
            raise
        except (GeneratorExit, KeyboardInterrupt):
            # The caller stopped listening (closed the iterator, Ctrl-C): a cancel, text kept.
            if not writer.closed:
                writer.cancel()
            raise
        except Exception as exc:
            if not writer.closed:
                writer.fail(str(exc) or type(exc).__name__)
            raise

    def _chat_tools(self, names: Sequence[str]) -> dict[str, Tool]:
        if self.toolbox is None or not names:
            return {}
        return {tool.info.name: tool for tool in self.toolbox.select(names)}

    def _runner(
        self,
        message_id: int,
        tools: dict[str, Tool],
        approve: Approver | None,
        cancel: CancelToken,
        cited: Sequence[Citation],
    ) -> StepRunner | None:
        if not tools or self.toolbox is None:
            return None
        return StepRunner(
            self.store,
            message_id,
            tools,
            needs_approval=self.toolbox.needs_approval,
            always_allow=self.toolbox.always_allow,
            approve=approve,
            cancel=cancel,
            timeout_s=self.settings.tool_timeout_s,
            max_chars=self.settings.tool_result_max_chars,
            cited=cited,
        )

    def _rounds(
        self,
        writer: ReplyWriter,
        user_message: Message,
        grounding: Grounding | None,
        runner: StepRunner | None,
        cancel: CancelToken,
    ) -> Iterator[AssistantEvent]:
        """Stream the model; while it calls tools (``runner``: none, no tools), run them and
        stream again. Each stream takes its own turn on the model; tools run between turns."""
        engine: Engine | None = None
        prompt: list[ChatMessage] = []
        max_tokens = self.settings.max_tokens
        definitions = tuple(t.info.definition() for t in runner.tools.values()) if runner else ()
        rounds, must_answer, hit_limit = 0, False, False
        timings: list[Timings] = []
        while True:
            with self.turns.turn(cancel, priority=self.priority) as granted:
                if not granted:  # stopped while another answer had the model
                    stopped = Finished("cancelled", "", Timings(None, 0.0, 0, 0), "")
                    yield ReplyDone(writer.cancel(), stopped)
                    return
                if engine is None:
                    engine = self._engine_provider()
                    prompt, max_tokens = self._prompt(engine, user_message, grounding)
                    if runner is not None:  # results may carry the model's own control tokens
                        runner.extra_tokens = tuple(getattr(engine, "special_tokens", ()) or ())
                options = self.options(self._answer_room(engine, prompt, definitions, max_tokens))
                if definitions:
                    # (The engine lifts the repeat penalty where copying is the point: a call's
                    # arguments and an answer right after a tool's result.)
                    choice = "none" if must_answer else "auto"
                    options = replace(options, tools=definitions, tool_choice=choice)
                before = writer.text
                finished, calls = yield from self._stream(engine, prompt, options, writer, cancel)
            if finished.reason != "tool_calls" or not calls or runner is None or must_answer:
                break
            rounds += 1
            timings.append(finished.timings)
            prompt.append(ChatMessage("assistant", writer.text[len(before) :], tuple(calls)))
            try:
                for call in calls:
                    room = self._tool_room(engine, prompt, definitions)
                    steps = runner.run(call, len(writer.text), room, engine.count_tokens)
                    outcome = yield from _step_events(steps)
                    prompt.append(ChatMessage("tool", outcome.content, (), call.id, call.name))
                    must_answer = must_answer or outcome.repeated
                    if outcome.citations:
                        self.store.save_citations(writer.message_id, runner.cited)
            except StepCancelled:
                stopped = Finished("cancelled", writer.text, _sum_timings(timings), "")
                yield ReplyDone(writer.cancel(), stopped)
                return
            if rounds >= self.settings.tool_step_limit:
                must_answer = hit_limit = True
        assert engine is not None
        text = before + finished.text
        if hit_limit:
            note = STEP_LIMIT_NOTE.format(n=rounds)
            writer.append(note)
            yield Token(note)
            text += note
        model = finished.model or engine.model_name
        total = _sum_timings([*timings, finished.timings])
        close = writer.cancel if finished.reason == "cancelled" else writer.finish
        message = close(text=text, timings=total, model=model)
        self.store.set_model(user_message.conversation_id, model)
        yield ReplyDone(message, replace(finished, text=text, timings=total))

    def _stream(
        self,
        engine: Engine,
        prompt: list[ChatMessage],
        options: GenerationOptions,
        writer: ReplyWriter,
        cancel: CancelToken,
    ) -> Generator[AssistantEvent, None, tuple[Finished, list[ToolCall]]]:
        """One stream of the model into ``writer``: its end event and the calls it made."""
        finished: Finished | None = None
        calls: list[ToolCall] = []
        stream = engine.stream_chat(prompt, options, cancel)
        try:
            for event in stream:
                if isinstance(event, Token):
                    writer.append(event.text)
                    yield event
                elif isinstance(event, Thinking):
                    writer.think(event.text)
                    yield event
                elif isinstance(event, ToolCall):
                    calls.append(event)
                else:
                    finished = event
        finally:
            # Stop the backend now (not whenever the garbage collector gets to it).
            close_stream = getattr(stream, "close", None)
            if close_stream is not None:
                close_stream()
        if finished is None:
            raise EngineUnavailable(
                f"{engine.model_name} ended its answer without finishing properly; "
                "try again or pick another model.",
                partial_text=writer.text,
            )
        return finished, calls

    def _prompt_tokens(
        self, engine: Engine, prompt: Sequence[ChatMessage], definitions: Sequence[object]
    ) -> int:
        """Tokens of ``prompt`` with its tool calls and the tools' definitions, template
        included (an estimate where the backend adds its own tool instructions)."""
        texts = [m.content for m in prompt]
        texts += [f"{c.name} {json.dumps(c.arguments)}" for m in prompt for c in m.tool_calls]
        texts += [repr(d) for d in definitions]
        used = sum(engine.count_tokens(t) for t in texts if t)
        return used + engine.template_overhead.of(len(prompt))

    def _answer_room(
        self,
        engine: Engine,
        prompt: Sequence[ChatMessage],
        definitions: Sequence[object],
        max_tokens: int,
    ) -> int:
        """The answer budget of the next stream: ``max_tokens``, less once tool results fill
        the window (never under 16)."""
        if not definitions:
            return max_tokens
        free = engine.n_ctx - self._prompt_tokens(engine, prompt, definitions)
        return max(16, min(max_tokens, free))

    def _tool_room(
        self, engine: Engine, prompt: Sequence[ChatMessage], definitions: Sequence[object]
    ) -> int:
        """The most tokens the next tool result may take: what the window has left after the
        prompt so far and room for an answer."""
        reserve = min(self.settings.max_tokens, max(MIN_ANSWER_TOKENS, 128))
        used = self._prompt_tokens(engine, prompt, definitions)
        return max(0, engine.n_ctx - used - reserve - engine.template_overhead.per_message)

    def _prompt(
        self, engine: Engine, user_message: Message, grounding: Grounding | None
    ) -> tuple[list[ChatMessage], int]:
        """System prompt + as much recent history as fits + the question (with its sources).

        Fitted once, here, by :func:`~ember.engines.context.fit_prompt` with the engine's own
        window, tokenizer and template overhead. Returns the messages and the answer budget
        (``max_tokens``, shrunk if the question is long); raises :class:`PromptTooLong`.
        """
        grounded = grounding is not None and bool(grounding.context.strip())
        system = self.settings.system_prompt.strip()
        if grounded:
            system = f"{system}\n\n{GROUNDING_INSTRUCTION}".strip()
        # The model's own control tokens, where the backend knows them (llama.cpp does).
        extra = tuple(getattr(engine, "special_tokens", ()) or ())

        def neutral(text: str) -> str:
            return neutralize_special_tokens(text, extra)

        question = neutral(user_message.content)
        if grounded:
            assert grounding is not None
            context = neutral(grounding.context.strip())
            question = f"Sources:\n{context}\n\nQuestion: {question}"

        # The messages before the question in its own thread (never another version's).
        history = [
            ChatMessage(m.role, neutral(m.content))
            for m in self.store.thread(user_message.id)[:-1]
            if m.role in ("user", "assistant") and m.state != "error" and m.content.strip()
        ]
        try:
            fitted = fit_for(engine, system, history, question, self.settings.max_tokens)
        except PromptTooLong as exc:
            what = "message and its sources" if grounded else "message"
            raise PromptTooLong(
                f"Your {what} take about {exc.required_tokens} tokens, but {engine.model_name} "
                f"reads at most {exc.n_ctx} at once. Shorten the message, or raise the context "
                "size in settings.",
                exc.required_tokens,
                exc.n_ctx,
            ) from None
        return fitted.messages, fitted.max_tokens


def _step_events(
    steps: Generator[ToolStep, None, CallOutcome],
) -> Generator[StepChanged, None, CallOutcome]:
    """A step runner's changes as :class:`StepChanged` events; returns its outcome."""
    while True:
        try:
            step = next(steps)
        except StopIteration as done:
            return done.value
        yield StepChanged(step)


def _sum_timings(timings: Sequence[Timings]) -> Timings:
    """One answer's timings over its streams: the first's time to first token, the rest
    added up."""
    if not timings:
        return Timings(None, 0.0, 0, 0)
    first = next((t.ttft_s for t in timings if t.ttft_s is not None), None)
    return Timings(
        first,
        sum(t.total_s for t in timings),
        sum(t.prompt_tokens for t in timings),
        sum(t.completion_tokens for t in timings),
    )
