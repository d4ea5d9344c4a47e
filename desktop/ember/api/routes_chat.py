"""``POST /v1/chat/completions``: OpenAI's chat API over Ember's models and documents.

Non-streaming answers are one ``chat.completion`` object. Streaming answers are Server-Sent
Events, ``data: {chat.completion.chunk}\\n\\n`` each, then ``data: [DONE]\\n\\n``: a first chunk
with the role, one per token, and a last one with ``finish_reason`` and ``usage`` (always, as LM
Studio does; with ``stream_options.include_usage`` OpenAI's usage-only chunk follows it too).

Grounded answers (model ``ember:NAME`` or ``{"ember": {"collections": [...]}}``) carry
``citations`` (``n``, ``file``, ``source``, ``page``, ``page_label``, ``page_text`` (where in
the file, in words: "p. 12", "slide 7"), ``heading``, ``snippet``, ``score``) and ``ember: {"abstained", "collections"}`` on the response, on its message, and on
the last streamed chunks.

Tools (``tools``, ``tool_choice``): the model's calls come back as OpenAI's ``tool_calls`` (on
the message, or as ``delta.tool_calls`` chunks) with ``finish_reason`` ``"tool_calls"``; Ember
runs none of them. The client runs them and sends each result back as a ``tool`` message. A
request opts in to Ember running its own tools instead with ``{"ember": {"tools": [...]}}``
(only tools that run without asking: nobody is there to approve); the steps come back under
``ember.steps``. A reasoning model's thinking comes apart from the answer, as
``reasoning_content``.

Failures before the first token are HTTP errors in OpenAI's shape (400 a bad field, a prompt
too long, an invalid JSON schema, the embedder's id, tools with documents, or a feature Ember
does not have: the legacy ``functions``, log probabilities, ``n`` above 1; 404 unknown model or collection; 503 engine down or the server
stopping); a failure
mid-stream is a last ``data: {"error": {...}}`` event (an answer cut short because the server
stops is one too: it never ends like a finished answer).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ember.api.errors import ApiError, bad_request, from_domain, internal_error
from ember.api.model_ids import collection_of, model_key, model_not_found
from ember.api.runner import Answered, ChatJob, ModelRunner, Run, RunEvent
from ember.api.schemas import ChatCompletionRequest, NamedToolChoice, RequestMessage
from ember.api.security import check_max_tokens
from ember.cancel import CancelToken
from ember.engines.base import (
    ChatMessage,
    GenerationOptions,
    Thinking,
    Token,
    ToolCall,
    ToolDefinition,
)
from ember.errors import EmberError, ModelNotFound
from ember.files import shown_path

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

    from ember.core import Core
    from ember.knowledge.types import Citation

router = APIRouter()
log = logging.getLogger(__name__)

# Model keys answered by a server (Ollama, a remote endpoint), not by llama.cpp in this process.
_SERVER_PREFIXES = ("ollama:", "remote:")


def runner_of(request: Request) -> ModelRunner:
    """The app's model runner (made on first use)."""
    state = request.app.state
    runner = getattr(state, "runner", None)
    if runner is None:
        runner = state.runner = ModelRunner(state.core, state.config)
    return runner


@router.post("/v1/chat/completions", response_model=None)
async def chat_completions(
    body: ChatCompletionRequest, request: Request
) -> JSONResponse | StreamingResponse:
    """Answer ``body.messages`` with ``body.model`` (see the module's docstring)."""
    runner = runner_of(request)
    job, collections = await _job(body, runner)
    run = runner.start(job)
    # Until a stream takes over (it watches for itself), a client that hangs up cancels the run
    # at once, so the engine stops at its next token (Run.next's poll is only a fallback).
    watcher = asyncio.ensure_future(_cancel_when_gone(request, run.cancel))
    try:
        first = await run.next(request)  # errors before the first token are HTTP errors
        reply = _Reply(body, collections, bool(job.ember_tools))
        if not body.stream:
            return JSONResponse(await reply.whole(run, first, request))
    except BaseException:
        run.cancel.cancel()
        raise
    finally:
        watcher.cancel()
    return _EventStream(reply.chunks(run, first), run.cancel)


