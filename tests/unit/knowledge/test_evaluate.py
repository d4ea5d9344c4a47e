from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.knowledge_corpus import QUESTIONS, UNANSWERABLE, write_corpus

from ember.assistant import Assistant, ReplyDone, ReplyStarted
from ember.chats.store import ChatStore
from ember.config import Settings
from ember.engines import Engine
from ember.errors import EmberError
from ember.knowledge import KnowledgeBase
from ember.knowledge.embedder import MiniLMEmbedder
from ember.knowledge.evaluate import (
    QAItem,
    QuestionResult,
    evaluate,
    first_hit_rank,
    load_questions,
    percentile,
    summarize,
)
from ember.knowledge.grounding import GroundingOptions
from ember.paths import ember_paths

REPO = Path(__file__).resolve().parents[3]


def qa_items() -> list[QAItem]:
    answerable = [QAItem(q, name, (page,) if page else None) for q, name, page in QUESTIONS]
    return answerable + [QAItem(q, None) for q in UNANSWERABLE]


def result(item: QAItem, rank: int | None, abstained: bool = False) -> QuestionResult:
    return QuestionResult(item, rank, abstained, best_similarity=0.5, latency_ms=10.0)


@pytest.fixture(scope="module")
def manuals(
    tmp_path_factory: pytest.TempPathFactory, minilm: MiniLMEmbedder
) -> Iterator[tuple[Path, KnowledgeBase]]:
    root = tmp_path_factory.mktemp("evaluate")
    write_corpus(root / "docs", pdf=True)
    # data/knowledge: where a Core over Paths(data_dir=root / "data") looks for it.
    with KnowledgeBase(root / "data" / "knowledge", embedder=minilm) as kb:
        assert not kb.index([root / "docs"], "manuals").failed
    with KnowledgeBase(root / "data" / "knowledge", embedder=minilm) as reader:
        yield root, reader


# -- arithmetic on known rankings ----------------------------------------------------------------


def test_the_first_result_from_the_expected_file_gives_the_rank() -> None:
    item = QAItem("q", "bread.md")
    ranked = [("/d/router.txt", None), ("/d/bread.md", None), ("/d/bread.md", None)]
    assert first_hit_rank(item, ranked) == 2


def test_pages_narrow_a_hit_to_those_pages() -> None:
    item = QAItem("q", "guide.pdf", (3,))
    ranked = [("/d/guide.pdf", 2), ("/d/other/guide.pdf", 3)]
    assert first_hit_rank(item, ranked) == 2


def test_a_source_with_a_folder_matches_the_path_suffix_only() -> None:
    item = QAItem("q", "tutorial/venv.html")
    ranked = [("/docs/library/venv.html", None), ("/docs/tutorial/venv.html", None)]
    assert first_hit_rank(item, ranked) == 2


def test_a_hit_below_depth_ten_does_not_count() -> None:
    ranked = [("/d/a.txt", None)] * 10 + [("/d/b.txt", None)]
    assert first_hit_rank(QAItem("q", "b.txt"), ranked) is None


def test_hits_and_mrr_are_averaged_over_answerable_questions_only() -> None:
    ranks = [1, 2, None, 4]
    results = [result(QAItem(f"q{i}", "a.txt"), r) for i, r in enumerate(ranks)]
    results.append(result(QAItem("nope", None), None, abstained=True))
    metrics = summarize(results)
    assert (metrics.n, metrics.n_answerable, metrics.n_unanswerable) == (5, 4, 1)
    assert (metrics.hit_at_1, metrics.hit_at_3, metrics.hit_at_5) == (0.25, 0.5, 0.75)
    assert metrics.mrr_at_10 == pytest.approx((1 + 1 / 2 + 1 / 4) / 4)


def test_abstain_rates_split_by_kind_of_question() -> None:
    results = [
        result(QAItem("a1", "a.txt"), 1, abstained=True),
        result(QAItem("a2", "a.txt"), 1),
        result(QAItem("a3", "a.txt"), 1),
        result(QAItem("a4", "a.txt"), 1),
        result(QAItem("u1", None), None, abstained=True),
        result(QAItem("u2", None), None),
    ]
    metrics = summarize(results)
    assert metrics.false_abstain_rate == 0.25
    assert metrics.abstain_rate_unanswerable == 0.5


def test_p95_is_the_nearest_rank_percentile() -> None:
    assert percentile([float(v) for v in range(1, 101)], 95) == 95.0
    assert percentile([3.0], 95) == 3.0


# -- QA files ----------------------------------------------------------------------------------


def test_a_qa_file_loads_sources_pages_and_unanswerable_questions(tmp_path: Path) -> None:
    path = tmp_path / "qa.json"
    path.write_text(
        json.dumps(
            [
                {"question": "Where?", "source": "guide.pdf", "pages": [2, 3], "split": "dev"},
                {"question": "Who won?", "source": None},
            ]
        )
    )
    assert load_questions(path) == [
        QAItem("Where?", "guide.pdf", (2, 3)),
        QAItem("Who won?", None),
    ]


def test_a_malformed_entry_is_reported_by_its_number(tmp_path: Path) -> None:
    path = tmp_path / "qa.json"
    path.write_text(json.dumps([{"question": "ok", "source": None}, {"question": "no source"}]))
    with pytest.raises(EmberError, match=r'Question 2 .*"source" is missing'):
        load_questions(path)


