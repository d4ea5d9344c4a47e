"""The Ollama backend through the official client, against a server speaking Ollama's protocol."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import ollama as ollama_client
import pytest
from tests.support.ollama_server import Failure, OllamaTestServer

from ember.cancel import CancelToken
from ember.engines import (
    ChatMessage,
    EngineSpec,
    Finished,
    GenerationOptions,
    Token,
    complete,
    create_engine,
    ollama,
)
from ember.errors import EngineUnavailable, ModelNotFound

GREEDY = GenerationOptions(temperature=0.0, seed=42, max_tokens=24)
QUESTION = [ChatMessage("user", "Name three colours.")]


@pytest.fixture(scope="module")
def server(model_path: Path) -> Iterator[OllamaTestServer]:
    with OllamaTestServer(model_path) as running:
        yield running


@pytest.fixture(autouse=True)
def well_behaved(server: OllamaTestServer) -> Iterator[None]:
    server.failure = None
    server.stall_pull_after = None
    yield
    server.failure = None
    server.stall_pull_after = None


@pytest.fixture
def engine(server: OllamaTestServer) -> Iterator[ollama.OllamaEngine]:
    loaded = ollama.load(EngineSpec("ollama", server.model_name, host=server.url, timeout_s=10))
    yield loaded
    loaded.close()


def a_closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_the_test_server_satisfies_the_official_client(server: OllamaTestServer) -> None:
    with ollama_client.Client(host=server.url) as client:
        reply = client.chat(
            model=server.model_name,
            messages=[{"role": "user", "content": "Hi"}],
            options={"temperature": 0, "seed": 1, "num_predict": 8},
        )
    assert reply.done and reply.message.content


def test_is_reachable_is_true_for_a_running_server(server: OllamaTestServer) -> None:
    assert ollama.is_reachable(server.url)


def test_is_reachable_is_false_when_nothing_listens() -> None:
    assert not ollama.is_reachable(a_closed_port())


def test_list_models_names_what_the_server_has(server: OllamaTestServer) -> None:
    models = ollama.list_models(server.url)
    assert [m.name for m in models] == [server.model_name]
    assert models[0].quantization == "Q4_1" and models[0].size_bytes > 0


def test_show_reports_the_context_length(server: OllamaTestServer) -> None:
    info = ollama.show(server.url, server.model_name)
    assert info.n_ctx_train == 8192
    assert info.family == "llama" and "completion" in info.capabilities


def test_show_of_a_missing_model_says_how_to_pull_it(server: OllamaTestServer) -> None:
    with pytest.raises(ModelNotFound, match="`ember models pull nosuch:7b`"):
        ollama.show(server.url, "nosuch:7b")


def test_pull_reports_progress_then_the_model_is_listed(server: OllamaTestServer) -> None:
    progress = list(ollama.pull(server.url, "tinyllama:latest"))
    assert progress[0].status == "pulling manifest"
    sized = [p for p in progress if p.total]
    assert sized and sized[-1].completed == sized[-1].total
    assert progress[-1].status == "success"
    assert "tinyllama:latest" in [m.name for m in ollama.list_models(server.url)]


def test_pulling_an_unknown_model_is_an_error(server: OllamaTestServer) -> None:
    with pytest.raises(ModelNotFound, match="nonexistent"):
        list(ollama.pull(server.url, "nonexistent:1b"))


def test_pull_stops_when_cancelled(server: OllamaTestServer) -> None:
    cancel = CancelToken()
    seen = []
    for progress in ollama.pull(server.url, "tinyllama:latest", cancel):
        seen.append(progress)
        cancel.cancel()
    assert len(seen) == 1


def test_a_cancelled_pull_returns_at_once_even_when_the_server_has_gone_quiet(
    server: OllamaTestServer,
) -> None:
    server.stall_pull_after = 1
    server.pullable["stalled:latest"] = 1024 * 1024
    cancel = CancelToken()
    pulling = ollama.pull(server.url, "stalled:latest", cancel, timeout_s=60)
    first = next(pulling)
    assert first.status == "pulling manifest"
    threading.Timer(0.3, cancel.cancel).start()
    started = time.monotonic()
    rest = [progress.status for progress in pulling]  # ends without an error: cancelled
    assert time.monotonic() - started < 10  # not the 60 s read timeout
    assert len(rest) == 1 and rest[0].startswith("pulling ")  # the one line before the stall
    assert "stalled:latest" not in server.models


def test_create_engine_picks_the_ollama_backend(server: OllamaTestServer) -> None:
    loaded = create_engine(EngineSpec("ollama", server.model_name, host=server.url))
    try:
        assert isinstance(loaded, ollama.OllamaEngine)
        assert loaded.backend == "ollama" and loaded.n_ctx == 4096
        assert loaded.is_remote is False
    finally:
        loaded.close()


def test_loading_a_missing_model_names_the_pull_command(server: OllamaTestServer) -> None:
    with pytest.raises(ModelNotFound, match="`ember models pull llama9:70b`"):
        ollama.load(EngineSpec("ollama", "llama9:70b", host=server.url))


def test_loading_with_no_server_says_to_start_ollama() -> None:
    host = a_closed_port()
    with pytest.raises(EngineUnavailable, match=f"not answering at {host}.*`ollama serve`"):
        ollama.load(EngineSpec("ollama", "smollm2:135m", host=host))


def test_a_stream_is_tokens_then_finished(engine: ollama.OllamaEngine) -> None:
    *tokens, last = list(engine.stream_chat(QUESTION, GREEDY))
    assert tokens and all(isinstance(t, Token) for t in tokens)
    assert isinstance(last, Finished) and last.reason in ("stop", "length")
    assert last.text == "".join(t.text for t in tokens)
    assert last.timings.completion_tokens == len(tokens)


def test_greedy_output_with_a_seed_is_the_same_twice(engine: ollama.OllamaEngine) -> None:
    assert complete(engine, QUESTION, GREEDY).text == complete(engine, QUESTION, GREEDY).text


def test_options_reach_the_server_under_ollamas_names(
    engine: ollama.OllamaEngine, server: OllamaTestServer
) -> None:
    options = GenerationOptions(
        temperature=0.3, top_p=0.5, max_tokens=7, seed=9, stop=("\n",), repeat_penalty=1.2
    )
    complete(engine, QUESTION, options)
    sent = [body for method, path, body in server.requests if path == "/api/chat"][-1]["options"]
    assert sent == {
        "temperature": 0.3,
        "top_p": 0.5,
        "repeat_penalty": 1.2,
        "num_predict": 7,
        "seed": 9,
        "stop": ["\n"],
        "num_ctx": 4096,
    }


def test_max_tokens_finishes_with_length(engine: ollama.OllamaEngine) -> None:
    options = GenerationOptions(temperature=0.0, seed=1, max_tokens=4)
    reply = complete(engine, [ChatMessage("user", "Write a long essay about rivers.")], options)
    assert reply.finished.reason == "length"


def test_cancelling_closes_the_stream_and_keeps_the_partial_text(
    engine: ollama.OllamaEngine,
) -> None:
    cancel = CancelToken()
    tokens: list[str] = []
    options = GenerationOptions(temperature=0.8, seed=3, max_tokens=1000)
    started = time.perf_counter()
    finished = None
    for event in engine.stream_chat([ChatMessage("user", "Tell a long story.")], options, cancel):
        if isinstance(event, Token):
            tokens.append(event.text)
            if len(tokens) == 3:
                threading.Thread(target=cancel.cancel).start()
        else:
            finished = event
    assert finished is not None and finished.reason == "cancelled"
    assert finished.text == "".join(tokens) and len(tokens) >= 3
    assert time.perf_counter() - started < 10


def test_a_server_killed_mid_stream_keeps_the_partial_answer(
    engine: ollama.OllamaEngine, server: OllamaTestServer
) -> None:
    server.failure = Failure("die", after_tokens=4)
    streamed: list[str] = []
    with pytest.raises(EngineUnavailable, match=r"closed the connection|ended the answer") as err:
        for event in engine.stream_chat(QUESTION, GREEDY):
            if isinstance(event, Token):
                streamed.append(event.text)
    assert len(streamed) == 4
    assert err.value.partial_text == "".join(streamed)


def test_a_garbage_line_is_a_malformed_reply(
    engine: ollama.OllamaEngine, server: OllamaTestServer
) -> None:
    server.failure = Failure("garbage", after_tokens=2)
    with pytest.raises(EngineUnavailable, match="malformed reply") as err:
        complete(engine, QUESTION, GREEDY)
    assert err.value.partial_text


def test_an_oversized_line_is_abandoned(
    engine: ollama.OllamaEngine, server: OllamaTestServer
) -> None:
    server.failure = Failure("oversized", after_tokens=2)
    with pytest.raises(EngineUnavailable, match="longer than") as err:
        complete(engine, QUESTION, GREEDY)
    assert err.value.partial_text


def test_a_hung_server_times_out_with_the_partial_answer(
    server: OllamaTestServer,
) -> None:
    server.failure = Failure("hang", after_tokens=2)
    slow = ollama.load(EngineSpec("ollama", server.model_name, host=server.url, timeout_s=3.0))
    started = time.perf_counter()
    try:
        with pytest.raises(EngineUnavailable, match="stopped answering") as err:
            complete(slow, QUESTION, GREEDY)
    finally:
        slow.close()
    assert time.perf_counter() - started < 15
    assert err.value.partial_text


def test_a_server_that_stops_between_requests_is_unavailable(model_path: Path) -> None:
    with OllamaTestServer(model_path) as short_lived:
        loaded = ollama.load(EngineSpec("ollama", short_lived.model_name, host=short_lived.url))
    with pytest.raises(EngineUnavailable, match="not answering"):
        complete(loaded, QUESTION, GREEDY)


def test_a_remote_host_is_flagged_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    from ember.engines.http import warn_if_remote

    with caplog.at_level(logging.WARNING, logger="ember.engines"):
        assert warn_if_remote("http://192.168.1.20:11434", "The Ollama server") is True
    assert "is not on this computer" in caplog.text


def test_token_counts_are_a_generous_estimate(engine: ollama.OllamaEngine) -> None:
    text = "Ember keeps your documents on your own computer."
    assert engine.count_tokens(text) >= len(text.split())
    assert engine.count_tokens("") == 0
