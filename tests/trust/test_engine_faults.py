"""A model server that dies, hangs or talks nonsense mid-answer, seen through the Assistant.

Whatever the server does, the user gets a clear error, the words already streamed are saved on
the answer (state 'error', partial text kept), and the next question is answered normally. The
engines' own tests cover the translation of each failure; these cover what the user keeps.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.faulty_openai_server import FaultyOpenAIServer
from tests.support.ollama_server import Failure, OllamaTestServer

from ember.assistant import Assistant, ReplyDone
from ember.catalog import default_model
from ember.chats.store import ChatStore
from ember.config import Settings
from ember.engines import EngineSpec, Token, create_engine
from ember.errors import EngineUnavailable

pytestmark = pytest.mark.slow

TIMEOUT_S = 2.0
FAILURES = {
    "die": r"closed the connection|ended the answer",
    "hang": r"stopped answering \(nothing for 2 s\)",
    "garbage": r"malformed",
    "oversized": r"longer than",
}


@pytest.fixture(scope="module")
def ollama_server() -> Iterator[OllamaTestServer]:
    with OllamaTestServer(Path(default_model().path)) as running:
        yield running


@pytest.fixture(scope="module")
def openai_server() -> Iterator[FaultyOpenAIServer]:
    with FaultyOpenAIServer(Path(default_model().path)) as running:
        yield running


def assistant_for(spec: EngineSpec, store: ChatStore) -> Assistant:
    engine = create_engine(spec)
    settings = Settings(temperature=0.0, seed=3, max_tokens=24, n_ctx=2048)
    return Assistant(engine, store, settings)


def ask(assistant: Assistant, chat_id: int, text: str) -> tuple[list[str], ReplyDone | None]:
    tokens: list[str] = []
    done = None
    for event in assistant.send(chat_id, text):
        if isinstance(event, Token):
            tokens.append(event.text)
        elif isinstance(event, ReplyDone):
            done = event
    return tokens, done


def check_fault_is_survived(
    assistant: Assistant, store: ChatStore, server: OllamaTestServer, kind: str
) -> None:
    chat = store.create()
    server.failure = Failure(kind, after_tokens=3)
    streamed: list[str] = []
    started = time.perf_counter()
    try:
        with pytest.raises(EngineUnavailable, match=FAILURES[kind]) as err:
            for event in assistant.send(chat.id, "Name three colours."):
                if isinstance(event, Token):
                    streamed.append(event.text)
    finally:
        server.failure = None
    elapsed = time.perf_counter() - started
    assert elapsed < TIMEOUT_S + 8, f"{kind} took {elapsed:.1f} s to be reported"

    answer = store.messages(chat.id)[-1]
    assert answer.role == "assistant" and answer.state == "error"
    assert len(streamed) == 3 and answer.content == "".join(streamed)
    assert answer.error == str(err.value)  # the message the user saw is kept with the answer

    tokens, done = ask(assistant, chat.id, "Name three colours.")
    assert done is not None and done.message.state == "done"
    assert done.message.content == "".join(tokens) and tokens


@pytest.mark.parametrize("kind", list(FAILURES))
def test_an_ollama_server_failing_mid_answer_keeps_the_partial_answer(
    ollama_server: OllamaTestServer, tmp_path: Path, kind: str
) -> None:
    spec = EngineSpec("ollama", ollama_server.model_name, host=ollama_server.url, timeout_s=2.0)
    with ChatStore(tmp_path / "chats.sqlite3") as store:
        check_fault_is_survived(assistant_for(spec, store), store, ollama_server, kind)


@pytest.mark.parametrize("kind", list(FAILURES))
def test_an_openai_server_failing_mid_answer_keeps_the_partial_answer(
    openai_server: FaultyOpenAIServer, tmp_path: Path, kind: str
) -> None:
    spec = EngineSpec(
        "openai", openai_server.model_name, host=openai_server.base_url, timeout_s=2.0
    )
    with ChatStore(tmp_path / "chats.sqlite3") as store:
        check_fault_is_survived(assistant_for(spec, store), store, openai_server, kind)
