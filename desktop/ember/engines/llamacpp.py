"""The in-process llama.cpp backend (llama-cpp-python), used for the embedded model and user GGUFs.

Every file passes :func:`ember.engines.gguf.inspect_gguf` before llama.cpp opens it. The chat
template is the GGUF's own, rendered by llama-cpp-python's ``Jinja2ChatFormatter`` in an
``ImmutableSandboxedEnvironment`` (a template once ran arbitrary code: CVE-2024-34359); we build
that formatter ourselves so no exact-match "guess" swaps in another format behind our back.

Tools (``options.tools``): a template with its own tool format gets them through the template
and the calls are parsed out of the stream; any other model decides in a grammar-constrained
JSON step first (:mod:`ember.engines.tool_calls`). A ``<think>`` block is split off as
:class:`~ember.engines.base.Thinking` (:mod:`ember.engines.thinking`).
"""

from __future__ import annotations

import functools
import json
import secrets
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.cancel import CancelToken
from ember.engines.base import (
    ChatMessage,
    FinishReason,
    GenerationOptions,
    StreamClock,
    StreamEvent,
    TemplateOverhead,
    ToolDefinition,
)
from ember.engines.fallback_template import fallback_for, template_note
from ember.engines.fallback_template import formatter as fallback_formatter
from ember.engines.gguf import GGUFInfo, inspect_gguf
from ember.engines.prompt_cache import PromptCache
from ember.engines.thinking import Piece, ThinkSplitter, opens_thinking
from ember.engines.tool_calls import (
    NativeCallFilter,
    calls_so_far,
    decide_messages,
    decide_schema,
    folded_messages,
    native_format,
    native_messages,
    native_tools,
    parse_decision,
)
from ember.errors import EngineUnavailable, ModelLoadError, ModelTooLarge
from ember.gguf_names import part_names

if TYPE_CHECKING:
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter
    from llama_cpp.llama_grammar import LlamaGrammar

    from ember.engines import EngineSpec
    from ember.hardware import Hardware

BACKEND = "llama.cpp"
DECIDE_MAX_TOKENS = 256  # the decide step's JSON: a tool name and its arguments


