"""The same ``/v1/chat/completions`` and ``/v1/models`` through every engine: Ollama and a remote
OpenAI-compatible server, with the official ``openai`` client against ``ember serve``'s server.

Real servers on loopback: :class:`OllamaTestServer` speaks Ollama's HTTP protocol and generates
with the embedded GGUF; llama-cpp-python's own server is the remote; :class:`FaultyOpenAIServer`
is a remote that dies mid-answer. The embedded llama.cpp model is covered by
``test_chat_completions.py``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import openai
import pytest

from ember.api.server import ApiServer
from ember.catalog import default_model
from ember.config import RemoteEndpoint
from ember.core import Core
from tests.support.api_serving import CITY_SCHEMA, KEY, make_core, serving
from tests.support.faulty_openai_server import FaultyOpenAIServer
from tests.support.ollama_server import Failure, OllamaTestServer
from tests.support.openai_server import LlamaCppServer

pytestmark = pytest.mark.slow

REMOTE_KEY = "remote-key-123"
QUESTION = [{"role": "user", "content": "Name three colours."}]
GREEDY = {"temperature": 0.0, "seed": 7}
CITY = CITY_SCHEMA
CITY_QUESTION = [{"role": "user", "content": "Give a city and its population as JSON."}]
CITY_FORMAT = {"type": "json_schema", "json_schema": {"name": "city", "schema": CITY}}


def a_closed_port() -> str:
    """The URL of a loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def model_path() -> Path:
    return Path(default_model().path)


@pytest.fixture(scope="module")
def ollama(model_path: Path) -> Iterator[OllamaTestServer]:
    with OllamaTestServer(model_path) as running:
        yield running


@pytest.fixture(scope="module")
def remote(model_path: Path) -> Iterator[LlamaCppServer]:
    with LlamaCppServer(model_path, api_key=REMOTE_KEY) as running:
        yield running


@pytest.fixture(scope="module")
def faulty(model_path: Path) -> Iterator[FaultyOpenAIServer]:
    with FaultyOpenAIServer(model_path) as running:
        yield running


