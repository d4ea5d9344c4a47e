"""Structured output: answers constrained to JSON (a schema, or any object) in every engine,
with the real embedded model behind each (in process, behind an Ollama stand-in, behind
llama-cpp-python's OpenAI-compatible server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from tests.support.ollama_server import OllamaTestServer
from tests.support.openai_server import LlamaCppServer

from ember.engines import (
    BACKENDS,
    ChatMessage,
    EngineSpec,
    GenerationOptions,
    complete,
    ollama,
    remote,
    structured_output,
)
from ember.engines.llamacpp import LlamaCppEngine
from ember.errors import EngineUnavailable

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 24},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "colours": {"type": "array", "items": {"enum": ["red", "green", "blue"]}, "maxItems": 3},
    },
    "required": ["name", "age", "colours"],
    "additionalProperties": False,
}
ASK = [ChatMessage("user", "Describe a person and their favourite colours as JSON.")]
OPTIONS = GenerationOptions(temperature=0.0, seed=3, max_tokens=120)


def test_options_keep_the_schema_as_json_text_and_stay_hashable() -> None:
    options = OPTIONS.with_json_schema(PERSON)
    assert options.schema == PERSON and options.structured
    assert hash(options) == hash(OPTIONS.with_json_schema(dict(PERSON)))
    assert not OPTIONS.structured


def test_every_backend_says_it_follows_a_schema_before_a_model_is_loaded() -> None:
    """What ``GET /v1/models`` reports as ``json_schema``: the engine class's own word."""
    assert {name: structured_output(name) for name in BACKENDS} == dict.fromkeys(BACKENDS, True)
    assert structured_output("sentence-transformers") is False  # not a chat backend


def test_llama_cpp_answers_json_that_validates_against_the_schema(
    engine: LlamaCppEngine,
) -> None:
    reply = complete(engine, ASK, OPTIONS.with_json_schema(PERSON))
    assert reply.finished.reason == "stop"
    jsonschema.validate(json.loads(reply.text), PERSON)


def test_llama_cpp_free_text_is_not_json_without_a_schema(engine: LlamaCppEngine) -> None:
    reply = complete(engine, ASK, OPTIONS)
    with pytest.raises((ValueError, jsonschema.ValidationError)):
        jsonschema.validate(json.loads(reply.text), PERSON)


def test_llama_cpp_json_object_mode_answers_one_object(engine: LlamaCppEngine) -> None:
    options = GenerationOptions(temperature=0.0, seed=3, max_tokens=200, json_object=True)
    reply = complete(engine, [ChatMessage("user", "List two fruits as JSON.")], options)
    assert isinstance(json.loads(reply.text), dict)


def test_llama_cpp_refuses_a_schema_it_cannot_follow(engine: LlamaCppEngine) -> None:
    broken = OPTIONS.with_json_schema({"$ref": "#/definitions/missing"})
    with pytest.raises(EngineUnavailable, match="cannot follow this JSON schema"):
        complete(engine, ASK, broken)


@pytest.fixture(scope="module")
def ollama_server(model_path: Path) -> Iterator[OllamaTestServer]:
    with OllamaTestServer(model_path) as running:
        yield running


def test_ollama_sends_the_schema_as_format_and_the_answer_validates(
    ollama_server: OllamaTestServer,
) -> None:
    spec = EngineSpec("ollama", ollama_server.model_name, host=ollama_server.url, timeout_s=30)
    engine = ollama.load(spec)
    try:
        reply = complete(engine, ASK, OPTIONS.with_json_schema(PERSON))
        json_mode = GenerationOptions(temperature=0.0, seed=3, max_tokens=200, json_object=True)
        complete(engine, ASK, json_mode)
    finally:
        engine.close()
    jsonschema.validate(json.loads(reply.text), PERSON)
    chats = [body for _method, path, body in ollama_server.requests if path == "/api/chat"]
    assert chats[-2]["format"] == PERSON
    assert chats[-1]["format"] == "json"


@pytest.mark.slow
def test_an_openai_compatible_server_gets_response_format(model_path: Path) -> None:
    """llama-cpp-python's server knows ``json_object`` (not OpenAI's ``json_schema``, which
    vLLM, llama-server and LM Studio follow): that mode, end to end."""
    with LlamaCppServer(model_path, api_key="k") as server:
        engine = remote.load(EngineSpec("openai", server.alias, host=server.base_url, api_key="k"))
        try:
            options = GenerationOptions(temperature=0.0, seed=3, max_tokens=200, json_object=True)
            reply = complete(engine, [ChatMessage("user", "List two fruits as JSON.")], options)
        finally:
            engine.close()
    assert isinstance(json.loads(reply.text), dict)
