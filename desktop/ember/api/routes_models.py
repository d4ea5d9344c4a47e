"""``GET /v1/models`` and ``GET /v1/models/{id}``: every model Ember can run, in OpenAI's shape.

A listed model is ``{"id", "object": "model", "created", "owned_by", "ember": {...}}``; the extra
``ember`` object tells what it can do: ``backend`` (``llama.cpp``, ``ollama``, ``openai``,
``sentence-transformers``...), ``label``, ``chat``, ``embeddings``, ``grounded`` (answers cite the
user's documents), ``json_schema`` (the engine follows ``response_format`` with a JSON schema:
llama.cpp through its grammar, Ollama through ``format``, a remote server through its own
``response_format``; see :func:`ember.engines.structured_output`), and ``collection`` (grounded
ids) or ``dimensions`` (the embedder). The ids are explained in :mod:`ember.api.model_ids`: the
models of ``core.local_models()`` and ``core.ollama_models()``, one ``ember:COLLECTION`` per
collection with documents, and the embedder. An unknown id is a 404 ``model_not_found``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ember.api.model_ids import EMBEDDING_ID, collection_id, model_id, model_not_found
from ember.engines import structured_output
from ember.knowledge.embedder import MODEL_DIMENSION

if TYPE_CHECKING:
    from ember.core import Core

router = APIRouter()

# OpenAI's ``created`` (Unix seconds): Ember does not know when a model file was made, so every
# model says when this server process first listed models.
_CREATED = int(time.time())


def _entry(model: str, owned_by: str, **ember: Any) -> dict[str, Any]:
    return {
        "id": model,
        "object": "model",
        "created": _CREATED,
        "owned_by": owned_by,
        "ember": ember,
    }


def available_models(core: Core) -> list[dict[str, Any]]:
    """*worker* Every model the API serves, as listed (asks Ollama, opens the knowledge base)."""
    models = []
    choices = [*core.local_models(), *core.ollama_models()]
    for choice in choices:
        owner = "remote" if choice.key.startswith("remote:") else "ember"
        if choice.key.startswith("ollama:"):
            owner = "ollama"
        models.append(
            _entry(
                model_id(choice.key),
                owner,
                backend=choice.backend,
                label=choice.label,
                chat=True,
                embeddings=False,
                grounded=False,
                json_schema=structured_output(choice.backend),
            )
        )
    if core.has_documents():
        for info in core.knowledge().collections():
            if info.chunks > 0:
                models.append(
                    _entry(
                        collection_id(info.name),
                        "ember",
                        backend="ember",
                        label=f"Answers from the documents in “{info.name}”",
                        chat=True,
                        embeddings=False,
                        grounded=True,
                        json_schema=False,
                        collection=info.name,
                    )
                )
    models.append(
        _entry(
            EMBEDDING_ID,
            "ember",
            backend="sentence-transformers",
            label="all-MiniLM-L6-v2 (embeddings)",
            chat=False,
            embeddings=True,
            grounded=False,
            json_schema=False,
            dimensions=MODEL_DIMENSION,
        )
    )
    return models


def find_model(core: Core, wanted: str) -> dict[str, Any]:
    """*worker* The listed model ``wanted``; raises a 404 :class:`ApiError` when not listed."""
    for model in available_models(core):
        if model["id"] == wanted:
            return model
    raise model_not_found(wanted)


@router.get("/v1/models")
async def list_models(request: Request) -> dict[str, Any]:
    """OpenAI's model list: ``{"object": "list", "data": [model, ...]}``."""
    data = await run_in_threadpool(available_models, request.app.state.core)
    return {"object": "list", "data": data}


@router.get("/v1/models/{wanted:path}")
async def retrieve_model(wanted: str, request: Request) -> dict[str, Any]:
    """One listed model (Ollama ids may hold a "/"), or 404 ``model_not_found``."""
    return await run_in_threadpool(find_model, request.app.state.core, wanted)
