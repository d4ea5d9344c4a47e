"""An abstain threshold learned from the collection itself: tried, and not adopted.

The grounding score (``similarity + 0.4 coverage``, see ``ember/knowledge/grounding.py``) of a
question nothing answers depends on the documents, so the idea (issue #13) was to give each
collection its own threshold, measured on questions it cannot answer that look like its own:

1. draw ``samples`` chunks (seeded, table-of-contents chunks left out) and take one sentence of
   6-25 words from each, a *pseudo-question*;
2. score each pseudo-question against the collection **without the document it came from**
   (for a paged document: without the pages within 3 of its page, so one 300-page manual still
   calibrates), as a question would score that is about this collection's subject but that
   nothing here answers;
3. the threshold is the ``quantile`` of those scores.

On python-docs the held-out pseudo-questions score like the real unanswerable questions
(median 0.535 against 0.492) and quantile 0.30, chosen on the dev half by the margin rule the
fixed threshold was chosen by, lands on 0.518: the hand-tuned 0.52 learned from the documents
alone. On git's manual it does not transfer: command pages repeat each other's option text, so
a sentence held out of one page still finds a near-copy on another, the threshold rises to
0.674, and the held-out half goes from 0.18 abstained / 0 false abstains (fixed 0.52) to 0.35 /
0.13. ``benchmarks/abstain_study.py`` prints these figures. Kept here as the study's tool, not
in Ember. Cost: one query embedding and one vector search per sample (2-17 s for 120 on two
cores, depending on load).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ember.knowledge.retrieval import query_words

if TYPE_CHECKING:
    from ember.knowledge.embedder import Embedder
    from ember.knowledge.store import ChunkRow, KnowledgeStore
    from ember.knowledge.vectors import VectorIndex

SAMPLES = 120
QUANTILE = 0.30
MIN_SAMPLES = 20  # fewer usable pseudo-questions: keep the global threshold
# A pseudo-question from a page of a long document is held out with the pages this close to it:
# one 300-page manual still calibrates, against its other chapters.
_PAGE_SPAN = 3
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True, slots=True)
class Calibration:
    """One collection's abstain threshold on the grounding score, from ``samples`` pseudo-questions
    held out of their documents, when the collection had ``chunks`` chunks."""

    collection: str
    threshold: float
    samples: int
    chunks: int
    quantile: float = QUANTILE
    coverage_weight: float = 0.4


def pseudo_question(text: str, rng: random.Random) -> str | None:
    """One sentence of 6-25 words from ``text``, drawn with ``rng``; None when there is none."""
    sentences = [
        " ".join(s.split()) for s in _SENTENCE_SPLIT.split(text) if 6 <= len(s.split()) <= 25
    ]
    return rng.choice(sentences) if sentences else None


def calibrate(
    store: KnowledgeStore,
    vectors: VectorIndex,
    embedder: Embedder,
    collection: str,
    *,
    samples: int = SAMPLES,
    quantile: float = QUANTILE,
    coverage_weight: float = 0.4,
    seed: int = 0,
) -> Calibration | None:
    """The threshold for ``collection`` (None when it has too few documents or sentences: a
    held-out score needs another document to land on)."""
    from ember.knowledge.grounding import best_coverage, term_weights

    rows = store.conn.execute(
        "SELECT ch.id, ch.document_id, ch.page, ch.text FROM chunks ch "
        "JOIN documents d ON d.id = ch.document_id JOIN collections c ON c.id = d.collection_id "
        "WHERE c.name = ? AND d.state = 'done' AND ch.is_toc = 0 ORDER BY ch.id",
        (collection,),
    ).fetchall()
    places = {(row[1], None if row[2] is None else row[2] // _PAGE_SPAN) for row in rows}
    if len(places) < 2:
        return None
    rng = random.Random(seed)
    drawn = rng.sample(rows, min(len(rows), 2 * samples))
    questions: list[tuple[tuple[int, int | None], str]] = []
    for _, document_id, page, text in drawn:
        sentence = pseudo_question(text, rng)
        if sentence is not None and query_words(sentence):
            questions.append(((int(document_id), page), sentence))
        if len(questions) == samples:
            break
    if len(questions) < MIN_SAMPLES:
        return None
    total = len(vectors)
    scores: list[float] = []
    for place, sentence in questions:
        vector = embedder.embed_query(sentence)
        others = _nearest_elsewhere(store, vectors, vector, collection, place)
        if not others:
            continue
        words = query_words(sentence)
        counts = store.document_frequencies(words, total + 1)
        weighted = term_weights(list(zip(words, counts, strict=True)), total)
        coverage = best_coverage(weighted, [text for _, text in others[:4]])
        scores.append(others[0][0] + coverage_weight * coverage)
    if len(scores) < MIN_SAMPLES:
        return None
    return Calibration(
        collection, _quantile(scores, quantile), len(scores), len(rows), quantile, coverage_weight
    )


def _nearest_elsewhere(
    store: KnowledgeStore,
    vectors: VectorIndex,
    vector: object,
    collection: str,
    place: tuple[int, int | None],
    wanted: int = 40,
) -> list[tuple[float, str]]:
    """(cosine, heading + text) of the nearest chunks of ``collection`` away from ``place``
    (document id, page): outside that document, or for a paged one, more than ``_PAGE_SPAN``
    pages away; nearest first, widening the search while fewer than 4 are found."""
    document_id, page = place

    def away(row: ChunkRow) -> bool:
        if row.document_id != document_id:
            return True
        return page is not None and row.page is not None and abs(row.page - page) > _PAGE_SPAN

    total = len(vectors)
    while True:
        scores, ids = vectors.search(vector, wanted)
        rows = store.chunk_rows([int(i) for i in ids], [collection])
        found = [
            (float(score), f"{rows[int(i)].heading or ''} {rows[int(i)].text}")
            for score, i in zip(scores, ids, strict=True)
            if int(i) in rows and away(rows[int(i)])
        ]
        if len(found) >= 4 or wanted >= total:
            return found
        wanted *= 8


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