def test_misses_show_both_inputs_of_the_abstain_decision() -> None:
    answerable = QuestionResult(QAItem("q1", "a.txt"), 1, True, 0.41, 9.0, coverage=0.1)
    unanswerable = QuestionResult(QAItem("q2", None), None, False, 0.55, 9.0, coverage=0.8)
    from ember.cli.evaluate import format_misses

    assert format_misses([answerable, unanswerable]) == [
        "false abstain (similarity 0.41, coverage 0.10): q1",
        "answered unanswerable (similarity 0.55, coverage 0.80): q2",
    ]


# -- on a real corpus with the real embedder ---------------------------------------------------


@pytest.mark.slow
def test_paraphrased_questions_find_their_source_and_unrelated_ones_abstain(
    manuals: tuple[Path, KnowledgeBase],
) -> None:
    _, kb = manuals
    metrics = summarize(evaluate(kb, qa_items(), ["manuals"]))
    assert metrics.hit_at_5 == 1.0 and metrics.mrr_at_10 >= 0.8
    assert metrics.abstain_rate_unanswerable == 1.0 and metrics.false_abstain_rate == 0.0


class _ModelAsked(Exception):
    """Raised by the engine provider below: the assistant went on to ask the model."""


def _ask_the_model() -> Engine:
    raise _ModelAsked


@pytest.mark.slow
def test_abstention_is_the_decision_ask_makes(
    manuals: tuple[Path, KnowledgeBase], tmp_path: Path
) -> None:
    """What `ember ask` does is the Assistant over the knowledge base: it abstains without
    asking the model, or asks it. The evaluation must report that decision, question by
    question (the answer itself does not matter here, so no model is loaded)."""
    _, kb = manuals
    outcomes = evaluate(kb, qa_items(), ["manuals"])
    with ChatStore(tmp_path / "chats.sqlite3") as store:
        assistant = Assistant(_ask_the_model, store, Settings(), retriever=kb)
        for outcome in outcomes:
            chat = store.create(collections=["manuals"])
            events = assistant.send(chat.id, outcome.item.question)
            started = next(events)
            assert isinstance(started, ReplyStarted)
            try:
                rest = list(events)
            except _ModelAsked:
                asked_model = True
            else:
                asked_model = False
                assert isinstance(rest[-1], ReplyDone) and rest[-1].abstained
            assert outcome.abstained == (not asked_model), outcome.item.question
            assert bool(started.citations) == asked_model
    # Both decisions occur, so the comparison above is not vacuous.
    assert {o.abstained for o in outcomes} == {True, False}


@pytest.mark.slow
def test_a_stricter_abstain_setting_changes_the_measured_abstentions(
    manuals: tuple[Path, KnowledgeBase], minilm: MiniLMEmbedder
) -> None:
    root, _ = manuals
    directory = root / "data" / "knowledge"
    strict = GroundingOptions(abstain_below=0.99)
    with KnowledgeBase(directory, embedder=minilm, grounding=strict) as kb:
        metrics = summarize(evaluate(kb, qa_items(), ["manuals"]))
    assert metrics.false_abstain_rate == 1.0


@pytest.mark.slow
def test_eval_json_through_the_cli(tmp_path: Path, minilm: MiniLMEmbedder) -> None:
    write_corpus(tmp_path / "docs", pdf=True)
    with KnowledgeBase(ember_paths().knowledge_dir, embedder=minilm) as kb:
        kb.index([tmp_path / "docs"], "manuals")
    qa = tmp_path / "qa.json"
    qa.write_text(json.dumps([{"question": q.question, "source": q.source} for q in qa_items()]))
    completed = subprocess.run(
        [sys.executable, "-m", "ember", "eval", str(qa), "--collection", "manuals", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "EMBER_HOME": os.environ["EMBER_HOME"]},
    )
    assert completed.returncode == 0, completed.stderr
    metrics = json.loads(completed.stdout.strip().splitlines()[-1])
    assert {
        "n",
        "hit_at_1",
        "hit_at_3",
        "hit_at_5",
        "mrr_at_10",
        "abstain_rate_unanswerable",
        "false_abstain_rate",
        "p95_ms",
    } <= set(metrics)
    assert metrics["n"] == len(QUESTIONS) + len(UNANSWERABLE)
    assert metrics["hit_at_5"] == 1.0 and metrics["abstain_rate_unanswerable"] == 1.0
    assert metrics["p95_ms"] > 0


@pytest.mark.slow
def test_generation_answers_through_the_assistant_and_abstains_without_the_model(
    manuals: tuple[Path, KnowledgeBase],
) -> None:
    from ember.assistant import ABSTAIN_TEXT
    from ember.cli.evaluate import assistant_generator
    from ember.core import Core
    from ember.paths import Paths

    root, kb = manuals
    question, name, _page = QUESTIONS[2]
    items = [QAItem(question, name), QAItem(UNANSWERABLE[0], None)]
    paths = Paths(root / "config", root / "data", root / "cache")
    core = Core(paths, chats_db=Path(":memory:"))
    try:
        generate = assistant_generator(core, ["manuals"])
        answered, declined = evaluate(kb, items, ["manuals"], generate=generate)
    finally:
        core.close()
    assert answered.answer and answered.cited_source in (True, False)
    assert declined.abstained and declined.answer == ABSTAIN_TEXT
    assert "answer_cites_source_rate" in summarize([answered, declined]).as_json()