def chat_formatter(
    template: str, eos_token: str, bos_token: str, stop_token_ids: list[int] | None = None
) -> Jinja2ChatFormatter:
    """llama-cpp-python's sandboxed Jinja2 formatter for ``template`` (never render unsandboxed)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    return Jinja2ChatFormatter(
        template=template, eos_token=eos_token, bos_token=bos_token, stop_token_ids=stop_token_ids
    )


class LlamaCppEngine:
    """A GGUF loaded in this process. One generation at a time (the ``Llama`` is not reentrant)."""

    backend = BACKEND
    is_remote = False  # the model runs in this process
    load_notes: tuple[str, ...] = ()  # what a person should know about the load (set by load)
    structured_output = True  # JSON answers through a llama.cpp grammar

    def __init__(self, llama: Llama, info: GGUFInfo, model_name: str) -> None:
        self._llama = llama
        self.info = info
        self.model_name = model_name
        self.n_ctx = int(llama.n_ctx())
        eos_id, bos_id = llama.token_eos(), llama.token_bos()
        eos = llama._model.token_get_text(eos_id) if eos_id != -1 else ""
        bos = llama._model.token_get_text(bos_id) if bos_id != -1 else ""
        # Stop on the end-of-generation id too, as llama-cpp-python's own GGUF handler does.
        stop_ids = [eos_id] if eos_id != -1 else None
        if info.chat_template:
            self.template_source = "gguf"
            self.formatter = chat_formatter(info.chat_template, eos, bos, stop_ids)
        else:  # the architecture's own format, stopping on its turn markers even as text
            fallback = fallback_for(info)
            self.template_source = f"fallback-{fallback.name}"
            self.formatter = fallback_formatter(fallback, eos, bos, stop_ids)
        llama.chat_handler = self.formatter.to_chat_handler()
        # The template's own tool-call format; None: tools go through grammar mode.
        self.tool_format = native_format(info.chat_template)
        self.special_tokens: tuple[str, ...] = info.special_tokens
        self._lock = threading.Lock()  # one generation at a time
        self._tokenizer_lock = threading.Lock()
        self._closed = False
        self._count = functools.lru_cache(maxsize=4096)(self._count_uncached)
        # Other conversations' KV caches, so switching chats does not evaluate a history again.
        self.prompt_cache = PromptCache(llama)
        self.template_overhead = self._measure_overhead()

    # -- Engine protocol -------------------------------------------------------------------------

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[StreamEvent]:
        """Stream the model's answer; see :class:`ember.engines.base.Engine`."""
        options = options or GenerationOptions()
        clock = StreamClock()
        with self._lock:
            if self._closed:
                raise EngineUnavailable(f"{self.model_name} was closed; load it again.")
            reason, payload = yield from self._stream_locked(messages, options, cancel, clock)
        # Finished goes out after the lock is released: a caller that stops reading at
        # Finished (as ``complete`` does) must not keep the model locked.
        yield clock.finish(reason, self.model_name, self._prompt_tokens(payload))

    def _stream_locked(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions,
        cancel: CancelToken | None,
        clock: StreamClock,
    ) -> Generator[StreamEvent, None, tuple[FinishReason, list[dict[str, Any]]]]:
        """Tools in grammar mode (no native format): a decide step first, then either the
        call or a plain answer with the results folded in; see :mod:`ember.engines.tool_calls`."""
        tools = options.tools if options.tool_choice != "none" else ()
        first = calls_so_far(messages) + 1
        if messages and messages[-1].role == "tool":
            # llama.cpp's repeat penalty looks back over the prompt too (its last 64 tokens), so
            # it steers the answer away from the very result it should quote: at 1.1 the
            # embedded model answered "1234 * 5678 = 0" after a calculator result of 7006652.
            # With none at all, greedy, it wrote "The answer is 6." until max_tokens after a
            # denied call; 1.05 quotes 7006652 and ends that loop after one line.
            options = replace(options, repeat_penalty=min(options.repeat_penalty, 1.05))
            if not self.tool_format:
                # A model with no tool format of its own was never trained to report a tool's
                # result; sampled at the app's 0.7 the embedded model quoted the calculator's
                # 7006652 in 1 answer of 4 ("1234 * 5678 = 8292.48"), greedy in every one.
                options = replace(options, temperature=0.0)
        if not self.tool_format:
            if tools:
                decide = decide_messages(messages, tools, self.special_tokens)
                text, reason = self._collect(decide, options, tools, cancel, clock)
                if reason == "cancelled":
                    return "cancelled", decide
                call = parse_decision(text, first)
                if call is not None:
                    yield clock.call(call)
                    return "stop", decide
            payload: list[dict[str, Any]] = folded_messages(
                messages, hint=bool(tools), extra_tokens=self.special_tokens
            )
            tools = ()
        else:
            payload = native_messages(messages, self.special_tokens)
        reason = yield from self._stream_answer(payload, options, tools, cancel, clock, first)
        return reason, payload

    def _collect(
        self,
        payload: list[dict[str, Any]],
        options: GenerationOptions,
        tools: Sequence[ToolDefinition],
        cancel: CancelToken | None,
        clock: StreamClock,
    ) -> tuple[str, FinishReason]:
        """Run the decide step (grammar-constrained JSON, not streamed as tokens)."""
        # Not key-sorted: "tool" must come before "arguments" in the grammar.
        schema = json.dumps(decide_schema(tools, options.tool_choice))
        # Greedy and without a repeat penalty: a call's arguments are mostly copied from the
        # question, and sampling or the penalty made the embedded model garble or drop them
        # (an empty expression at the app's repeat_penalty 1.1).
        decide = replace(
            options, max_tokens=DECIDE_MAX_TOKENS, stop=(), temperature=0.0, repeat_penalty=1.0
        )
        pieces: list[str] = []
        generation = self._generate(payload, decide, _grammar(schema), None, cancel, pieces)
        try:
            while True:
                next(generation)
        except StopIteration as stop:
            reason: FinishReason = stop.value
        clock.note(len(pieces))
        return "".join(pieces), reason

    def _stream_answer(
        self,
        payload: list[dict[str, Any]],
        options: GenerationOptions,
        tools: Sequence[ToolDefinition],
        cancel: CancelToken | None,
        clock: StreamClock,
        first_call: int,
    ) -> Generator[StreamEvent, None, FinishReason]:
        """Stream an answer: thinking split off, native call markup parsed into calls."""
        wire = native_tools(tools, self.special_tokens)
        try:
            # A grammar makes the answer JSON from its first token: nothing to think in, even
            # where the template opens a thinking block (the JSON is the answer).
            inside = not options.structured and opens_thinking(self._render(payload, wire))
        except Exception:  # the generation below reports a failing template
            inside = False
        splitter = ThinkSplitter(inside=inside)
        calls = (
            NativeCallFilter(self.tool_format, first_call, {t.name for t in tools})
            if wire and self.tool_format
            else None
        )

        def events(pieces: list[Piece]) -> Iterator[StreamEvent]:
            for kind, piece in pieces:
                if kind == "thinking":
                    yield clock.thought(piece)
                    continue
                text = calls.feed(piece) if calls is not None else piece
                if text:
                    yield clock.token(text, count=0)

        pieces: list[str] = []
        generation = self._generate(payload, options, self._grammar(options), wire, cancel, pieces)
        try:
            while True:
                next(generation)
                clock.note()
                yield from events(splitter.feed(pieces[-1]))
        except StopIteration as stop:
            reason: FinishReason = stop.value
        finally:
            generation.close()  # a caller that stops reading frees llama.cpp's stream now
        yield from events(splitter.flush())
        if calls is not None:
            text, found = calls.finish()
            if text:
                yield clock.token(text, count=0)
            for call in found:
                yield clock.call(call)
        return reason

    def _generate(
        self,
        payload: list[dict[str, Any]],
        options: GenerationOptions,
        grammar: LlamaGrammar | None,
        tools: list[dict[str, Any]] | None,
        cancel: CancelToken | None,
        pieces: list[str],
    ) -> Generator[None, None, FinishReason]:
        """Generate from ``payload``: appends each text piece to ``pieces`` and yields once per
        piece; returns the finish reason."""
        if options.seed is not None:
            # A fixed seed promises the same answer for the same messages. Reusing the KV cache
            # of the previous prompt evaluates the tail in a smaller batch, which changes the
            # floats enough to flip a greedy choice; so a seeded request starts clean. Unseeded
            # requests (the app's default) keep the prefix reuse that makes follow-ups fast.
            self.prompt_cache.stash()
            self._llama.reset()
            seed = options.seed
        else:
            self._reuse_prefix(payload, tools)
            seed = secrets.randbelow(2**31)
        reason = "length"
        chunks: Any = None
        try:
            chunks = self._llama.create_chat_completion(
                messages=payload,  # type: ignore[arg-type]
                tools=tools,  # type: ignore[arg-type]
                temperature=options.temperature,
                top_p=options.top_p,
                repeat_penalty=options.repeat_penalty,
                max_tokens=options.max_tokens,
                seed=seed,
                stop=list(options.stop),
                grammar=grammar,
                stream=True,
            )
            for chunk in chunks:
                if cancel is not None and cancel.cancelled:
                    reason = "cancelled"
                    break
                choice = chunk["choices"][0]
                text = choice["delta"].get("content")
                if text:
                    pieces.append(text)
                    yield
                if choice["finish_reason"] is not None:
                    reason = choice["finish_reason"]
            else:
                if cancel is not None and cancel.cancelled:
                    reason = "cancelled"
        except Exception as exc:
            # Translate what the model or its template can cause; anything else is our bug.
            if isinstance(exc, ValueError | RuntimeError) or type(exc).__module__.startswith(
                "jinja2"
            ):
                raise EngineUnavailable(
                    f"llama.cpp stopped generating with {self.model_name}: {exc}", "".join(pieces)
                ) from None
            raise
        finally:
            if chunks is not None:
                chunks.close()  # frees llama.cpp's generator now, not at garbage collection
        return "cancelled" if reason == "cancelled" else ("stop" if reason == "stop" else "length")

    def _reuse_prefix(
        self, payload: list[dict[str, Any]], tools: list[dict[str, Any]] | None
    ) -> None:
        """Tokenize the prompt as llama-cpp-python's chat handler will, and let the prompt cache
        load the saved state that shares most of it (another chat's, after a switch)."""
        try:
            result = self.formatter(messages=payload, tools=tools)  # type: ignore[arg-type]
            tokens = self._llama.tokenize(
                result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
            )
        except Exception:  # the generation reports a failing template itself
            return
        self.prompt_cache.prepare(tokens)

    def count_tokens(self, text: str) -> int:
        """Exact token count with the model's own tokenizer (special tokens parsed, as in prompts)."""
        return self._count(text)

    def close(self) -> None:
        """Free the model; waits for a running generation to end (cancel it first)."""
        with self._lock, self._tokenizer_lock:
            if not self._closed:
                self._closed = True
                self.prompt_cache.clear()
                self._llama.close()

    # -- helpers ---------------------------------------------------------------------------------

    def _grammar(self, options: GenerationOptions) -> LlamaGrammar | None:
        """The grammar that keeps the answer to ``options``' JSON (None: free text). Raises
        :class:`EngineUnavailable` for a schema llama.cpp cannot turn into a grammar."""
        if not options.structured:
            return None
        try:
            return _grammar(options.json_schema)
        except Exception as exc:  # llama.cpp's converter raises ValueError, KeyError, ...
            raise EngineUnavailable(
                f"llama.cpp cannot follow this JSON schema: {exc or type(exc).__name__}"
            ) from None

    def _count_uncached(self, text: str) -> int:
        if not text:
            return 0
        # Tokenizing only reads the vocabulary, so it may run beside a generation; the lock
        # only keeps it from racing close(), which frees that vocabulary.
        with self._tokenizer_lock:
            if self._closed:
                raise EngineUnavailable(f"{self.model_name} was closed; load it again.")
            tokens = self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        return len(tokens)

    def _render(
        self, payload: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> str:
        return self.formatter(messages=payload, tools=tools).prompt  # type: ignore[arg-type]

    def _prompt_tokens(self, payload: list[dict[str, Any]]) -> int:
        """Tokens of the rendered prompt; computed after streaming so it never delays a token."""
        try:
            return self._count(self._render(payload))
        except Exception:  # a failing template fails the stream first; a closed model says so
            return 0

    def _measure_overhead(self) -> TemplateOverhead:
        """Template tokens per message and once per prompt, measured by rendering this model's
        own template (role markers, generation prompt); the generous default if it fails."""
        default = TemplateOverhead()
        one_msg = [{"role": "user", "content": "x"}]
        two_msgs = [*one_msg, {"role": "assistant", "content": "x"}]
        try:
            one = self._count(self._render(one_msg))
            two = self._count(self._render(two_msgs))
        except Exception:
            return default
        content = self._count("x")
        # A token of margin each: BPE merges across a role boundary can differ by one.
        per_message = max(4, two - one - content + 1)
        per_prompt = max(default.per_prompt, one - content - per_message + 2)
        return TemplateOverhead(per_message, per_prompt)


# Any JSON object. Through the schema converter, not llama.cpp's JSON_GBNF: the converter's
# whitespace is one optional space, where JSON_GBNF lets a small model emit blanks forever.
ANY_OBJECT_SCHEMA = '{"type":"object"}'


@functools.lru_cache(maxsize=32)
def _grammar(json_schema: str | None) -> LlamaGrammar:
    """A grammar for ``json_schema`` (JSON text), or for any JSON object without one; cached, as
    converting a schema takes milliseconds and clients send the same one again and again (a
    grammar holds only its text: the sampler state is made per generation)."""
    from llama_cpp.llama_grammar import LlamaGrammar

    return LlamaGrammar.from_json_schema(json_schema or ANY_OBJECT_SCHEMA, verbose=False)


@functools.cache
def _close_llama_cpp_devnull_at_exit() -> None:
    """llama-cpp-python opens /dev/null twice on import (to silence native logs) and never closes
    it, so every Ember process that loaded a model ended with a ResourceWarning."""
    import atexit

    def close() -> None:
        from llama_cpp import _utils

        for name in ("outnull_file", "errnull_file"):
            handle = getattr(_utils, name, None)
            if handle is not None and not handle.closed:
                handle.close()

    atexit.register(close)


_GGML_LOG_ERROR = 4  # ggml's levels now: 0 none, 1 debug, 2 info, 3 warn, 4 error, 5 continued


@functools.cache
def _quiet_llama_cpp_logs() -> None:
    """Keep llama.cpp's warnings off the terminal; its errors go to Python logging.

    llama-cpp-python's own log callback (``verbose=False``) still maps ggml's levels as they
    were numbered before (it takes 3, now WARN, for ERROR), so warnings such as Gemma 3's
    "llama_kv_cache_iswa: using full-size SWA cache" reached stderr on every load. This
    callback replaces it for the process (kept referenced: llama.cpp holds only the pointer)."""
    import ctypes
    import logging

    import llama_cpp

    log = logging.getLogger("ember.llama_cpp")

    @llama_cpp.llama_log_callback
    def on_log(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
        if level == _GGML_LOG_ERROR:
            log.warning("%s", text.decode("utf-8", "replace").rstrip())

    llama_cpp.llama_log_set(on_log, ctypes.c_void_p(0))
    _quiet_llama_cpp_logs.callback = on_log  # type: ignore[attr-defined]


# The engine class this module loads: what it can do, asked before loading a model.
ENGINE = LlamaCppEngine


def load(spec: EngineSpec) -> LlamaCppEngine:
    """Check the GGUF header, plan the load against this machine's memory, then load it in
    llama.cpp; any failure is a :class:`ModelLoadError`.

    The context and GPU layers come from :func:`ember.engines.fit.plan_load`: a context that
    does not fit is lowered (not below 1024 tokens), ``n_gpu_layers`` "auto" offloads what the
    GPU holds, and a model that fits nowhere raises :class:`ModelTooLarge` before llama.cpp
    allocates anything. A load that fails on the GPU is retried on the CPU. What a person should
    know about it (a lowered context, a GPU fallback) is in the engine's ``load_notes``.
    """
    from ember.hardware import detect

    path = Path(spec.model).expanduser()
    info = _whole_model(inspect_gguf(path), path)
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelLoadError(
            f"llama-cpp-python is not installed ({exc}); run `make setup` or pick an Ollama model."
        ) from None
    _close_llama_cpp_devnull_at_exit()
    _quiet_llama_cpp_logs()
    gpu_layers = None if spec.n_gpu_layers == "auto" else int(spec.n_gpu_layers)

    def open_llama(n_gpu_layers: int, n_ctx: int) -> Llama:
        return llama_cpp.Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            # The threads setting governs prompt processing too: llama.cpp's default of every
            # core for batches stalls badly when another process is busy on one of them.
            n_threads=spec.n_threads or None,
            n_threads_batch=spec.n_threads or None,
            n_gpu_layers=n_gpu_layers,
            seed=llama_cpp.LLAMA_DEFAULT_SEED,
            verbose=False,
        )

    try:
        llama, notes = open_planned(open_llama, info, detect(), spec.n_ctx, gpu_layers)
    except ModelTooLarge:
        raise
    except Exception as exc:  # llama-cpp-python raises ValueError/RuntimeError/OSError variously
        raise ModelLoadError(
            f"llama.cpp could not load {path.name}: {exc}. The file may be damaged or use an "
            "architecture this llama.cpp build does not know; try another model."
        ) from None
    engine = LlamaCppEngine(llama, info, model_name=path.name)
    note = template_note(info, path.name)
    engine.load_notes = tuple(notes + ([note] if note else []))
    return engine


def _whole_model(info: GGUFInfo, path: Path) -> GGUFInfo:
    """``info`` with every part's tensors where ``path`` is the first part of a split GGUF
    (``-00001-of-0000N.gguf``; each part's header lists its own), so the memory plan counts the
    whole model. A missing part is left to llama.cpp, which names it."""
    names = part_names(path.name)
    if info.split_count <= 1 or not names or names[0] != path.name:
        return info
    tensors = list(info.tensors)
    for name in names[1:]:
        part = path.with_name(name)
        if part.is_file():
            tensors += inspect_gguf(part).tensors
    return replace(info, tensors=tuple(tensors))


def open_planned(
    open_llama: Callable[[int, int], Llama],
    info: GGUFInfo,
    hardware: Hardware,
    n_ctx: int,
    n_gpu_layers: int | None,
) -> tuple[Llama, list[str]]:
    """``open_llama(n_gpu_layers, n_ctx)`` as :func:`ember.engines.fit.plan_load` settles them
    for ``hardware`` (``n_ctx`` <= 0: pick; ``n_gpu_layers`` None: auto), and the notes a person
    should see. When the load fails with layers on a GPU (out of GPU memory, a driver error) it
    is planned again for the CPU alone, which must then hold every layer, and opened there, with
    a note. Raises :class:`ModelTooLarge` before anything is opened when a plan does not fit
    (the CPU's after a GPU failure says so too); a CPU load's own failure propagates."""
    from ember.engines.fit import plan_load

    plan = plan_load(info, hardware, n_ctx, n_gpu_layers)
    notes = list(plan.notes)
    if plan.n_gpu_layers == 0:
        return open_llama(0, plan.n_ctx), notes
    try:
        return open_llama(plan.n_gpu_layers, plan.n_ctx), notes
    except Exception as exc:  # the same variety of errors as any load
        failed = f"The GPU could not take the model ({exc})"
        try:
            on_cpu = plan_load(info, hardware, n_ctx, 0)
        except ModelTooLarge as too_large:
            raise ModelTooLarge(f"{failed}, and on the CPU alone: {too_large}") from None
        llama = open_llama(0, on_cpu.n_ctx)
        return llama, [*on_cpu.notes, f"{failed}; it runs on the CPU instead."]


def special_tokens(engine: LlamaCppEngine) -> tuple[str, ...]:
    """The model's control tokens (for :func:`ember.engines.sanitize.neutralize_special_tokens`)."""
    return engine.special_tokens


def gpu_offload_supported() -> bool:
    """Whether this llama.cpp build can put layers on a GPU (CUDA, Metal, Vulkan...)."""
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def backend_info() -> dict[str, object]:
    """What ``ember doctor`` shows about llama.cpp."""
    import llama_cpp

    system = llama_cpp.llama_print_system_info()
    return {
        "installed": True,
        "version": llama_cpp.__version__,
        "gpu_offload": gpu_offload_supported(),
        "system_info": system.decode("utf-8", "replace").strip()
        if isinstance(system, bytes)
        else str(system),
    }
