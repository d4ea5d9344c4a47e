"""The in-process llama.cpp engine, driven with the real embedded model."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import jinja2.exceptions
import llama_cpp
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tests.support.gguf_builder import GGUF

from ember.cancel import CancelToken
from ember.engines import (
    ChatMessage,
    EngineSpec,
    Finished,
    GenerationOptions,
    Token,
    complete,
    create_engine,
)
from ember.engines.gguf import inspect_gguf
from ember.engines.llamacpp import (
    LlamaCppEngine,
    backend_info,
    chat_formatter,
    gpu_offload_supported,
    load,
    special_tokens,
)
from ember.errors import EngineUnavailable, ModelLoadError

GREEDY = GenerationOptions(temperature=0.0, seed=42, max_tokens=24)
QUESTION = [ChatMessage("user", "Name three colours.")]


def test_create_engine_loads_the_embedded_model_on_llama_cpp(model_path: Path) -> None:
    loaded = create_engine(EngineSpec("llama.cpp", str(model_path), n_ctx=256))
    try:
        assert isinstance(loaded, LlamaCppEngine)
        assert (loaded.backend, loaded.model_name) == ("llama.cpp", model_path.name)
        assert loaded.n_ctx == 256
    finally:
        loaded.close()


def test_the_window_is_capped_at_the_models_training_context(model_path: Path) -> None:
    loaded = load(EngineSpec("llama.cpp", str(model_path), n_ctx=1_000_000))
    try:
        assert loaded.n_ctx == 8192
    finally:
        loaded.close()


def test_greedy_output_with_a_seed_is_the_same_twice(engine: LlamaCppEngine) -> None:
    first = complete(engine, QUESTION, GREEDY)
    second = complete(engine, QUESTION, GREEDY)
    assert first.text.strip()
    assert first.text == second.text


def test_a_stream_is_tokens_then_one_finished_with_their_text(engine: LlamaCppEngine) -> None:
    events = list(engine.stream_chat(QUESTION, GREEDY))
    *tokens, last = events
    assert tokens and all(isinstance(e, Token) for e in tokens)
    assert isinstance(last, Finished)
    assert last.text == "".join(t.text for t in tokens)
    assert last.model == engine.model_name
    assert last.timings.ttft_s is not None and 0 < last.timings.ttft_s <= last.timings.total_s
    assert last.timings.prompt_tokens > 0
    assert last.timings.completion_tokens == len(tokens)


def test_hitting_max_tokens_finishes_with_length(engine: LlamaCppEngine) -> None:
    options = GenerationOptions(temperature=0.0, seed=1, max_tokens=5)
    finished = complete(engine, [ChatMessage("user", "Write a long essay about rivers.")], options)
    assert finished.finished.reason == "length"
    assert finished.finished.timings.completion_tokens <= 5


def test_a_repeat_penalty_changes_what_greedy_decoding_picks(engine: LlamaCppEngine) -> None:
    # A list invites the tiny model to repeat its own words; penalising them must change the text.
    question = [ChatMessage("user", "List the days of the week, three times over.")]
    plain = GenerationOptions(temperature=0.0, seed=5, max_tokens=40)
    penalised = GenerationOptions(temperature=0.0, seed=5, max_tokens=40, repeat_penalty=1.5)
    assert complete(engine, question, plain).text != complete(engine, question, penalised).text


def test_a_stop_sequence_ends_the_answer_with_stop(engine: LlamaCppEngine) -> None:
    baseline = complete(engine, QUESTION, GREEDY).text
    stop_word = baseline.split()[1]
    options = GenerationOptions(temperature=0.0, seed=42, max_tokens=24, stop=(stop_word,))
    reply = complete(engine, QUESTION, options)
    assert reply.finished.reason == "stop"
    assert stop_word not in reply.text
    assert baseline.startswith(reply.text)


def test_cancelling_from_another_thread_stops_promptly_and_keeps_the_partial_text(
    engine: LlamaCppEngine,
) -> None:
    cancel = CancelToken()
    options = GenerationOptions(temperature=0.8, seed=3, max_tokens=1500)
    story = [ChatMessage("user", "Tell me a very long story about a lighthouse keeper.")]
    tokens: list[str] = []
    stopped_at: list[float] = []

    def cancel_after_some_tokens() -> None:
        while len(tokens) < 5:
            time.sleep(0.01)
        stopped_at.append(time.perf_counter())
        cancel.cancel()

    threading.Thread(target=cancel_after_some_tokens, daemon=True).start()
    finished = None
    for event in engine.stream_chat(story, options, cancel):
        if isinstance(event, Token):
            tokens.append(event.text)
        else:
            finished = event
    assert finished is not None and finished.reason == "cancelled"
    assert time.perf_counter() - stopped_at[0] < 1.0
    assert finished.text == "".join(tokens) and len(tokens) >= 5


def test_a_prompt_beyond_the_window_is_an_error_not_a_crash(
    small_engine: LlamaCppEngine,
) -> None:
    # Engines do not fit (the caller does, once): an over-long prompt is refused, clearly.
    pasted = "The quick brown fox jumps over the lazy dog. " * 400 + "What animal jumps?"
    options = GenerationOptions(temperature=0.0, seed=7, max_tokens=16)
    with pytest.raises(EngineUnavailable, match="exceed context window"):
        complete(small_engine, [ChatMessage("user", pasted)], options)
    reply = complete(small_engine, [ChatMessage("user", "What animal jumps?")], options)
    assert reply.finished.reason in ("stop", "length")  # the engine is fine afterwards


def test_the_template_overhead_is_measured_on_the_models_own_template(
    engine: LlamaCppEngine,
) -> None:
    overhead = engine.template_overhead
    one = [{"role": "user", "content": "hello"}]
    two = [*one, {"role": "assistant", "content": "hi"}]
    rendered_one = engine.count_tokens(engine.formatter(messages=one).prompt)
    rendered_two = engine.count_tokens(engine.formatter(messages=two).prompt)
    assert rendered_one <= engine.count_tokens("hello") + overhead.of(1)
    assert rendered_two <= engine.count_tokens("hello") + engine.count_tokens("hi") + overhead.of(2)
    assert overhead.per_message < 16  # measured, not a blanket allowance
    assert engine.is_remote is False


def test_count_tokens_uses_the_models_tokenizer_with_special_tokens(
    engine: LlamaCppEngine,
) -> None:
    assert engine.count_tokens("") == 0
    assert engine.count_tokens("<|im_start|>") == 1
    text = "Ember keeps your documents on your own computer."
    assert engine.count_tokens(text) == len(engine._llama.tokenize(text.encode(), add_bos=False))


def test_the_chat_template_is_the_ggufs_own(engine: LlamaCppEngine, model_path: Path) -> None:
    assert engine.template_source == "gguf"
    assert engine.formatter.template == inspect_gguf(model_path).chat_template
    prompt = engine.formatter(messages=[{"role": "user", "content": "hi"}]).prompt
    assert prompt.endswith("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")


def test_the_chat_template_renders_in_a_sandbox(engine: LlamaCppEngine) -> None:
    assert isinstance(engine.formatter._environment.environment, ImmutableSandboxedEnvironment)


def test_a_malicious_template_cannot_reach_python_internals() -> None:
    # The CVE-2024-34359 payload shape: walk from a string to os via __subclasses__.
    evil = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    formatter = chat_formatter(evil, eos_token="</s>", bos_token="<s>")
    with pytest.raises(jinja2.exceptions.SecurityError):
        formatter(messages=[{"role": "user", "content": "hi"}])


def test_special_tokens_come_from_the_vocabulary(engine: LlamaCppEngine) -> None:
    assert {"<|im_start|>", "<|im_end|>"} <= set(special_tokens(engine))


def test_a_closed_engine_refuses_to_generate(model_path: Path) -> None:
    loaded = load(EngineSpec("llama.cpp", str(model_path), n_ctx=256))
    loaded.close()
    with pytest.raises(EngineUnavailable, match=r"was closed"):
        complete(loaded, QUESTION, GREEDY)
    with pytest.raises(EngineUnavailable, match=r"was closed"):
        loaded.count_tokens("never counted before")


def test_finishing_a_reply_releases_the_model_for_the_next_one(engine: LlamaCppEngine) -> None:
    stream = engine.stream_chat(QUESTION, GREEDY)
    for event in stream:
        if isinstance(event, Finished):
            break  # the stream is not exhausted, and not yet garbage
    assert engine._lock.acquire(timeout=0)
    engine._lock.release()
    stream.close()


def test_two_threads_generate_one_after_the_other(engine: LlamaCppEngine) -> None:
    expected = complete(engine, QUESTION, GREEDY).text
    results: list[str] = []
    workers = [
        threading.Thread(target=lambda: results.append(complete(engine, QUESTION, GREEDY).text))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert results == [expected, expected]


@pytest.fixture
def llama_spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every path handed to llama_cpp.Llama, to prove a file never reached native code."""
    seen: list[str] = []
    real = llama_cpp.Llama

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(str(kwargs.get("model_path", args[0] if args else "")))
        return real(*args, **kwargs)

    monkeypatch.setattr(llama_cpp, "Llama", spy)
    return seen


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"not a model at all", "bad magic"),
        (GGUF(version=99).to_bytes(), "GGUF version 99"),
        (GGUF(tensor_count=1 << 60).to_bytes(), "tensors, more than the file can hold"),
        (GGUF(kv_count=1 << 40).to_bytes(), "metadata entries"),
    ],
)
def test_bad_files_are_refused_before_llama_cpp_sees_them(
    tmp_path: Path, llama_spy: list[str], content: bytes, message: str
) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(content)
    with pytest.raises(ModelLoadError, match=message):
        load(EngineSpec("llama.cpp", str(path)))
    assert llama_spy == []


def test_a_truncated_copy_of_the_real_model_never_reaches_llama_cpp(
    tmp_path: Path, model_path: Path, llama_spy: list[str]
) -> None:
    path = tmp_path / "half.gguf"
    with model_path.open("rb") as handle:
        path.write_bytes(handle.read(model_path.stat().st_size // 2))
    with pytest.raises(ModelLoadError, match=r"is truncated"):
        load(EngineSpec("llama.cpp", str(path)))
    assert llama_spy == []


def test_a_well_formed_file_llama_cpp_rejects_is_a_load_error_not_a_crash(
    tmp_path: Path, llama_spy: list[str]
) -> None:
    path = tmp_path / "hollow.gguf"
    path.write_bytes(GGUF().to_bytes())  # valid header, but no llama hyper-parameters
    with pytest.raises(ModelLoadError, match=r"llama.cpp could not load hollow.gguf"):
        load(EngineSpec("llama.cpp", str(path)))
    assert llama_spy == [str(path)]


def test_backend_info_reports_version_and_gpu_offload() -> None:
    info = backend_info()
    assert info["version"] == llama_cpp.__version__
    assert info["gpu_offload"] is gpu_offload_supported()
    assert isinstance(info["system_info"], str) and info["system_info"]
