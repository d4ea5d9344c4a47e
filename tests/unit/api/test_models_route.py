"""``GET /v1/models``: every model Ember can run, through the real ``openai`` client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from ember.api.errors import ApiError
from ember.api.model_ids import (
    EMBEDDING_ID,
    collection_of,
    is_embedding,
    model_id,
    model_key,
)
from ember.api.server import ApiServer
from ember.catalog import default_model
from ember.config import RemoteEndpoint, Settings
from ember.knowledge import KnowledgeBase
from tests.support.api_serving import KEY, core_in, serving
from tests.support.ollama_server import OllamaTestServer
from tests.support.tiny_embedder import TinyEmbedder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    root = tmp_path_factory.mktemp("api-models")
    docs = root / "docs"
    docs.mkdir()
    (docs / "kettle.md").write_text("# Kettle\n\nThe kettle switches off after 40 seconds.\n")
    with OllamaTestServer(Path(default_model().path)) as ollama:
        remote = RemoteEndpoint("lab", "openai", "http://127.0.0.1:9/v1", "qwen2.5")
        core = core_in(root, settings=Settings(ollama_host=ollama.url, remotes=[remote]))
        # Which collections exist is what is listed; the tiny embedder is enough to make one.
        with KnowledgeBase(core.paths.knowledge_dir, embedder=TinyEmbedder()) as kb:
            kb.index([docs], "manuals")
        with serving(core) as running:
            yield running
        core.close()


def test_the_list_has_every_kind_of_model_ember_runs(client: openai.OpenAI) -> None:
    ids = [model.id for model in client.models.list()]
    assert "embedded" in ids  # the embedded default model
    assert "ollama:smollm2:135m" in ids  # what the Ollama server serves
    assert "remote:lab" in ids  # a configured remote endpoint
    assert "ember:manuals" in ids  # grounded answers from a collection with documents
    assert EMBEDDING_ID in ids  # the embedder
    assert "" not in ids and len(ids) == len(set(ids))


def test_each_model_has_openais_fields_and_embers_capabilities(client: openai.OpenAI) -> None:
    models = {model.id: model for model in client.models.list()}
    embedded = models["embedded"]
    assert embedded.object == "model" and embedded.owned_by == "ember" and embedded.created > 0
    ember = embedded.model_extra["ember"]
    assert ember["backend"] == "llama.cpp" and ember["chat"] is True
    assert ember["json_schema"] is True and ember["grounded"] is False
    assert models["ollama:smollm2:135m"].owned_by == "ollama"
    # Every chat engine follows response_format: llama.cpp's grammar, Ollama's format, a remote's own.
    assert models["ollama:smollm2:135m"].model_extra["ember"]["json_schema"] is True
    assert models["remote:lab"].model_extra["ember"]["json_schema"] is True
    grounded = models["ember:manuals"].model_extra["ember"]
    assert grounded["grounded"] is True and grounded["collection"] == "manuals"
    embedder = models[EMBEDDING_ID].model_extra["ember"]
    assert embedder["embeddings"] is True and embedder["chat"] is False
    assert embedder["dimensions"] == 384


def test_one_model_is_retrieved_by_its_id(client: openai.OpenAI) -> None:
    assert client.models.retrieve("embedded").id == "embedded"
    assert client.models.retrieve("ember:manuals").id == "ember:manuals"
    assert client.models.retrieve("ollama:smollm2:135m").owned_by == "ollama"


def test_an_unknown_model_is_a_404_model_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        client.models.retrieve("gpt-4o")
    assert raised.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("ember:no-such-collection")


def test_a_file_path_is_not_a_model_id(server: ApiServer) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=server.base_url, headers=headers) as http:
        for path in ("/models/%2Fetc%2Fpasswd", "/models/..%2F..%2Fmodel.gguf"):
            response = http.get(path)
            assert response.status_code == 404, path
            assert response.json()["error"]["code"] == "model_not_found"


# -- the id mapping (ember.api.model_ids) ----------------------------------------------------


def test_the_embedded_model_is_called_embedded_both_ways() -> None:
    assert model_id("") == "embedded" and model_key("embedded") == ""
    for key in ("smollm2-360m-instruct", "ollama:llama3.2:3b", "remote:lab", "ollama:hf.co/x/y"):
        assert model_key(model_id(key)) == key


def test_collection_ids_name_a_collection_and_no_model() -> None:
    assert collection_of("ember:manuals") == "manuals"
    assert collection_of("ember:") is None and collection_of("embedded") is None
    with pytest.raises(ApiError) as raised:
        model_key("ember:manuals")
    assert raised.value.status == 404


def test_paths_and_the_embedder_are_never_model_keys() -> None:
    for bad in ("/models/x.gguf", "../x", "x.gguf", "~/m", "C:\\m", ""):
        with pytest.raises(ApiError) as raised:
            model_key(bad)
        assert raised.value.code == "model_not_found"
    with pytest.raises(ApiError) as raised:
        model_key(EMBEDDING_ID)  # a listed model, for another endpoint
    assert raised.value.status == 400 and raised.value.code == "wrong_endpoint"
    assert is_embedding(None) and is_embedding(EMBEDDING_ID) and not is_embedding("embedded")
