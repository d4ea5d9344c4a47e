"""Hybrid search: FAISS vectors and FTS5 BM25, fused by weighted reciprocal rank.

Vectors carry the meaning of a paraphrased question; keywords catch exact names, error codes and
flags the embedder blurs. Keyword ranks get a smaller weight than vector ranks because plain,
unweighted fusion made paraphrased questions *worse* than vectors alone (field notes; our own
check is in ``benchmarks/retrieval.py``). Results are near-duplicate-free (overlapping chunks,
the same paragraph in two files) and only come from fully indexed documents. Table-of-contents
passages ("Installation ........ 12", see :mod:`ember.knowledge.toc`) come after every passage of
body text: they share a question's words with the page that answers it and answer nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ember.knowledge.embedder import Embedder
from ember.knowledge.freshness import source_state
from ember.knowledge.keywords import has_cjk, mostly_cjk
from ember.knowledge.keywords import words as keyword_words
from ember.knowledge.store import ChunkRow, KnowledgeStore
from ember.knowledge.types import StaleSource
from ember.knowledge.vectors import VectorIndex

if TYPE_CHECKING:
    import numpy as np

# Words that match most chunks: they slow BM25 down at 100k chunks and rank nothing.
_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from has have how i if in is it its my of on or "
    "should so than that the their then there these this to was we what when where which who "
    "why will with you your".split()
)
_MAX_TERMS = 16
# BM25 ranks every row a word matches, at 1-2 µs a row: past this many rows in all, the most
# common words are left out of the keyword query (~10 ms; the query embedding runs meanwhile).
# Smaller collections are ranked by every word, as before.
_KEYWORD_ROW_BUDGET = 8_000
# A word in more than this share of chunks ranks next to nothing (BM25 idf below ~3).
_COMMON_WORD_SHARE = 0.05


@dataclass(frozen=True, slots=True)
class RetrievalOptions:
    """How hybrid search ranks.

    ``k`` results from the ``vector_candidates`` nearest vectors and ``keyword_candidates`` BM25
    matches, fused by reciprocal rank (``rrf_k``, one weight per list); chunks at least
    ``duplicate_similarity`` alike count as one; ``same_source_decay`` spreads results over
    documents.
    """

    k: int = 5
    vector_candidates: int = 40
    keyword_candidates: int = 40
    rrf_k: float = 60.0
    vector_weight: float = 1.0
    keyword_weight: float = 0.25
    # For a question written mostly in a script without spaces (Chinese, Japanese, Korean): the
    # built-in embedder (all-MiniLM-L6-v2) was trained on English, so its ranking of such text is
    # close to noise and the keyword (bigram) list leads instead.
    cjk_keyword_weight: float = 2.0
    duplicate_similarity: float = 0.95  # two chunks this alike are one result
    # Each passage a document already has among the results multiplies the rank score of its next
    # one by this (1: no spreading), and each one from the same page or section by
    # ``same_section_decay`` too. See ``HybridSearcher._distinct``.
    same_source_decay: float = 0.75
    same_section_decay: float = 0.5


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved chunk: where it is (``start``/``end`` are character offsets in its section),
    its ``similarity`` (cosine, -1..1) and ``rank_score`` (fused rank, the sort key)."""

    chunk_id: int
    source: str  # file path
    collection: str
    page: int | None
    heading: str | None
    text: str
    start: int
    end: int
    similarity: float  # cosine similarity of question and chunk, -1..1
    # What results are ordered by: fused reciprocal rank, spread over sources (table-of-contents
    # passages come after all the others, whatever their score).
    rank_score: float
    page_label: str | None = None  # the page's printed label (PDF page labels), if any
    page_count: int | None = None  # the document's physical pages, where known
    is_toc: bool = False  # table-of-contents entries: ranked after every body passage
    section: int | None = None  # the chunk's section in its parsed document
    content_hash: str | None = None  # the document's SHA-256 when it was indexed


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The hits of one search, best first, with ``best_similarity`` (cosine of the nearest chunk;
    None when no vector was compared) and the keyword evidence for abstaining; ``chunk_total``
    counts stored vectors."""

    hits: tuple[Hit, ...]
    best_similarity: float | None  # the closest chunk by meaning, for abstaining
    # The question's content words with the chunks containing each (counted up to a cap) out of
    # ``chunk_total``: what the keyword search counted anyway, kept as evidence for abstaining.
    terms: tuple[tuple[str, int], ...] = ()
    chunk_total: int = 0
    # Files among the best matches that were deleted or changed since they were indexed: left out
    # of ``hits`` (and of ``best_similarity``), named so the person can index them again.
    stale: tuple[StaleSource, ...] = ()


def query_words(text: str) -> list[str]:
    """The question's distinct content words, lower-cased, in order (at most 16). Text in scripts
    written without spaces comes as character bigrams, as the keyword index holds it."""
    found: list[str] = []
    for word in keyword_words(text.lower()):
        if word in _STOPWORDS or (len(word) < 2 and not has_cjk(word)) or word in found:
            continue
        found.append(word)
    return found[:_MAX_TERMS]


def fts_query(text: str) -> str:
    """An FTS5 expression: any of the question's content words, each quoted (no operators)."""
    return _any_of(query_words(text))