@pytest.fixture(autouse=True)
def well_behaved(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    for name in ("ollama", "faulty"):
        if name in request.fixturenames:
            request.getfixturevalue(name).failure = None


@pytest.fixture(scope="module")
def core(
    tmp_path_factory: pytest.TempPathFactory,
    ollama: OllamaTestServer,
    remote: LlamaCppServer,
    faulty: FaultyOpenAIServer,
) -> Iterator[Core]:
    remotes = [
        RemoteEndpoint("lab", "openai", remote.base_url, remote.alias, REMOTE_KEY),
        RemoteEndpoint("wrongkey", "openai", remote.base_url, remote.alias, "not-the-key"),
        RemoteEndpoint("gone", "openai", a_closed_port() + "/v1", "smollm2"),
        RemoteEndpoint("flaky", "openai", faulty.base_url, faulty.model_name),
    ]
    made = make_core(
        tmp_path_factory.mktemp("api-backends"), ollama_host=ollama.url, remotes=remotes
    )
    yield made
    made.close()


@pytest.fixture(scope="module")
def server(core: Core) -> Iterator[ApiServer]:
    with serving(core, switch_models=True) as running:
        yield running


@pytest.fixture
def client(server: ApiServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as made:
        yield made


def ollama_id(ollama: OllamaTestServer) -> str:
    return f"ollama:{ollama.model_name}"


def assert_whole(reply: openai.types.chat.ChatCompletion, model: str, max_tokens: int) -> None:
    choice = reply.choices[0]
    assert reply.object == "chat.completion" and reply.model == model
    assert choice.message.role == "assistant" and choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    assert 0 < reply.usage.completion_tokens <= max_tokens
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens


def streamed(client: openai.OpenAI, model: str, max_tokens: int) -> tuple[str, list]:
    chunks = list(
        client.chat.completions.create(
            model=model, messages=QUESTION, max_tokens=max_tokens, stream=True, **GREEDY
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


# -- Ollama -------------------------------------------------------------------------------------


def test_models_lists_the_ollama_model_as_ollamas(
    client: openai.OpenAI, ollama: OllamaTestServer
) -> None:
    listed = {m.id: m for m in client.models.list().data}
    entry = listed[ollama_id(ollama)]
    assert entry.owned_by == "ollama"
    assert entry.model_extra["ember"]["backend"] == "ollama"
    assert entry.model_extra["ember"]["chat"] is True
    assert client.models.retrieve(ollama_id(ollama)).id == ollama_id(ollama)  # "/" or ":" in ids


def test_an_ollama_model_answers_whole_and_streamed_with_usage(
    client: openai.OpenAI, ollama: OllamaTestServer, core: Core
) -> None:
    model = ollama_id(ollama)
    whole = client.chat.completions.create(model=model, messages=QUESTION, max_tokens=16, **GREEDY)
    assert_whole(whole, model, 16)
    assert whole.usage.prompt_tokens > 5  # Ollama's prompt_eval_count, passed on
    assert core.loaded is not None and core.loaded.backend == "ollama"
    text, chunks = streamed(client, model, 16)
    assert text == whole.choices[0].message.content
    usage = chunks[-1].usage
    assert usage is not None and usage.model_dump() == whole.usage.model_dump()


def test_ollama_gets_the_requests_sampling_and_budget(
    client: openai.OpenAI, ollama: OllamaTestServer
) -> None:
    before = len(ollama.requests)
    client.chat.completions.create(
        model=ollama_id(ollama),
        messages=QUESTION,
        max_tokens=9,
        temperature=0.3,
        top_p=0.42,
        seed=11,
    )
    chats = [body for _method, path, body in ollama.requests[before:] if path == "/api/chat"]
    assert len(chats) == 1
    options = chats[0]["options"]
    assert options["num_predict"] == 9 and options["seed"] == 11
    assert options["temperature"] == pytest.approx(0.3)
    assert options["top_p"] == pytest.approx(0.42)
    assert chats[0]["messages"][-1] == QUESTION[-1]


def test_an_ollama_model_answers_in_the_json_schema_asked_whole_and_streamed(
    client: openai.OpenAI, ollama: OllamaTestServer
) -> None:
    """``response_format`` reaches Ollama as its ``format`` (the schema itself), and the answer,
    whole or streamed, parses and validates against the schema."""
    model = ollama_id(ollama)
    before = len(ollama.requests)
    whole = client.chat.completions.create(
        model=model, messages=CITY_QUESTION, max_tokens=80, response_format=CITY_FORMAT, **GREEDY
    )
    jsonschema.validate(json.loads(whole.choices[0].message.content), CITY)
    chunks = client.chat.completions.create(
        model=model,
        messages=CITY_QUESTION,
        max_tokens=80,
        response_format=CITY_FORMAT,
        stream=True,
        **GREEDY,
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    jsonschema.validate(json.loads(text), CITY)
    chats = [body for _method, path, body in ollama.requests[before:] if path == "/api/chat"]
    assert [chat["format"] for chat in chats] == [CITY, CITY]


def test_an_ollama_model_answers_any_json_object_when_asked(
    client: openai.OpenAI, ollama: OllamaTestServer
) -> None:
    reply = client.chat.completions.create(
        model=ollama_id(ollama),
        messages=[{"role": "user", "content": "List two fruits as JSON."}],
        max_tokens=120,
        response_format={"type": "json_object"},
        **GREEDY,
    )
    assert isinstance(json.loads(reply.choices[0].message.content), dict)


# -- a remote OpenAI-compatible server ------------------------------------------------------------


def test_models_lists_the_remote(client: openai.OpenAI) -> None:
    entry = {m.id: m for m in client.models.list().data}["remote:lab"]
    assert entry.owned_by == "remote" and entry.model_extra["ember"]["backend"] == "openai"


def test_a_remote_model_answers_whole_and_streamed(client: openai.OpenAI, core: Core) -> None:
    whole = client.chat.completions.create(
        model="remote:lab", messages=QUESTION, max_tokens=16, **GREEDY
    )
    assert_whole(whole, "remote:lab", 16)
    assert core.loaded is not None and core.loaded.key == "remote:lab"
    text, chunks = streamed(client, "remote:lab", 16)
    assert text == whole.choices[0].message.content
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_a_remote_model_answers_in_the_json_schema_asked(
    client: openai.OpenAI, faulty: FaultyOpenAIServer
) -> None:
    """``response_format`` goes on to the remote server as OpenAI's json_schema; the answer of a
    server that follows it parses and validates. (llama-cpp-python's server knows only
    json_object, so the stand-in remote that follows the schema is the one used here.)"""
    before = len(faulty.requests)
    reply = client.chat.completions.create(
        model="remote:flaky",
        messages=CITY_QUESTION,
        max_tokens=80,
        response_format=CITY_FORMAT,
        **GREEDY,
    )
    jsonschema.validate(json.loads(reply.choices[0].message.content), CITY)
    [sent] = [body for _method, path, body in faulty.requests[before:] if "chat" in path]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"] == CITY


def test_a_remote_that_counts_tokens_gives_its_counts_as_usage(
    client: openai.OpenAI, faulty: FaultyOpenAIServer
) -> None:
    """Ember asks a remote for OpenAI's usage chunk (``stream_options.include_usage``) and
    passes the server's own counts on, prompt tokens included."""
    before = len(faulty.requests)
    whole = client.chat.completions.create(
        model="remote:flaky", messages=QUESTION, max_tokens=12, **GREEDY
    )
    [sent] = [body for _method, path, body in faulty.requests[before:] if "chat" in path]
    assert sent["stream_options"] == {"include_usage": True}
    assert whole.usage.prompt_tokens > 5
    assert 0 < whole.usage.completion_tokens <= 12


def test_requests_switch_between_engines(client: openai.OpenAI, ollama: OllamaTestServer) -> None:
    """One server, one model at a time: each request loads the engine it names."""
    for model in (ollama_id(ollama), "remote:lab", "embedded", ollama_id(ollama)):
        reply = client.chat.completions.create(
            model=model, messages=QUESTION, max_tokens=4, **GREEDY
        )
        assert reply.model == model and reply.choices[0].message.content


# -- engines that are down ----------------------------------------------------------------------


def assert_engine_unavailable(caught: pytest.ExceptionInfo[openai.APIStatusError]) -> None:
    error = caught.value
    assert error.status_code == 503
    body = error.response.json()["error"]
    assert set(body) == {"message", "type", "param", "code"}
    assert body["code"] == "engine_unavailable" and body["type"] == "server_error"
    assert body["message"]


@pytest.mark.parametrize(
    ("model", "said"), [("remote:gone", "not answering"), ("remote:wrongkey", "API key")]
)
def test_a_remote_that_refuses_is_503(client: openai.OpenAI, model: str, said: str) -> None:
    for stream in (False, True):
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(
                model=model, messages=QUESTION, max_tokens=4, stream=stream
            )
        assert_engine_unavailable(caught)
        assert said in caught.value.response.json()["error"]["message"]
    ok = client.chat.completions.create(model="remote:lab", messages=QUESTION, max_tokens=4)
    assert ok.choices[0].message.content


def test_an_ollama_host_with_nothing_listening_is_503(tmp_path: Path) -> None:
    core = make_core(tmp_path, ollama_host=a_closed_port())
    try:
        with (
            serving(core, switch_models=True) as server,
            openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as client,
        ):
            assert not [m for m in client.models.list().data if m.id.startswith("ollama:")]
            for stream in (False, True):
                with pytest.raises(openai.InternalServerError) as caught:
                    client.chat.completions.create(
                        model="ollama:smollm2:135m", messages=QUESTION, stream=stream
                    )
                assert_engine_unavailable(caught)
                assert "Ollama" in caught.value.response.json()["error"]["message"]
            embedded = client.chat.completions.create(
                model="embedded", messages=QUESTION, max_tokens=4
            )
            assert embedded.choices[0].message.content
    finally:
        core.close()


# -- a server that dies mid-answer --------------------------------------------------------------


def sse_events(server: ApiServer, model: str) -> list[dict]:
    """The ``data:`` payloads of a raw streamed answer, up to ``[DONE]`` or the end."""
    events = []
    body = {"model": model, "messages": QUESTION, "max_tokens": 24, "stream": True, **GREEDY}
    headers = {"Authorization": f"Bearer {KEY}"}
    url = f"{server.base_url}/chat/completions"
    with httpx.stream("POST", url, json=body, headers=headers, timeout=60) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                events.append(json.loads(line.removeprefix("data: ")))
    return events


@pytest.mark.parametrize("engine", ["ollama", "remote"])
def test_a_server_dying_mid_stream_ends_with_an_error_event_and_the_next_request_works(
    engine: str,
    server: ApiServer,
    client: openai.OpenAI,
    ollama: OllamaTestServer,
    faulty: FaultyOpenAIServer,
) -> None:
    backend, model = (ollama, ollama_id(ollama)) if engine == "ollama" else (faulty, "remote:flaky")
    backend.failure = Failure("die", after_tokens=3)
    *tokens, last = sse_events(server, model)
    assert len(tokens) >= 3 and "".join(t["choices"][0]["delta"].get("content", "") for t in tokens)
    assert set(last) == {"error"}
    assert last["error"]["code"] == "engine_unavailable"
    assert last["error"]["type"] == "server_error" and last["error"]["message"]
    with pytest.raises(openai.APIError):  # the official client raises on the error event
        list(client.chat.completions.create(model=model, messages=QUESTION, stream=True))
    with pytest.raises(openai.InternalServerError) as caught:  # before any byte is sent: a 503
        client.chat.completions.create(model=model, messages=QUESTION, max_tokens=24)
    assert_engine_unavailable(caught)

    backend.failure = None
    text, _chunks = streamed(client, model, 8)
    assert text
    whole = client.chat.completions.create(model=model, messages=QUESTION, max_tokens=8)
    assert whole.choices[0].message.content
