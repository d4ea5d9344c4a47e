"""The OpenAI-compatible backend against llama-cpp-python's real server."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.openai_server import LlamaCppServer, free_port

from ember.cancel import CancelToken
from ember.engines import (
    ChatMessage,
    EngineSpec,
    Finished,
    GenerationOptions,
    Token,
    complete,
    create_engine,
    remote,
)
from ember.errors import EngineUnavailable, ModelNotFound

GREEDY = GenerationOptions(temperature=0.0, seed=42, max_tokens=24)
QUESTION = [ChatMessage("user", "Name three colours.")]
KEY = "test-key-123"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(model_path: Path) -> Iterator[LlamaCppServer]:
    with LlamaCppServer(model_path, api_key=KEY) as running:
        yield running


@pytest.fixture
def engine(server: LlamaCppServer) -> Iterator[remote.RemoteEngine]:
    loaded = remote.load(
        EngineSpec("openai", server.alias, host=server.base_url, api_key=KEY, timeout_s=30)
    )
    yield loaded
    loaded.close()


def test_list_models_names_the_served_alias(server: LlamaCppServer) -> None:
    assert remote.list_models(server.base_url, api_key=KEY) == [server.alias]


def test_create_engine_picks_the_openai_backend(server: LlamaCppServer) -> None:
    loaded = create_engine(
        EngineSpec("openai", server.alias, host=server.base_url + "/", api_key=KEY)
    )
    try:
        assert isinstance(loaded, remote.RemoteEngine)
        assert loaded.host == server.base_url and loaded.is_remote is False
    finally:
        loaded.close()


def test_a_stream_is_tokens_then_finished(engine: remote.RemoteEngine) -> None:
    *tokens, last = list(engine.stream_chat(QUESTION, GREEDY))
    assert tokens and all(isinstance(t, Token) for t in tokens)
    assert isinstance(last, Finished) and last.reason in ("stop", "length")
    assert last.text == "".join(t.text for t in tokens) and last.text.strip()


def test_greedy_output_with_a_seed_is_the_same_twice(engine: remote.RemoteEngine) -> None:
    assert complete(engine, QUESTION, GREEDY).text == complete(engine, QUESTION, GREEDY).text


def test_max_tokens_finishes_with_length(engine: remote.RemoteEngine) -> None:
    options = GenerationOptions(temperature=0.0, seed=1, max_tokens=4)
    reply = complete(engine, [ChatMessage("user", "Write a long essay about rivers.")], options)
    assert reply.finished.reason == "length"


def test_cancelling_keeps_the_partial_text(engine: remote.RemoteEngine) -> None:
    cancel = CancelToken()
    tokens: list[str] = []
    options = GenerationOptions(temperature=0.8, seed=3, max_tokens=300)
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


def test_a_wrong_api_key_is_named(server: LlamaCppServer) -> None:
    with pytest.raises(EngineUnavailable, match="refused the API key"):
        remote.load(EngineSpec("openai", server.alias, host=server.base_url, api_key="wrong"))


def test_a_model_the_server_does_not_serve_is_not_found(server: LlamaCppServer) -> None:
    with pytest.raises(ModelNotFound, match="it offers: smollm2"):
        remote.load(EngineSpec("openai", "gpt-9", host=server.base_url, api_key=KEY))


def test_a_server_that_is_down_is_unavailable() -> None:
    base = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(EngineUnavailable, match="is not answering"):
        remote.load(EngineSpec("openai", "smollm2", host=base))


def test_a_server_killed_mid_stream_keeps_the_partial_answer(model_path: Path) -> None:
    with LlamaCppServer(model_path) as doomed:
        loaded = remote.load(EngineSpec("openai", doomed.alias, host=doomed.base_url))
        streamed: list[str] = []
        options = GenerationOptions(temperature=0.8, seed=5, max_tokens=400)
        with pytest.raises(EngineUnavailable) as err:
            for event in loaded.stream_chat([ChatMessage("user", "Tell a story.")], options):
                if isinstance(event, Token):
                    streamed.append(event.text)
                    if len(streamed) == 3:
                        doomed.kill()
        loaded.close()
    assert "closed the connection" in str(err.value) or "ended the answer" in str(err.value)
    assert len(streamed) >= 3
    assert err.value.partial_text == "".join(streamed)


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8080/v1", True),
        ("http://127.8.9.10/v1", True),
        ("http://[::1]:8000/v1", True),
        ("http://localhost:1234/v1", True),
        ("https://api.openai.com/v1", False),
        ("http://192.168.1.5:11434", False),
        ("http://127.0.0.1.evil.example/v1", False),
    ],
)
def test_is_loopback_url(url: str, loopback: bool) -> None:
    assert remote.is_loopback_url(url) is loopback


def test_a_non_loopback_server_is_logged_and_flagged(caplog: pytest.LogCaptureFixture) -> None:
    spec = EngineSpec("openai", "m", host="http://10.1.2.3:8000/v1")
    with caplog.at_level(logging.WARNING, logger="ember.engines"):
        engine = remote.RemoteEngine(spec, served=["m"], context_limit=None)
    engine.close()
    assert engine.is_remote is True
    assert "10.1.2.3" in caplog.text and "not on this computer" in caplog.text
