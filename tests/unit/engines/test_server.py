"""The shared server-engine path: one streaming loop, one translation of failures, is_remote.

The backends' own tests drive this path through real servers; these pin what the path promises
on its own: the partial answer survives every failure, a cancel ends the stream, the HTTP response
is closed on every way out, and each failure reads the same for both kinds of server.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator

import httpx
import pytest

from ember.cancel import CancelToken
from ember.engines import Engine, EngineSpec, Finished, Token, ollama, remote
from ember.engines.http import OversizedLine
from ember.engines.server import Chunk, ServerErrors, ServerRefused, stream_reply
from ember.errors import EngineUnavailable, ModelNotFound

HOST = "http://127.0.0.1:9"


class Closing:
    """Chunks from a list, noting whether the reader closed it (the HTTP response's stand-in)."""

    def __init__(self, chunks: list[Chunk], fail: BaseException | None = None) -> None:
        self.closed = False
        self._chunks = chunks
        self._fail = fail
        self._iterator = self._run()

    def _run(self) -> Iterator[Chunk]:
        try:
            yield from self._chunks
            if self._fail is not None:
                raise self._fail
        finally:
            self.closed = True

    def __iter__(self) -> Iterator[Chunk]:
        return self

    def __next__(self) -> Chunk:
        return next(self._iterator)

    def close(self) -> None:
        self._iterator.close()


def errors(wording: object = remote.WORDING, model: str | None = "m") -> ServerErrors:
    return ServerErrors(wording, HOST, model, 2.0)  # type: ignore[arg-type]


def test_a_stream_is_tokens_then_finished_with_the_servers_counts() -> None:
    chunks = Closing([Chunk("Hel"), Chunk(""), Chunk("lo", finish="length"), Chunk(done=True)])
    *tokens, last = list(stream_reply(chunks, model="m", errors=errors()))
    assert [t.text for t in tokens] == ["Hel", "lo"]
    assert isinstance(last, Finished) and (last.reason, last.text) == ("length", "Hello")
    assert last.timings.completion_tokens == 2 and chunks.closed

    counted = Closing([Chunk("a", finish="stop", done=True, prompt_tokens=7, completion_tokens=3)])
    last = list(stream_reply(counted, model="m", errors=errors()))[-1]
    assert (last.timings.prompt_tokens, last.timings.completion_tokens) == (7, 3)


def test_a_cancel_ends_the_stream_with_the_text_so_far_and_closes_it() -> None:
    cancel = CancelToken()
    chunks = Closing([Chunk("one "), Chunk("two "), Chunk("three", finish="stop")])
    seen = []
    for event in stream_reply(chunks, model="m", errors=errors(), cancel=cancel):
        seen.append(event)
        if isinstance(event, Token):
            cancel.cancel()
    assert isinstance(seen[-1], Finished)
    assert (seen[-1].reason, seen[-1].text) == ("cancelled", "one ")
    assert chunks.closed


def test_a_stream_that_just_stops_keeps_the_partial_answer() -> None:
    chunks = Closing([Chunk("half an "), Chunk("answer")])
    with pytest.raises(EngineUnavailable, match="ended the answer before it was done") as err:
        list(stream_reply(chunks, model="m", errors=errors()))
    assert err.value.partial_text == "half an answer"


def test_a_failure_mid_stream_is_translated_with_the_partial_answer() -> None:
    chunks = Closing([Chunk("so far")], fail=httpx.RemoteProtocolError("peer closed"))
    with pytest.raises(EngineUnavailable, match=r"closed the connection .*RemoteProtocolError"):
        list(stream_reply(chunks, model="m", errors=errors()))
    assert chunks.closed


def test_abandoning_the_stream_closes_the_response() -> None:
    chunks = Closing([Chunk("a"), Chunk("b"), Chunk(done=True)])
    stream = stream_reply(chunks, model="m", errors=errors())
    next(stream)
    stream.close()
    assert chunks.closed


def a_real(kind: str) -> BaseException:
    """A real instance of each failure the transport raises."""
    if kind == "refused":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
        except httpx.ConnectError as exc:
            return exc
        raise AssertionError("a closed port answered")
    if kind == "json":
        try:
            json.loads("{not json")
        except json.JSONDecodeError as exc:
            return exc
    return {
        "timeout": httpx.ReadTimeout("quiet"),
        "oversized": OversizedLine("a line longer than 8 bytes"),
        "dropped": httpx.RemoteProtocolError("peer closed"),
    }[kind]


@pytest.mark.parametrize(
    ("kind", "ollama_says", "server_says"),
    [
        (
            "refused",
            f"Ollama is not answering at {HOST} — is it running? Start it with `ollama serve`",
            f"The server at {HOST} is not answering — is it running? Check the URL",
        ),
        (
            "timeout",
            f"Ollama at {HOST} stopped answering (nothing for 2 s). It may be overloaded",
            f"The server at {HOST} stopped answering (nothing for 2 s).",
        ),
        (
            "oversized",
            f"Ollama at {HOST} sent a line longer than 8 bytes; the reply was abandoned.",
            f"The server at {HOST} sent a line longer than 8 bytes; the reply was abandoned.",
        ),
        (
            "json",
            f"Ollama at {HOST} sent a malformed reply; is that really an Ollama server?",
            f"The server at {HOST} sent a malformed reply (Expecting",
        ),
        (
            "dropped",
            f"Ollama at {HOST} closed the connection in the middle of the answer "
            "(RemoteProtocolError)",
            f"The server at {HOST} closed the connection in the middle of the answer "
            "(RemoteProtocolError)",
        ),
    ],
)
def test_each_failure_is_one_translation_in_each_servers_words(
    kind: str, ollama_says: str, server_says: str
) -> None:
    for wording, says in ((ollama.WORDING, ollama_says), (remote.WORDING, server_says)):
        with pytest.raises(EngineUnavailable) as err:
            errors(wording).translate(a_real(kind), "kept")
        assert str(err.value).startswith(says)
        assert err.value.partial_text == "kept"


def test_http_statuses_are_translated_in_one_place() -> None:
    with pytest.raises(EngineUnavailable, match="refused the API key \\(bad key\\)"):
        errors().translate(ServerRefused(401, "bad key"))
    with pytest.raises(ModelNotFound, match="does not serve 'm' \\(gone\\)"):
        errors().translate(ServerRefused(404, "gone"))
    with pytest.raises(EngineUnavailable, match="answered HTTP 404: gone"):
        errors(model=None).translate(ServerRefused(404, "gone"))
    with pytest.raises(EngineUnavailable, match="answered HTTP 500: boom") as err:
        errors().translate(ServerRefused(500, "boom"), "partial")
    assert err.value.partial_text == "partial"
    with pytest.raises(ModelNotFound, match="`ember models pull m`"):
        errors(ollama.WORDING).translate(ServerRefused(404, "model 'm' not found"))


def test_a_bug_is_not_dressed_up_as_a_server_failure() -> None:
    with pytest.raises(ZeroDivisionError):
        errors().translate(ZeroDivisionError("ours"))


def server_engines(host: str) -> list[Engine]:
    info = ollama.OllamaModelInfo("m", "llama", "", "", 8192, "", "", ())
    return [
        ollama.OllamaEngine(EngineSpec("ollama", "m", host=host), info),
        remote.RemoteEngine(EngineSpec("openai", "m", host=f"{host}/v1"), ["m"], None),
    ]


@pytest.mark.parametrize(
    ("host", "is_remote"),
    [
        ("http://127.0.0.1:11434", False),
        ("http://localhost:8080", False),
        ("http://[::1]:8000", False),
        ("http://127.0.0.1.evil.example", True),
        ("http://192.168.1.20:11434", True),
    ],
)
def test_every_server_engine_says_whether_prompts_leave_this_computer(
    host: str, is_remote: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="ember.engines"):
        engines = server_engines(host)
    for engine in engines:
        assert isinstance(engine, Engine)
        assert engine.is_remote is is_remote
        assert engine.n_ctx == 4096  # the asked window, under the model's 8192
        engine.close()
    assert ("not on this computer" in caplog.text) is is_remote
