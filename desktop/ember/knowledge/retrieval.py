"""Hybrid search: FAISS vectors and FTS5 BM25, fused by weighted reciprocal rank.

Vectors carry the meaning of a paraphrased question; keywords catch exact names, error codes and
flags the embedder blurs. Keyword ranks get a smaller weight than vector ranks because plain,
unweighted fusion made paraphrased questions *worse* than vectors alone (field notes; our own
check is in ``benchmarks/retrieval.py``). Results are near-duplicate-free (overlapping chunks,
the same paragraph in two files) and only come from fully indexed documents.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ember.knowledge.embedder import Embedder
from ember.knowledge.store import ChunkRow, KnowledgeStore
from ember.knowledge.vectors import VectorIndex

if TYPE_CHECKING:
    import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)
# Words that match most chunks: they slow BM25 down at 100k chunks and rank nothing.
_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from has have how i if in is it its my of on or "
    "should so than that the their then there these this to was we what when where which who "
    "why will with you your".split()
)
_MAX_TERMS = 16


@dataclass(frozen=True, slots=True)
class RetrievalOptions:
    k: int = 5
    vector_candidates: int = 40
    keyword_candidates: int = 40
    rrf_k: float = 60.0
    vector_weight: float = 1.0
    keyword_weight: float = 0.25
    duplicate_similarity: float = 0.95  # two chunks this alike are one result


@dataclass(frozen=True, slots=True)
class Hit:
    chunk_id: int
    source: str  # file path
    collection: str
    page: int | None
    heading: str | None
    text: str
    start: int
    end: int
    similarity: float  # cosine similarity of question and chunk, -1..1
    score: float  # the fused rank score results are ordered by


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: tuple[Hit, ...]
    best_similarity: float | None  # the closest chunk by meaning, for abstaining


def fts_query(text: str) -> str:
    """An FTS5 expression: any of the question's content words, each quoted (no operators)."""
    words: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word in _STOPWORDS or len(word) < 2 or word in words:
            continue
        words.append(word)
    return " OR ".join(f'"{w}"' for w in words[:_MAX_TERMS])


class HybridSearcher:
    def __init__(
        self,
        store: KnowledgeStore,
        vectors: VectorIndex,
        embedder: Embedder,
        options: RetrievalOptions | None = None,
    ) -> None:
        self.store = store
        self.vectors = vectors
        self.embedder = embedder
        self.options = options or RetrievalOptions()

    def search(
        self, query: str, collections: Sequence[str] | None = None, k: int | None = None
    ) -> SearchResult:
        """The ``k`` best chunks for ``query`` in ``collections`` (all when ``None``)."""
        import numpy as np

        opts = self.options
        k = opts.k if k is None else k
        if not query.strip() or k <= 0:
            return SearchResult((), None)
        query_vector = self.embedder.embed_query(query)

        rows, vector_ranked = self._vector_candidates(query_vector, collections, k)
        match = fts_query(query)
        keyword_ids = (
            self.store.keyword_search(match, collections, opts.keyword_candidates) if match else []
        )
        fresh = [i for i in keyword_ids if i not in rows]
        if fresh:
            rows.update(self.store.chunk_rows(fresh, collections))
        keyword_ranked = [i for i in keyword_ids if i in rows]

        similarity = {chunk_id: score for score, chunk_id in vector_ranked}
        unscored = [i for i in keyword_ranked if i not in similarity]
        if unscored:
            present = self.vectors._contains(np.asarray(unscored, dtype=np.int64))
            known = [i for i, ok in zip(unscored, present, strict=True) if ok]
            if known:
                sims = self.vectors.reconstruct(known) @ query_vector
                similarity.update(zip(known, (float(s) for s in sims), strict=True))

        fused: dict[int, float] = {}
        for rank, (_, chunk_id) in enumerate(vector_ranked):
            fused[chunk_id] = opts.vector_weight / (opts.rrf_k + rank + 1)
        for rank, chunk_id in enumerate(keyword_ranked):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + opts.keyword_weight / (
                opts.rrf_k + rank + 1
            )
        ordered = sorted(fused, key=lambda i: (-fused[i], -similarity.get(i, -1.0), i))
        best = max((score for score, _ in vector_ranked), default=None)
        hits = self._distinct(ordered, rows, similarity, fused, k)
        return SearchResult(tuple(hits), None if best is None else float(best))

    def _vector_candidates(
        self, query_vector: np.ndarray, collections: Sequence[str] | None, k: int
    ) -> tuple[dict[int, ChunkRow], list[tuple[float, int]]]:
        """Nearest chunks of finished documents in ``collections``, widening the net as needed."""
        wanted = max(self.options.vector_candidates, 2 * k)
        total = len(self.vectors)
        while True:
            scores, ids = self.vectors.search(query_vector, wanted)
            rows = self.store.chunk_rows([int(i) for i in ids], collections)
            ranked = [
                (float(s), int(i)) for s, i in zip(scores, ids, strict=True) if int(i) in rows
            ]
            if len(ranked) >= k or wanted >= total:
                return rows, ranked[: max(self.options.vector_candidates, 2 * k)]
            wanted *= 8  # a small collection among many: look further down the list

    def _distinct(
        self,
        ordered: list[int],
        rows: dict[int, ChunkRow],
        similarity: dict[int, float],
        fused: dict[int, float],
        k: int,
    ) -> list[Hit]:

        hits: list[Hit] = []
        kept_vectors: list[np.ndarray] = []
        kept_texts: set[str] = set()
        for chunk_id in ordered:
            row = rows[chunk_id]
            normal = " ".join(row.text.split()).lower()
            if normal in kept_texts:
                continue
            vector = None
            if chunk_id in similarity:
                vector = self.vectors.reconstruct([chunk_id])[0]
                if any(
                    float(vector @ other) >= self.options.duplicate_similarity
                    for other in kept_vectors
                ):
                    continue
            kept_texts.add(normal)
            if vector is not None:
                kept_vectors.append(vector)
            hits.append(
                Hit(
                    chunk_id=chunk_id,
                    source=row.path,
                    collection=row.collection,
                    page=row.page,
                    heading=row.heading,
                    text=row.text,
                    start=row.start,
                    end=row.end,
                    similarity=similarity.get(chunk_id, 0.0),
                    score=fused[chunk_id],
                )
            )
            if len(hits) >= k:
                break
        return hits
