"""What a new user of the local API tripped over (the API trial): unknown and misplaced model
ids, invalid JSON schemas, features Ember does not have, and MCP's answer without documents.
A real server over the real embedded model, the official ``openai`` client and raw httpx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from ember.api.mcp_server import DocumentTools
from ember.api.model_ids import EMBEDDING_ID
from ember.api.server import ApiServer
from ember.assistant import ABSTAIN_TEXT
from tests.support.api_serving import KEY, make_core

QUESTION = [{"role": "user", "content": "Name three colours."}]
SHORT = {"max_tokens": 8, "temperature": 0.0, "seed": 7}


@pytest.fixture
def http(server: ApiServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as made:
        yield made


def _chat(http: httpx.Client, **body: Any) -> httpx.Response:
    return http.post("/chat/completions", json={"model": "embedded", "messages": QUESTION, **body})


def _error(response: httpx.Response) -> dict[str, Any]:
    return response.json()["error"]


# -- unknown and misplaced model ids -------------------------------------------------------------


def test_every_unknown_chat_model_gets_the_same_404_naming_real_ids(http: httpx.Client) -> None:
    # A name from nowhere, a catalog model not downloaded, a path, a file name, "ember:" alone.
    unknown = ("gpt-4o", "qwen2.5-7b-instruct", "foo.gguf", "/tmp/x.gguf", "ember:")
    messages = set()
    for model in unknown:
        response = _chat(http, model=model)
        assert response.status_code == 404, model
        error = _error(response)
        assert error["code"] == "model_not_found" and error["param"] == "model"
        assert error["message"].startswith(f"No model called {model!r} on this server"), error
        messages.add(error["message"].replace(repr(model), "X"))
    assert len(messages) == 1  # the same words for every unknown id
    message = messages.pop()
    assert "GET /v1/models" in message and "'embedded'" in message  # a real id, as an example
    assert ".gguf path" not in message and "Known models" not in message  # not the CLI's advice


def test_the_embedders_id_for_chat_is_a_400_naming_the_embeddings_endpoint(
    client: openai.OpenAI,
) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model=EMBEDDING_ID, messages=QUESTION)
    assert raised.value.code == "wrong_endpoint" and raised.value.param == "model"
    message = raised.value.body["message"]
    assert "embedding model" in message and "/v1/embeddings" in message
    assert "'embedded'" in message  # the chat model to use instead


def test_a_chat_model_for_embeddings_is_a_400_naming_the_embedder(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.embeddings.create(model="embedded", input="kettle")
    assert raised.value.code == "wrong_endpoint"
    message = raised.value.body["message"]
    assert "'embedded' is a chat model" in message and repr(EMBEDDING_ID) in message


def test_an_unknown_model_for_embeddings_is_a_404_naming_the_embedder(http: httpx.Client) -> None:
    response = http.post("/embeddings", json={"model": "gpt-4o", "input": "kettle"})
    assert response.status_code == 404
    error = _error(response)
    assert error["code"] == "model_not_found"
    assert error["message"].startswith("No model called 'gpt-4o' on this server")
    assert repr(EMBEDDING_ID) in error["message"]


# -- JSON schemas ---------------------------------------------------------------------------------


def test_an_invalid_json_schema_is_a_400_with_the_reason(client: openai.OpenAI) -> None:
    bad = {"type": "json_schema", "json_schema": {"name": "c", "schema": {"type": "wat"}}}
    with pytest.raises(openai.BadRequestError) as raised:  # a 400: the client does not retry
        client.chat.completions.create(model="embedded", messages=QUESTION, response_format=bad)
    assert raised.value.param == "response_format"
    assert raised.value.type == "invalid_request_error"
    message = raised.value.body["message"]
    assert "not valid" in message and "'wat'" in message


def test_a_schema_llama_cpp_cannot_follow_is_a_400_too(http: httpx.Client) -> None:
    # Valid JSON Schema, but llama.cpp's grammar converter knows no "not".
    schema = {"type": "object", "properties": {"a": {"not": {"type": "string"}}}}
    response = _chat(
        http, response_format={"type": "json_schema", "json_schema": {"schema": schema}}
    )
    assert response.status_code == 400, response.text
    error = _error(response)
    assert error["param"] == "response_format" and error["type"] == "invalid_request_error"
    assert "llama.cpp cannot follow this JSON schema" in error["message"]


# -- features Ember does not have --------------------------------------------------------------

TOOL = {"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("functions", [TOOL["function"]]),
        ("function_call", "auto"),
        ("logprobs", True),
        ("top_logprobs", 3),
        ("n", 2),
    ],
)
def test_a_feature_ember_does_not_have_is_a_400_naming_it(
    http: httpx.Client, field: str, value: object
) -> None:
    response = _chat(http, **{field: value})
    assert response.status_code == 400, response.text
    error = _error(response)
    assert error["param"] == field
    assert "does not support" in error["message"] or field == "n"


def test_legacy_functions_through_the_openai_client_are_refused_not_ignored(
    client: openai.OpenAI,
) -> None:
    with pytest.raises(openai.BadRequestError, match="send the functions as tools"):
        client.chat.completions.create(
            model="embedded", messages=QUESTION, functions=[TOOL["function"]]
        )


@pytest.mark.parametrize(
    ("fields", "param", "says"),
    [
        ({"tool_choice": "required"}, "tool_choice", "needs tools"),
        (
            {"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "news"}}},
            "tool_choice",
            "not in tools",
        ),
        ({"tools": [TOOL, TOOL]}, "tools", "share a name"),
        (
            {"tools": [{"type": "function", "function": {"name": "w", "parameters": {"type": 5}}}]},
            "tools.0.function.parameters",
            "not valid",
        ),
        (
            {"messages": [*QUESTION, {"role": "tool", "tool_call_id": "call_9", "content": "1"}]},
            "messages.1.tool_call_id",
            "no earlier",
        ),
        (
            {
                "messages": [
                    *QUESTION,
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "id": "c1",
                                "type": "function",
                                "function": {"name": "weather", "arguments": "[1]"},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
                ]
            },
            "messages.1.tool_calls.0.function.arguments",
            "JSON object",
        ),
        ({"tools": [TOOL], "ember": {"collections": ["docs"]}}, "tools", "with documents"),
    ],
)
def test_a_tool_request_that_cannot_work_is_a_400_naming_the_field(
    http: httpx.Client, fields: dict[str, object], param: str, says: str
) -> None:
    response = _chat(http, **fields)
    assert response.status_code == 400, response.text
    error = _error(response)
    assert error["param"] == param and says in error["message"]


def test_harmless_fields_and_empty_requests_for_features_still_answer(http: httpx.Client) -> None:
    response = _chat(
        http,
        user="someone",
        metadata={"job": "test"},
        store=False,
        tools=[],
        tool_choice="none",
        logprobs=False,
        frequency_penalty=0.0,
        response_format={"type": "json_object"},
        **SHORT,
    )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["role"] == "assistant"


# -- MCP without documents --------------------------------------------------------------------------


def test_ask_documents_names_the_model_even_when_it_abstains(tmp_path: Any) -> None:
    empty = make_core(tmp_path)  # nothing indexed: the tool abstains without loading a model
    try:
        answer = DocumentTools(empty).ask("What is in my documents?", None)
        assert answer.abstained and answer.answer == ABSTAIN_TEXT
        assert answer.model.endswith(".gguf")  # the embedded model's file, as answers name it
        assert empty.loaded is None
    finally:
        empty.close()