async def _cancel_when_gone(request: Request, cancel: CancelToken) -> None:
    """Set ``cancel`` when the client hangs up (its ``http.disconnect``; the body is read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
    cancel.cancel()


async def _job(body: ChatCompletionRequest, runner: ModelRunner) -> tuple[ChatJob, list[str]]:
    """The job a request asks for, checked; raises :class:`ApiError` (or a domain error)."""
    _refuse_unsupported(body)
    asked = body.answer_tokens
    check_max_tokens(asked, runner.config)
    collections = list(body.ember.collections) if body.ember else []
    name = collection_of(body.model)
    if name is not None:
        collections = [name, *(c for c in collections if c != name)]
        key = runner.served_key()
    else:
        key = await _model_key(body.model, runner)
    messages = _messages(body.messages)
    options = _options(body, runner)
    if collections and options.structured:
        raise bad_request(
            "response_format cannot be used with documents: a grounded answer is text with "
            "citations.",
            param="response_format",
        )
    ember_tools = tuple(dict.fromkeys(body.ember.tools)) if body.ember else ()
    if ember_tools:
        if options.tools or options.structured:
            field = "tools" if options.tools else "response_format"
            raise bad_request(
                f"ember.tools cannot be used with {field}: with ember.tools Ember runs its own "
                "tools and answers in text; with tools the client runs them.",
                param=field,
            )
        await asyncio.to_thread(_check_ember_tools, runner.core, ember_tools)
    if collections and options.tools:
        raise bad_request(
            "tools cannot be used with documents (ember.collections or an ember: model): a "
            "grounded answer cites its sources instead.",
            param="tools",
        )
    if options.json_schema is not None and not key.startswith(_SERVER_PREFIXES):
        await asyncio.to_thread(_check_llama_grammar, options.json_schema)
    job = ChatJob(key, messages, options, asked, tuple(collections), ember_tools)
    return job, collections


def _check_ember_tools(core: Core, names: tuple[str, ...]) -> None:
    """*worker* 400 unless every tool in ``names`` exists, is on, and runs without asking: a
    request to the API has nobody to approve a call (the window and ``ember ask`` do)."""
    from ember.errors import ToolError

    toolbox = core.toolbox
    for name in names:
        try:
            tool = toolbox.get(name)
        except ToolError as exc:
            raise bad_request(str(exc), param="ember.tools") from None
        if toolbox.needs_approval(tool.info):
            raise bad_request(
                f"The tool {name!r} asks the person before it runs, and a request to the local "
                "API has nobody to ask. Choose 'Always allow' for it in Ember first, or send it "
                "as one of tools and run it yourself.",
                param="ember.tools",
            )


def _refuse_unsupported(body: ChatCompletionRequest) -> None:
    """400 for ``n`` above 1 and for what :meth:`ChatCompletionRequest.unsupported` names."""
    if body.n is not None and body.n != 1:
        raise bad_request("Ember gives one answer per request; n must be 1.", param="n")
    field = body.unsupported()
    if field in ("functions", "function_call"):
        raise bad_request(
            f"Ember does not support the legacy function calling ({field}); send the functions "
            "as tools (tools, tool_choice) instead.",
            param=field,
        )
    if field is not None:
        raise bad_request(
            f"Ember does not support log probabilities yet ({field}); leave it out.", param=field
        )


async def _model_key(wanted: str, runner: ModelRunner) -> str:
    """The Ember model key for the chat model id ``wanted``, checked. Every id the server does
    not answer to (a name it does not know, a path, ``ember:`` with no collection) is the same
    404, naming a few chat ids it answers to; the embedder's id is a 400 naming the endpoint."""
    try:
        key = model_key(wanted)
        await asyncio.to_thread(runner.check_model, key)
    except ApiError as exc:
        if exc.code != "model_not_found":
            raise
    except ModelNotFound:
        pass
    else:
        return key
    examples = await asyncio.to_thread(_chat_ids, runner.core)
    raise model_not_found(wanted, examples) from None


