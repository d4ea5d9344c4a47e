"""``POST /v1/embeddings``: text as the embedded embedder's vectors (all-MiniLM-L6-v2, 384).

Request (OpenAI's fields): ``input`` a string or a list of strings (at most :data:`MAX_INPUTS`,
each at most :data:`MAX_INPUT_CHARS` characters; token arrays are refused: Ember's embedder
reads text), ``model`` the embedder's id or an alias (:mod:`ember.api.model_ids`; absent is fine;
a chat model's id is a 400 naming the embedder, any other id a 404), ``encoding_format`` ``float`` (the default) or ``base64`` (little-endian
float32 bytes, what the ``openai`` client asks for), ``dimensions`` absent or 384.

Answer: ``{"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model",
"usage": {"prompt_tokens", "total_tokens"}}``; tokens are the embedder's own count of each text
(no special tokens; the model reads the first 256 of a longer text). The vectors are
L2-normalised. The embedding runs on a worker thread, and in the app in the retrieval helper
process (:meth:`ember.core.Core.embed`).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ember.api.errors import ApiError, bad_request
from ember.api.model_ids import (
    EMBEDDED_ID,
    EMBEDDING_ID,
    is_embedding,
    model_not_found,
    not_an_embedding_model,
)
from ember.knowledge.embedder import MODEL_DIMENSION

if TYPE_CHECKING:
    from ember.core import Core

router = APIRouter()

MAX_INPUTS = 256
# ~8 times what the model reads (256 tokens): enough for any passage, small enough that a
# request cannot make the tokenizer chew on megabytes.
MAX_INPUT_CHARS = 8192


class EmbeddingRequest(BaseModel):
    """The body of ``POST /v1/embeddings`` (other OpenAI fields, such as ``user``, are ignored)."""

    input: Any
    model: str | None = None
    encoding_format: str = "float"
    dimensions: int | None = None


def _wrong_model(core: Core, wanted: str) -> ApiError:
    """*worker* The error for a ``model`` that is not the embedder: 400 for a chat model the
    server lists (or ``embedded``), else 404 naming the embedder."""
    from ember.api.routes_models import available_models

    chat = {m["id"] for m in available_models(core) if m["ember"]["chat"]}
    if wanted == EMBEDDED_ID or wanted in chat:
        return not_an_embedding_model(wanted)
    return model_not_found(wanted, [EMBEDDING_ID])


def texts_of(value: Any) -> list[str]:
    """The texts of an ``input`` field; raises a 400 :class:`ApiError` for anything else."""
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise bad_request(
            "input must be a string or a list of strings; token arrays are not supported.",
            param="input",
        )
    if not texts:
        raise bad_request("input is empty; give at least one string.", param="input")
    if len(texts) > MAX_INPUTS:
        raise bad_request(
            f"input has {len(texts)} strings; at most {MAX_INPUTS} per request.", param="input"
        )
    longest = max(len(t) for t in texts)
    if longest > MAX_INPUT_CHARS:
        raise bad_request(
            f"An input string has {longest} characters; at most {MAX_INPUT_CHARS}.",
            param="input",
        )
    return texts


@router.post("/v1/embeddings")
async def create_embeddings(body: EmbeddingRequest, request: Request) -> dict[str, Any]:
    """The vectors of ``body.input``, in the order given."""
    if not is_embedding(body.model):
        raise await run_in_threadpool(_wrong_model, request.app.state.core, str(body.model))
    if body.encoding_format not in ("float", "base64"):
        raise bad_request("encoding_format must be float or base64.", param="encoding_format")
    if body.dimensions is not None and body.dimensions != MODEL_DIMENSION:
        raise bad_request(
            f"{EMBEDDING_ID} gives {MODEL_DIMENSION} dimensions only.", param="dimensions"
        )
    texts = texts_of(body.input)
    vectors, tokens = await run_in_threadpool(request.app.state.core.embed, texts)
    data = []
    for index, vector in enumerate(vectors):
        if body.encoding_format == "base64":
            raw = vector.astype("<f4", copy=False).tobytes()
            embedding: Any = base64.b64encode(raw).decode("ascii")
        else:
            embedding = vector.tolist()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    used = sum(tokens)
    return {
        "object": "list",
        "data": data,
        "model": EMBEDDING_ID,
        "usage": {"prompt_tokens": used, "total_tokens": used},
    }
