"""Make the vector file agree with SQLite when a writer opens the knowledge base.

SQLite is the truth (see :mod:`ember.knowledge.store`): vectors without a chunk row are removed,
finished documents whose vectors are missing are reopened, pending documents whose vectors all
made it are finished, and a change of embedding model forgets every vector for a clean re-embed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ember.knowledge.embedder import Embedder
    from ember.knowledge.store import KnowledgeStore
    from ember.knowledge.vectors import VectorIndex

META_MODEL = "embedding_model"
META_DIMENSION = "embedding_dimension"


@dataclass(frozen=True, slots=True)
class RepairReport:
    """What :func:`reconcile` changed to make the vectors agree with SQLite."""

    removed_vectors: int = 0
    reopened_documents: int = 0  # 'done' documents whose vectors were missing
    finished_documents: int = 0  # 'pending' documents whose vectors were all there
    reset_for_model: str | None = None  # set when a new embedding model forced a re-embed
    problem: str | None = None  # why the vector file was unusable, if it was


def reconcile(store: KnowledgeStore, vectors: VectorIndex, embedder: Embedder) -> RepairReport:
    """Make the FAISS index and SQLite agree (SQLite wins); switch embedding models cleanly."""
    import numpy as np

    reset_for: str | None = None
    recorded = store.get_meta(META_MODEL)
    if recorded is not None and (
        recorded != embedder.name or store.get_meta(META_DIMENSION) != str(embedder.dimension)
    ):
        # Never mix two models' vectors: forget every chunk and vector, re-embed from scratch.
        with store.transaction():
            store.set_meta(META_MODEL, embedder.name)
            store.set_meta(META_DIMENSION, str(embedder.dimension))
        store.forget_all_chunks()
        vectors.remove(vectors.ids())
        reset_for = embedder.name
    elif recorded is None:
        with store.transaction():
            store.set_meta(META_MODEL, embedder.name)
            store.set_meta(META_DIMENSION, str(embedder.dimension))

    chunk_ids = np.asarray(store.chunk_ids(), dtype=np.int64)
    vector_ids = vectors.ids()
    extra = np.setdiff1d(vector_ids, chunk_ids)
    if len(extra):
        vectors.remove(extra)
    vectors.save()
    missing = np.setdiff1d(chunk_ids, vector_ids)
    reopened = store.documents_of_chunks(int(i) for i in missing)
    done_missing = [d.id for d in store.documents(state="done") if d.id in reopened]
    store.mark_pending(done_missing)
    finished = [
        d.id for d in store.documents(state="pending") if d.id not in reopened and d.content_hash
    ]
    store.mark_done(finished)
    return RepairReport(
        removed_vectors=len(extra),
        reopened_documents=len(done_missing),
        finished_documents=len(finished),
        reset_for_model=reset_for,
        problem=vectors.load_problem,
    )