def _chat_ids(core: Core, most: int = 4) -> list[str]:
    """*worker* The first ``most`` chat ids ``GET /v1/models`` lists."""
    from ember.api.routes_models import available_models

    return [m["id"] for m in available_models(core) if m["ember"]["chat"]][:most]


def _check_llama_grammar(json_schema: str) -> None:
    """*worker* 400 when llama.cpp cannot turn ``json_schema`` (JSON text) into a grammar: a
    valid schema may still use what its converter does not know. The grammar made is cached, so
    the engine does not convert the schema again."""
    try:
        from ember.engines.llamacpp import _grammar
    except ImportError:  # no llama.cpp here: the engine answering says what it can do
        return
    try:
        _grammar(json_schema)
    except ImportError:
        return
    except Exception as exc:  # the converter raises ValueError, KeyError, RecursionError...
        raise bad_request(
            f"llama.cpp cannot follow this JSON schema: {exc or type(exc).__name__}. Simplify "
            "the schema in response_format.",
            param="response_format",
        ) from None


def _messages(messages: list[RequestMessage]) -> tuple[ChatMessage, ...]:
    """The request's messages as text and tool calls; 400 for images, a tool message that
    answers no call, or anything but the user's message or a tool's result last."""
    out: list[ChatMessage] = []
    called: set[str] = set()
    for i, message in enumerate(messages):
        param = f"messages.{i}"
        role = "system" if message.role == "developer" else message.role
        content = message.content
        if content is None:
            text = ""
        elif isinstance(content, str):
            text = content
        else:
            parts = []
            for part in content:
                if part.type != "text":
                    raise bad_request(
                        f"Ember reads text only; message {i} has a part of type {part.type!r}.",
                        param=f"{param}.content",
                    )
                parts.append(part.text or "")
            text = "\n".join(parts)
        if role == "tool":
            call_id = message.tool_call_id or ""
            if call_id not in called:
                raise bad_request(
                    f"Message {i} is a tool result for call {call_id!r}, but no earlier "
                    "assistant message made that call.",
                    param=f"{param}.tool_call_id",
                )
            out.append(ChatMessage("tool", text, tool_call_id=call_id, name=message.name or ""))
            continue
        calls = _calls(message, param) if role == "assistant" else ()
        called.update(call.id for call in calls)
        out.append(ChatMessage(role, text, tool_calls=calls))  # type: ignore[arg-type]
    last = out[-1]
    if last.role not in ("user", "tool") or (last.role == "user" and not last.content.strip()):
        raise bad_request(
            "The last message must be the user's, with text to answer, or a tool's result.",
            param="messages",
        )
    return tuple(out)


def _calls(message: RequestMessage, param: str) -> tuple[ToolCall, ...]:
    """An assistant message's ``tool_calls``; 400 when arguments are not a JSON object."""
    calls = []
    for j, call in enumerate(message.tool_calls or ()):
        try:
            arguments = json.loads(call.function.arguments or "{}")
        except json.JSONDecodeError:
            arguments = None
        if not isinstance(arguments, dict):
            raise bad_request(
                "A tool call's arguments must be a JSON object, as text.",
                param=f"{param}.tool_calls.{j}.function.arguments",
            )
        calls.append(ToolCall(call.id, call.function.name, arguments))
    return tuple(calls)


def _tools(body: ChatCompletionRequest) -> tuple[tuple[ToolDefinition, ...], str]:
    """The request's tools as definitions and the tool choice ("auto", "none", "required");
    a choice naming one tool keeps only that tool, required. 400 for a bad schema, a name used
    twice, or a choice naming no listed tool."""
    tools: list[ToolDefinition] = []
    for i, tool in enumerate(body.tools or ()):
        function = tool.function
        _check_schema(function.parameters, param=f"tools.{i}.function.parameters")
        tools.append(ToolDefinition.of(function.name, function.description, function.parameters))
    names = [tool.name for tool in tools]
    if len(set(names)) != len(names):
        raise bad_request("Two tools share a name; each tool needs its own.", param="tools")
    choice = body.tool_choice
    if isinstance(choice, NamedToolChoice):
        chosen = [tool for tool in tools if tool.name == choice.function.name]
        if not chosen:
            raise bad_request(
                f"tool_choice names {choice.function.name!r}, which is not in tools.",
                param="tool_choice",
            )
        return tuple(chosen), "required"
    if choice is not None and choice != "none" and not tools:
        raise bad_request(f"tool_choice {choice!r} needs tools to choose from.", "tool_choice")
    return tuple(tools), choice or "auto"


