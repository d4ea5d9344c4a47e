"""Answer quality: does retrieval find the right document, and does Ember abstain when it should?

A QA file is a JSON list of questions::

    [{"question": "How do I reset the router?", "source": "router.pdf", "pages": [4]},
     {"question": "Who won the 1998 world cup?", "source": null}]

``source`` is the file name that answers the question (or a path suffix such as
``tutorial/venv.html`` when names repeat); ``null`` marks a question the documents cannot answer.
A retrieved chunk is a *hit* when its file matches ``source`` and, if ``pages`` is given, its page
is one of them. Extra keys (a ``split`` name, notes) are ignored.

The abstain decision is not re-implemented here: each question goes through
:meth:`KnowledgeBase.retrieve`, the very call ``ember ask`` makes, so the abstain rates measure
what a user would see. Rankings come from :meth:`KnowledgeBase.search` at depth 10, whose top
``k`` are the same chunks ``retrieve`` hands the model.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.errors import EmberError

if TYPE_CHECKING:
    from ember.knowledge import KnowledgeBase

DEPTH = 10  # MRR@10 needs the first ten results
HIT_AT = (1, 3, 5)


@dataclass(frozen=True, slots=True)
class QAItem:
    """One evaluation question: ``source`` is the file (name or path suffix) that answers it, None
    when the documents do not; ``pages`` (1-based), if set, narrows it to those pages."""

    question: str
    source: str | None  # None: the documents do not answer it
    pages: tuple[int, ...] | None = None

    @property
    def answerable(self) -> bool:
        """Whether the documents hold the answer (``source`` is set)."""
        return self.source is not None

    def matches(self, path: str, page: int | None) -> bool:
        """Whether a retrieved chunk from ``path`` (on ``page``) answers this question."""
        if self.source is None:
            return False
        wanted = self.source.replace("\\", "/").strip("/")
        found = path.replace("\\", "/")
        if "/" in wanted:
            same_file = found == wanted or found.endswith("/" + wanted)
        else:
            same_file = os.path.basename(found) == wanted
        return same_file and (self.pages is None or page in self.pages)


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """How retrieval (and, with a generator, the model) did on one question; ``latency_ms`` in
    milliseconds."""

    item: QAItem
    rank: int | None  # 1-based rank of the first hit within DEPTH results; None if none
    abstained: bool  # what `ember ask` would do: answer "not found in your documents"
    best_similarity: float | None  # of the nearest chunk: one input of the abstain decision
    latency_ms: float  # the retrieve call `ember ask` makes
    retrieved: tuple[str, ...] = ()  # file names of the ranked results, for reports
    answer: str | None = None  # with generation: the model's answer
    cited_source: bool | None = None  # with generation: the answer cites a matching source
    coverage: float | None = None  # the abstain decision's other input (see grounding.py)


@dataclass(frozen=True, slots=True)
class GeneratedAnswer:
    """A model's answer to one question: its text, whether it abstained, and the ``(file, page)`` of
    each source it cited."""

    text: str
    abstained: bool
    cited: tuple[tuple[str, int | None], ...]  # (file, page) of each source cited as [n]


Generator = Callable[[str], GeneratedAnswer]


def load_questions(path: Path | str) -> list[QAItem]:
    """The questions in a QA file; a malformed file raises an error naming the bad entry."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EmberError(f"Cannot read the QA file {path}: {exc.strerror or exc}.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise EmberError(f"The QA file {path} is not valid JSON ({exc}).") from None
    if not isinstance(raw, list) or not raw:
        raise EmberError(f"The QA file {path} must be a non-empty JSON list of questions.")
    items: list[QAItem] = []
    for number, entry in enumerate(raw, start=1):
        problem = _entry_problem(entry)
        if problem:
            raise EmberError(f"Question {number} in {path}: {problem}.")
        pages = entry.get("pages")
        items.append(
            QAItem(
                question=entry["question"],
                source=entry.get("source"),
                pages=tuple(pages) if pages is not None else None,
            )
        )
    return items


def _entry_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return 'expected an object like {"question": "...", "source": "file.pdf"}'
    question = entry.get("question")
    if not isinstance(question, str) or not question.strip():
        return '"question" must be a non-empty string'
    if "source" not in entry:
        return '"source" is missing (a file name, or null when the documents cannot answer it)'
    source = entry["source"]
    if source is not None and (not isinstance(source, str) or not source.strip()):
        return '"source" must be a file name or null'
    pages = entry.get("pages")
    if pages is not None and (
        not isinstance(pages, list)
        or not all(isinstance(p, int) and not isinstance(p, bool) for p in pages)
    ):
        return '"pages" must be a list of page numbers'
    return None


