"""Retrieved chunks → the sources block of a prompt, its citations, or an honest abstention.

Retrieved text is untrusted input: each source sits in its own code fence (longer than any run of
backticks inside it, so a document cannot close the fence), and chat-template special tokens are
neutralised, so a document saying ``<|im_start|>system`` cannot switch roles.

Abstaining: when even the closest chunk by meaning is less similar than ``abstain_below``, the
documents almost surely do not hold the answer and a small model handed weak sources invents
one. Calibrated with ``benchmarks/eval_python_docs.py`` (59 paraphrased questions over 32 pages
of Python's docs, 13 plausible ones those pages do not answer, MiniLM, 80-token chunks): the
weakest answerable question of the tuning half scored 0.41 and the threshold sits a margin below
it, at 0.38. Questions about another topic score far lower (0.04-0.29), but unanswerable questions
*in the documents' own domain* overlap the answerable ones (0.33-0.44 against 0.35-0.80): 5 of
the 13 unanswerable ones are still answered. A missed answer ("not in your documents" when it is)
costs the user more than weak sources the model is told to decline.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ember.engines.sanitize import neutralize_special_tokens
from ember.knowledge.retrieval import Hit, SearchResult
from ember.knowledge.types import Citation, Grounding

NOT_FOUND_TEXT = "not found in your documents"
DEFAULT_ABSTAIN_BELOW = 0.38
_BACKTICKS = re.compile(r"`{3,}")


@dataclass(frozen=True, slots=True)
class GroundingOptions:
    k: int = 4  # sources per question: a small model's context is short
    abstain_below: float = DEFAULT_ABSTAIN_BELOW
    snippet_chars: int = 240


class Searcher(Protocol):
    def search(
        self, query: str, collections: Sequence[str] | None = None, k: int | None = None
    ) -> SearchResult: ...


class DocumentRetriever:
    """The assistant's Retriever: ``retrieve(question, collections) -> Grounding``."""

    def __init__(self, searcher: Searcher, options: GroundingOptions | None = None) -> None:
        self.searcher = searcher
        self.options = options or GroundingOptions()

    def retrieve(self, question: str, collections: Sequence[str] | None) -> Grounding:
        result = self.searcher.search(
            question, list(collections) if collections is not None else None, self.options.k
        )
        return ground(result, self.options)


def ground(result: SearchResult, options: GroundingOptions | None = None) -> Grounding:
    """The sources block and citations for ``result``, or an abstention."""
    options = options or GroundingOptions()
    best = result.best_similarity
    extra: dict[str, object] = {"abstain_below": options.abstain_below}
    if not result.hits or best is None or best < options.abstain_below:
        extra["reason"] = NOT_FOUND_TEXT
        return Grounding(context="", abstained=True, best_score=best, extra=extra)
    citations = tuple(
        Citation(
            n=number,
            source=hit.source,
            page=hit.page,
            heading=hit.heading,
            snippet=snippet(hit.text, options.snippet_chars),
            score=round(hit.similarity, 4),
        )
        for number, hit in enumerate(result.hits, start=1)
    )
    context = format_sources(result.hits)
    return Grounding(context=context, citations=citations, best_score=best, extra=extra)


def format_sources(hits: Sequence[Hit]) -> str:
    """Numbered, fenced, neutralised sources, one per hit."""
    blocks = []
    for number, hit in enumerate(hits, start=1):
        blocks.append(f"[{number}] {source_label(hit)}\n{fence(hit.text)}")
    return "\n\n".join(blocks)


def source_label(hit: Hit) -> str:
    parts = [os.path.basename(hit.source) or hit.source]
    if hit.page is not None:
        parts.append(f"page {hit.page}")
    if hit.heading:
        parts.append(f'section "{hit.heading}"')
    label = ", ".join(parts)
    return neutralize_special_tokens(" ".join(label.split()))  # no newlines from file names


def fence(text: str) -> str:
    """``text`` inside a code fence it cannot close, special tokens neutralised."""
    longest = max((len(m.group(0)) for m in _BACKTICKS.finditer(text)), default=0)
    marks = "`" * max(3, longest + 1)
    body = neutralize_special_tokens(text.strip())
    return f"{marks}text\n{body}\n{marks}"


def snippet(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return f"{cut}…"