def _any_of(words: Sequence[str]) -> str:
    return " OR ".join(f'"{w}"' for w in words)


def selective_words(
    words: Sequence[str], frequencies: Sequence[int], total: int, budget: int = _KEYWORD_ROW_BUDGET
) -> list[str]:
    """The words worth ranking by, in their original order, so BM25 ranks at most ~``budget`` rows.

    ``frequencies`` are the chunks containing each word (``total`` chunks in all). Words that
    match nothing are dropped. If the rest fit the budget they are all kept; otherwise the
    rarest word is kept (unless even it matches over four budgets of rows: then it alone ranks
    nothing worth its time), and then the next rarest while they fit the budget and are in at
    most 5% of chunks.
    """
    present = [(count, order) for order, count in enumerate(frequencies) if count > 0]
    if sum(count for count, _ in present) <= budget:
        return [words[order] for _, order in present]
    kept: list[int] = []
    rows = 0
    for count, order in sorted(present):
        if not kept:
            if count > 4 * budget:
                return []
        elif rows + count > budget or count > _COMMON_WORD_SHARE * total:
            break
        kept.append(order)
        rows += count
    return [words[order] for order in sorted(kept)]


def _place(row: ChunkRow) -> tuple[str, int | None]:
    """Where a chunk is, for spreading and evidence: its file and page (or section)."""
    return (row.path, row.page if row.page is not None else row.section)