def _options(body: ChatCompletionRequest, runner: ModelRunner) -> GenerationOptions:
    """Sampling from the request, the settings filling what it leaves out."""
    settings = runner.core.settings
    seed = body.seed if body.seed is not None else (None if settings.seed < 0 else settings.seed)
    options = GenerationOptions(
        temperature=settings.temperature if body.temperature is None else body.temperature,
        top_p=settings.top_p if body.top_p is None else body.top_p,
        max_tokens=body.answer_tokens or settings.max_tokens,
        seed=seed,
        repeat_penalty=settings.repeat_penalty,
        stop=body.stops,
    )
    tools, choice = _tools(body)
    if tools and choice != "none":
        options = replace(options, tools=tools, tool_choice=choice)  # type: ignore[arg-type]
    wanted = body.response_format
    if wanted is None or wanted.type == "text":
        return options
    if wanted.type == "json_object":
        return replace(options, json_object=True)
    schema = wanted.json_schema.schema_ if wanted.json_schema else {}
    if not schema:
        raise bad_request(
            "response_format json_schema needs a schema under json_schema.schema.",
            param="response_format",
        )
    _check_schema(schema)
    return options.with_json_schema(schema)


def _check_schema(schema: dict[str, Any], param: str = "response_format") -> None:
    """400 naming the reason when ``schema`` is not a valid JSON Schema (draft 2020-12): the
    caller's mistake, found before the request waits for its turn."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        at = f" at {where}" if where else ""
        raise bad_request(
            f"{param}: the JSON schema is not valid{at}: {exc.message}", param
        ) from None


class _Reply:
    """The OpenAI shapes of one answer: a whole ``chat.completion`` or its chunks."""

    def __init__(
        self, body: ChatCompletionRequest, collections: list[str], ember_tools: bool = False
    ) -> None:
        self.body = body
        self.collections = collections
        self.ember_tools = ember_tools
        self.id = "chatcmpl-" + secrets.token_hex(12)
        self.created = int(time.time())

    def _base(self, kind: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.body.model,
            "system_fingerprint": None,
        }

    def _extras(self, answered: Answered) -> dict[str, Any]:
        if not self.collections and not self.ember_tools:
            return {}
        ember: dict[str, Any] = {"abstained": answered.abstained, "collections": self.collections}
        if self.ember_tools:
            ember["steps"] = [step.summary() for step in answered.steps]
        return {"citations": [_citation(c) for c in answered.citations], "ember": ember}

    async def whole(self, run: Run, event: RunEvent | None, request: Request) -> dict[str, Any]:
        """The ``chat.completion`` object, read from ``run`` (``event`` first)."""
        pieces: list[str] = []
        thinking: list[str] = []
        while isinstance(event, Token | Thinking | ToolCall):
            if isinstance(event, Token):
                pieces.append(event.text)
            elif isinstance(event, Thinking):
                thinking.append(event.text)
            event = await run.next(request)
        assert isinstance(event, Answered), "a run ends with Answered"
        if event.finished.reason == "cancelled":
            raise _stopped()
        extras = self._extras(event)
        finished = event.finished
        message: dict[str, Any] = {"role": "assistant", "content": finished.text or "".join(pieces)}
        if finished.tool_calls:
            message["content"] = message["content"] or None
            message["tool_calls"] = [_tool_call(call) for call in finished.tool_calls]
        if finished.thinking or thinking:
            message["reasoning_content"] = finished.thinking or "".join(thinking)
        return {
            **self._base("chat.completion"),
            "choices": [
                {
                    "index": 0,
                    "message": {**message, **extras},
                    "finish_reason": _finish_reason(event),
                    "logprobs": None,
                }
            ],
            "usage": _usage(event),
            **extras,
        }

    async def chunks(self, run: Run, event: RunEvent | None) -> AsyncIterator[bytes]:
        """The SSE events of a streamed answer, read from ``run`` (``event`` first)."""
        yield self._chunk({"role": "assistant", "content": ""})
        calls = 0
        try:
            while isinstance(event, Token | Thinking | ToolCall):
                if isinstance(event, Token):
                    yield self._chunk({"content": event.text})
                elif isinstance(event, Thinking):
                    yield self._chunk({"reasoning_content": event.text})
                else:
                    yield self._chunk({"tool_calls": [{"index": calls, **_tool_call(event)}]})
                    calls += 1
                event = await run.next()
            assert isinstance(event, Answered), "a run ends with Answered"
            if event.finished.reason == "cancelled":
                raise _stopped()
        except EmberError as exc:
            yield _sse(from_domain(exc).body())
            return
        except ApiError as exc:
            yield _sse(exc.body())
            return
        except Exception:  # a bug: logged, and the stream still ends with an error event
            log.exception("an answer failed while streaming")
            yield _sse(internal_error().body())
            return
        extras = self._extras(event)
        usage = _usage(event)
        yield self._chunk({}, _finish_reason(event), usage=usage, **extras)
        options = self.body.stream_options
        if options is not None and options.include_usage:
            yield _sse({**self._base("chat.completion.chunk"), "choices": [], "usage": usage})
        yield b"data: [DONE]\n\n"

    def _chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return _sse({**self._base("chat.completion.chunk"), "choices": [choice], **extra})


def _stopped() -> ApiError:
    """503 for an answer cancelled while its client still listens: the server is stopping
    (a client that left cancels its own, and reads nothing more)."""
    return ApiError(
        503,
        "The answer was stopped before it finished: Ember's local API is stopping.",
        "server_error",
        "server_stopping",
    )


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False).encode("utf-8") + b"\n\n"


def _finish_reason(answered: Answered) -> str:
    reason = answered.finished.reason
    return reason if reason in ("length", "tool_calls") else "stop"


def _tool_call(call: ToolCall) -> dict[str, Any]:
    """A call in OpenAI's shape: its arguments as JSON text."""
    arguments = json.dumps(call.arguments, ensure_ascii=False)
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": arguments},
    }


