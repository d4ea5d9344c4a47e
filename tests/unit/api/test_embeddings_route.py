"""``POST /v1/embeddings`` with the real MiniLM, through the real ``openai`` client and httpx."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest

from ember.api.model_ids import EMBEDDING_ID
from ember.api.routes_embeddings import MAX_INPUT_CHARS, MAX_INPUTS
from ember.api.server import ApiServer
from ember.knowledge.embedder import MiniLMEmbedder
from tests.support.api_serving import KEY, core_in, serving
from tests.support.children import python

pytestmark = pytest.mark.slow  # the real embedder

TEXTS = ["The kettle switches off after 40 seconds.", "Descale it monthly with vinegar."]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    core = core_in(tmp_path_factory.mktemp("api-embeddings"))
    with serving(core) as running:
        yield running
    core.close()


@pytest.fixture
def http(server: ApiServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as client:
        yield client


def test_one_string_gives_the_embedders_own_vector(
    client: openai.OpenAI, minilm: MiniLMEmbedder
) -> None:
    answer = client.embeddings.create(model=EMBEDDING_ID, input=TEXTS[0])
    assert len(answer.data) == 1 and answer.model == EMBEDDING_ID
    vector = np.asarray(answer.data[0].embedding, dtype=np.float32)
    assert vector.shape == (384,)
    np.testing.assert_allclose(vector, minilm.embed([TEXTS[0]])[0], atol=1e-6)
    assert answer.usage.prompt_tokens == minilm.count_tokens([TEXTS[0]])[0]
    assert answer.usage.total_tokens == answer.usage.prompt_tokens


def test_a_list_gives_one_vector_per_string_in_order(
    client: openai.OpenAI, minilm: MiniLMEmbedder
) -> None:
    answer = client.embeddings.create(model=EMBEDDING_ID, input=TEXTS)
    assert [item.index for item in answer.data] == [0, 1]
    vectors = np.asarray([item.embedding for item in answer.data], dtype=np.float32)
    np.testing.assert_allclose(vectors, minilm.embed(TEXTS), atol=1e-6)
    assert answer.usage.prompt_tokens == sum(minilm.count_tokens(TEXTS))


def test_float_and_base64_encodings_carry_the_same_numbers(
    http: httpx.Client, minilm: MiniLMEmbedder
) -> None:
    as_floats = http.post("/embeddings", json={"input": TEXTS, "encoding_format": "float"})
    as_base64 = http.post("/embeddings", json={"input": TEXTS, "encoding_format": "base64"})
    assert as_floats.status_code == as_base64.status_code == 200
    floats = np.asarray([d["embedding"] for d in as_floats.json()["data"]], dtype=np.float32)
    decoded = np.asarray(
        [
            np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4")
            for d in as_base64.json()["data"]
        ]
    )
    np.testing.assert_array_equal(floats, decoded)
    np.testing.assert_allclose(decoded, minilm.embed(TEXTS), atol=1e-6)


def test_the_model_may_be_left_out_or_named_by_an_alias(http: httpx.Client) -> None:
    for model in (None, EMBEDDING_ID, f"sentence-transformers/{EMBEDDING_ID}"):
        body = {"input": "kettle"} if model is None else {"input": "kettle", "model": model}
        assert http.post("/embeddings", json=body).status_code == 200, model


def test_another_model_is_a_404_and_a_chat_model_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client.embeddings.create(model="no-such-model", input="kettle")
    assert raised.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as raised_chat:
        client.embeddings.create(model="embedded", input="kettle")
    assert raised_chat.value.code == "wrong_endpoint"


def test_token_arrays_are_refused_with_a_400_saying_strings_only(client: openai.OpenAI) -> None:
    for tokens in ([101, 2054, 102], [[101, 2054], [102]]):
        with pytest.raises(openai.BadRequestError) as raised:
            client.embeddings.create(model=EMBEDDING_ID, input=tokens)
        assert raised.value.param == "input"
        assert "strings" in raised.value.message


def test_too_many_or_too_long_inputs_are_400s(http: httpx.Client) -> None:
    too_many = http.post("/embeddings", json={"input": ["x"] * (MAX_INPUTS + 1)})
    assert too_many.status_code == 400 and str(MAX_INPUTS) in too_many.json()["error"]["message"]
    too_long = http.post("/embeddings", json={"input": "x" * (MAX_INPUT_CHARS + 1)})
    assert too_long.status_code == 400 and too_long.json()["error"]["param"] == "input"
    empty = http.post("/embeddings", json={"input": []})
    assert empty.status_code == 400


def test_bad_json_is_a_400_in_openais_shape(http: httpx.Client) -> None:
    response = http.post(
        "/embeddings", content=b'{"input": "kettle"', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "message": "The request body is not valid JSON.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_json",
        }
    }


def test_an_unknown_encoding_or_other_dimensions_are_400s(http: httpx.Client) -> None:
    response = http.post("/embeddings", json={"input": "x", "encoding_format": "int8"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "encoding_format"
    response = http.post("/embeddings", json={"input": "x", "dimensions": 256})
    assert response.status_code == 400 and response.json()["error"]["param"] == "dimensions"


HELPER_PROBE = """
import json, sys
import httpx
from tests.support.api_serving import KEY, core_in, serving
from tests.support.children import python
core = core_in(__import__("pathlib").Path(sys.argv[1]), knowledge_helper=True)
with serving(core) as running:
    answer = httpx.post(
        running.base_url + "/embeddings",
        json={"input": json.loads(sys.argv[2]), "encoding_format": "float"},
        headers={"Authorization": "Bearer " + KEY},
        timeout=180,
    )
core.close()
print(json.dumps({"torch": "torch" in sys.modules, "answer": answer.json()}))
"""


def test_the_app_embeds_in_the_helper_process_never_loading_torch_itself(
    tmp_path: Path, minilm: MiniLMEmbedder
) -> None:
    """With ``knowledge_helper`` (the window's core) the vectors come from the retrieval helper
    process: the serving process never imports torch."""
    done = python("-c", HELPER_PROBE, str(tmp_path), json.dumps(TEXTS), timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["torch"] is False
    vectors = np.asarray([d["embedding"] for d in result["answer"]["data"]], dtype=np.float32)
    np.testing.assert_allclose(vectors, minilm.embed(TEXTS), atol=1e-5)
    assert result["answer"]["usage"]["prompt_tokens"] == sum(minilm.count_tokens(TEXTS))