class _Freshness:
    """Whether each candidate's file is still what was indexed, looked at lazily: one ``stat``
    per file, only for files a result or the abstain evidence needs (see
    :mod:`ember.knowledge.freshness`)."""

    def __init__(self, rows: dict[int, ChunkRow]) -> None:
        self._rows = rows
        self._states: dict[str, str] = {}

    def state(self, chunk_id: int) -> str:
        row = self._rows[chunk_id]
        state = self._states.get(row.path)
        if state is None:
            state = self._states[row.path] = source_state(
                row.path, row.size, row.mtime_ns, row.content_hash
            )
        return state

    def ok(self, chunk_id: int) -> bool:
        return self.state(chunk_id) == "ok"


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _query_pool() -> ThreadPoolExecutor:
    """One thread that embeds queries while the calling thread runs the keyword search."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ember-query")
        return _pool


class HybridSearcher:
    """Vector (FAISS) and keyword (FTS5 BM25) search over one knowledge store, fused by reciprocal
    rank."""

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
        # Embedding plus vector search (torch, FAISS) and keyword search (SQLite) all release
        # the GIL: run them side by side. SQLite stays on this thread (its connection's owner).
        wanted = max(opts.vector_candidates, 2 * k)
        pending = _query_pool().submit(self._embed_and_search, query, wanted)
        terms: list[tuple[str, int]] = []
        try:
            keyword_ids = self._keyword_candidates(query, collections, terms)
        finally:
            query_vector, nearest = pending.result()

        rows, vector_ranked = self._vector_candidates(query_vector, collections, k, nearest)
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

        keyword_weight = opts.cjk_keyword_weight if mostly_cjk(query) else opts.keyword_weight
        fused: dict[int, float] = {}
        for rank, (_, chunk_id) in enumerate(vector_ranked):
            fused[chunk_id] = opts.vector_weight / (opts.rrf_k + rank + 1)
        for rank, chunk_id in enumerate(keyword_ranked):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + keyword_weight / (opts.rrf_k + rank + 1)
        ordered = sorted(fused, key=lambda i: (-fused[i], -similarity.get(i, -1.0), i))
        fresh = _Freshness(rows)
        stale = tuple(
            dict.fromkeys(
                StaleSource(rows[i].path, fresh.state(i), rows[i].collection)
                for i in ordered[: 2 * k]
                if not fresh.ok(i)
            )
        )
        # The nearest passage of a file that is still there (``vector_ranked`` is nearest first):
        # usually the first one looked at.
        best = next((score for score, i in vector_ranked if fresh.ok(i)), None)
        hits = self._distinct(ordered, rows, similarity, fused, k, fresh.ok)
        return SearchResult(
            tuple(hits),
            None if best is None else float(best),
            tuple(terms),
            len(self.vectors),
            stale,
        )

    def _embed_and_search(
        self, query: str, wanted: int
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        query_vector = self.embedder.embed_query(query)
        return query_vector, self.vectors.search(query_vector, wanted)

    def _keyword_candidates(
        self, query: str, collections: Sequence[str] | None, terms: list[tuple[str, int]]
    ) -> list[int]:
        """Chunk ids best first by BM25, ranked by the words selective enough to be worth it.

        Each content word's chunk count is appended to ``terms``.
        """
        words = query_words(query)
        if not words:
            return []
        budget = _KEYWORD_ROW_BUDGET
        counts = self.store.document_frequencies(words, 4 * budget + 1)
        terms.extend(zip(words, counts, strict=True))
        words = selective_words(words, counts, len(self.vectors), budget)
        if not words:
            return []
        return self.store.keyword_search(
            _any_of(words), collections, self.options.keyword_candidates
        )

    def _vector_candidates(
        self,
        query_vector: np.ndarray,
        collections: Sequence[str] | None,
        k: int,
        nearest: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[dict[int, ChunkRow], list[tuple[float, int]]]:
        """Nearest chunks of finished documents in ``collections``, widening the net as needed.

        ``nearest`` is the first search's result when the caller already ran it.
        """
        wanted = max(self.options.vector_candidates, 2 * k)
        total = len(self.vectors)
        while True:
            if nearest is None:
                scores, ids = self.vectors.search(query_vector, wanted)
            else:
                (scores, ids), nearest = nearest, None
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
        usable: Callable[[int], bool] = lambda _chunk_id: True,
    ) -> list[Hit]:
        """The ``k`` best of ``ordered`` that are ``usable`` (their file is still there):
        near-duplicates dropped, spread over documents and more over places (a page, or a section
        where there are no pages), table-of-contents passages last.

        A candidate competes at its rank score times ``same_source_decay`` for each passage its
        document already has among the results, times ``same_section_decay`` for each one from its
        own page or section. Without spreading one long page on a neighbouring subject could fill
        every slot: "pack a folder into a zip file with one call" found five passages of
        ``zipfile`` and not ``shutil.make_archive``, which is the answer. But the pages of a long
        manual are not repeats of each other: a per-document decay of 0.6 (the old setting, tuned
        on 32 short Python pages) pushed every further page of gnuplot's 311-page PDF below other
        files, and the answer with it. On the dev halves of ``benchmarks/eval_manuals.py`` and
        ``eval_python_docs.py --quick`` (hit@5): 0.6 alone gave gnuplot 0.785, git 0.787,
        python 1.0; 0.75 per document with 0.5 per page/section gives 0.853, 0.787, 1.0 (0.85
        per document: gnuplot 0.859 but git 0.754; 0.3 per place: the same as 0.5). Within one
        document the order is unchanged, except that a passage's page-mates wait behind it.
        """
        decay = self.options.same_source_decay
        section_decay = self.options.same_section_decay
        remaining = list(ordered)
        per_source: dict[str, int] = {}
        per_section: dict[tuple[str, int | None], int] = {}

        def spread(row: ChunkRow) -> float:
            return decay ** per_source.get(row.path, 0) * section_decay ** per_section.get(
                _place(row), 0
            )

        hits: list[Hit] = []
        kept_vectors: list[np.ndarray] = []
        kept_texts: set[str] = set()
        while remaining and len(hits) < k:
            # The first candidate wins ties: ``ordered`` already breaks them.
            position = max(
                range(len(remaining)),
                key=lambda n: (
                    not rows[remaining[n]].is_toc,
                    fused[remaining[n]] * spread(rows[remaining[n]]),
                    -n,
                ),
            )
            chunk_id = remaining.pop(position)
            if not usable(chunk_id):
                continue
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
            factor = spread(row)
            per_source[row.path] = per_source.get(row.path, 0) + 1
            per_section[_place(row)] = per_section.get(_place(row), 0) + 1
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
                    rank_score=fused[chunk_id] * factor,
                    page_label=row.page_label,
                    page_count=row.page_count,
                    is_toc=row.is_toc,
                    section=row.section,
                    content_hash=row.content_hash,
                )
            )
        return hits