def _usage(answered: Answered) -> dict[str, int]:
    timings = answered.finished.timings
    prompt, completion = timings.prompt_tokens, timings.completion_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _citation(c: Citation) -> dict[str, Any]:
    """One source as the API shows it: ``file`` the file's name, ``source`` its path as
    ``ember ask --json`` shows it, ``score`` the question's cosine similarity to it."""
    return {
        "n": c.n,
        "file": shown_path(Path(c.source).name),
        "source": shown_path(c.source),
        "page": c.page,
        "page_label": c.page_label,
        "page_text": c.page_text(),  # "p. 150 (178 of 261)", "slide 7", 'sheet "Q3", row 14'
        "heading": c.heading,
        "snippet": c.snippet,
        "score": c.similarity,
    }


class _EventStream(StreamingResponse):
    """Server-Sent Events that cancel their run when the client goes away: the disconnect is
    heard even while no token is being sent (waiting for a turn), and any end of the response
    (done, failed, the client gone) sets the token."""

    def __init__(self, content: AsyncIterator[bytes], cancel: CancelToken) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._cancel = cancel

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    self._cancel.cancel()
                    return

        watcher = asyncio.ensure_future(watch())
        try:
            await self.stream_response(send)
        except OSError:
            pass  # the client left mid-send (uvicorn's ClientDisconnected)
        finally:
            self._cancel.cancel()
            watcher.cancel()
            close = getattr(self.body_iterator, "aclose", None)
            if close is not None:
                await close()