def first_hit_rank(
    item: QAItem, ranked: Sequence[tuple[str, int | None]], depth: int = DEPTH
) -> int | None:
    """1-based rank of the first (path, page) in ``ranked`` that answers ``item``."""
    for rank, (path, page) in enumerate(ranked[:depth], start=1):
        if item.matches(path, page):
            return rank
    return None


def evaluate(
    kb: KnowledgeBase,
    items: Sequence[QAItem],
    collections: Sequence[str] | None = None,
    *,
    generate: Generator | None = None,
    on_result: Callable[[QuestionResult], None] | None = None,
) -> list[QuestionResult]:
    """Ask every question of ``kb`` as ``ember ask`` would; with ``generate``, answer it too."""
    chosen = list(collections) if collections is not None else None
    if items:
        kb.retrieve(items[0].question, chosen)  # load the embedder before timing anything
    results: list[QuestionResult] = []
    for item in items:
        started = time.perf_counter()
        grounding = kb.retrieve(item.question, chosen)
        latency_ms = (time.perf_counter() - started) * 1000
        ranked = kb.search(item.question, chosen, DEPTH).hits
        pairs = [(hit.source, hit.page) for hit in ranked]
        result = QuestionResult(
            item=item,
            rank=first_hit_rank(item, pairs),
            abstained=grounding.abstained,
            best_similarity=grounding.best_similarity,
            latency_ms=latency_ms,
            retrieved=tuple(os.path.basename(path) for path, _ in pairs),
            coverage=_number(grounding.extra.get("coverage")),
        )
        if generate is not None:
            answer = generate(item.question)
            cited = None
            if item.answerable:
                cited = any(item.matches(path, page) for path, page in answer.cited)
            result = _replace(result, answer=answer.text, cited_source=cited)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _replace(result: QuestionResult, **changes: Any) -> QuestionResult:
    import dataclasses

    return dataclasses.replace(result, **changes)


@dataclass(frozen=True, slots=True)
class Metrics:
    """Retrieval quality over a QA set.

    Hit rates and MRR@10 over answerable questions (0..1); ``abstain_rate_unanswerable`` and
    ``false_abstain_rate`` (abstentions on answerable questions) are None without questions of that
    kind; ``p95_ms`` is the 95th-percentile retrieve latency in milliseconds.
    """

    n: int
    n_answerable: int
    n_unanswerable: int
    hit_at_1: float
    hit_at_3: float
    hit_at_5: float
    mrr_at_10: float
    abstain_rate_unanswerable: float | None  # None when the set has no such question
    false_abstain_rate: float | None
    p95_ms: float
    extra: dict[str, object] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        """The metrics as a JSON-ready dict: rates rounded to 4 places, ``p95_ms`` to 1, ``extra``
        merged in."""
        data: dict[str, object] = {
            "n": self.n,
            "n_answerable": self.n_answerable,
            "n_unanswerable": self.n_unanswerable,
            "hit_at_1": _round(self.hit_at_1),
            "hit_at_3": _round(self.hit_at_3),
            "hit_at_5": _round(self.hit_at_5),
            "mrr_at_10": _round(self.mrr_at_10),
            "abstain_rate_unanswerable": _round(self.abstain_rate_unanswerable),
            "false_abstain_rate": _round(self.false_abstain_rate),
            "p95_ms": round(self.p95_ms, 1),
        }
        data.update(self.extra)
        return data


def summarize(results: Sequence[QuestionResult]) -> Metrics:
    """Hit@1/3/5 and MRR@10 over answerable questions; abstain rates over each kind."""
    answerable = [r for r in results if r.item.answerable]
    unanswerable = [r for r in results if not r.item.answerable]

    def hit_at(k: int) -> float:
        return _share(sum(1 for r in answerable if r.rank is not None and r.rank <= k), answerable)

    mrr = _share(sum(1.0 / r.rank for r in answerable if r.rank is not None), answerable)
    extra: dict[str, object] = {}
    generated = [r for r in answerable if r.cited_source is not None]
    if generated:
        cited = sum(1 for r in generated if r.cited_source) / len(generated)
        extra["answer_cites_source_rate"] = round(cited, 4)
    return Metrics(
        n=len(results),
        n_answerable=len(answerable),
        n_unanswerable=len(unanswerable),
        hit_at_1=hit_at(1),
        hit_at_3=hit_at(3),
        hit_at_5=hit_at(5),
        mrr_at_10=mrr,
        abstain_rate_unanswerable=(
            sum(r.abstained for r in unanswerable) / len(unanswerable) if unanswerable else None
        ),
        false_abstain_rate=(
            sum(r.abstained for r in answerable) / len(answerable) if answerable else None
        ),
        p95_ms=percentile([r.latency_ms for r in results], 95),
        extra=extra,
    )


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def _share(count: float, of: Sequence[object]) -> float:
    return count / len(of) if of else 0.0


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
