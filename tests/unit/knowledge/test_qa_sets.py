"""The retrieval question sets under ``benchmarks/qa``: every file loads, splits are assigned, pages
lie inside their document, sources point at files of their corpus, and no question appears twice
(see ``benchmarks/qa/*.md`` for how each set was made).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
from tests.support.manuals import MANUALS

from ember.knowledge.evaluate import load_questions

QA_DIR = Path(__file__).resolve().parents[3] / "benchmarks" / "qa"
GIT_DOCS_QA = QA_DIR / "git-docs.json"
GIT_DOCS_FILES = QA_DIR / "git-docs.files"
OTHER_CORPUS_FILES = ("gnuplot.pdf",)  # indexed with git-docs into one collection by the eval


def _git_docs_files() -> list[str]:
    lines = GIT_DOCS_FILES.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_git_docs_questions_are_valid_and_point_at_listed_files() -> None:
    items = load_questions(GIT_DOCS_QA)  # raises on a malformed entry
    raw = json.loads(GIT_DOCS_QA.read_text(encoding="utf-8"))
    files = _git_docs_files()
    assert len(files) == len(set(files)) and 100 <= len(files) <= 140
    collection = files + list(OTHER_CORPUS_FILES)

    answerable = [item for item in items if item.answerable]
    assert len(answerable) >= 70 and len(items) - len(answerable) >= 25
    assert len({item.source for item in answerable}) >= 50
    for item in answerable:
        assert item.source in files, item.question
        # the evaluator matches a source by file name or path suffix: exactly one file may match
        matching = [path for path in collection if item.matches("/manuals/git-html/" + path, None)]
        assert matching == [item.source], (item.question, matching)
    for entry in raw:
        assert all(other in files for other in entry.get("also", [])), entry["question"]

    questions = [" ".join(entry["question"].lower().split()) for entry in raw]
    assert len(questions) == len(set(questions))
    assert all(entry.get("split") in ("dev", "test") for entry in raw)
    for group in (True, False):
        splits = [e["split"] for e in raw if (e["source"] is not None) == group]
        assert {"dev", "test"} == set(splits)
        assert abs(splits.count("dev") - splits.count("test")) <= len(splits) // 4


def test_git_docs_files_exist_in_the_fetched_manual() -> None:
    root = MANUALS / "git-html"
    if not root.is_dir():
        reason = f"{root} is missing: run `make setup` (scripts/fetch_manuals.sh)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    missing = [name for name in _git_docs_files() if not (root / name).is_file()]
    assert missing == []


QA_FILES = sorted(QA_DIR.glob("*.json"))
SPLITS = {"dev", "test"}
GNUPLOT_PAGES = 311  # physical pages of gnuplot.pdf (the gnuplot 5.4 manual)


def test_qa_files_exist() -> None:
    assert QA_FILES, f"no QA files in {QA_DIR}"


@pytest.mark.parametrize("path", QA_FILES, ids=lambda p: p.name)
def test_qa_file_is_valid_and_split(path: Path) -> None:
    items = load_questions(path)  # raises EmberError naming a malformed entry
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert len(raw) == len(items)

    bad_splits = [entry["question"] for entry in raw if entry.get("split") not in SPLITS]
    assert not bad_splits, f"{path.name}: questions without a dev/test split: {bad_splits[:3]}"
    for answerable in (True, False):
        group = [
            e["split"] for e, item in zip(raw, items, strict=True) if item.answerable is answerable
        ]
        if group:
            assert set(group) == SPLITS, f"{path.name}: answerable={answerable} lacks a split"

    counts = Counter(" ".join(item.question.lower().split()) for item in items)
    duplicates = [q for q, n in counts.items() if n > 1]
    assert not duplicates, f"{path.name}: duplicate questions {duplicates[:3]}"

    for item in items:
        if item.pages is not None:
            assert item.answerable, f"{path.name}: pages on an unanswerable question"
            assert item.pages and all(p >= 1 for p in item.pages), item.question


def test_gnuplot_set_pages_cover_the_manual() -> None:
    items = load_questions(QA_DIR / "gnuplot.json")
    answerable = [item for item in items if item.answerable]
    unanswerable = [item for item in items if not item.answerable]
    assert len(answerable) >= 75
    assert len(unanswerable) >= 30

    stretches: Counter[int] = Counter()
    for item in answerable:
        assert item.source == "gnuplot.pdf"
        assert item.pages, item.question
        assert all(isinstance(p, int) and 1 <= p <= GNUPLOT_PAGES for p in item.pages), item
        assert len(set(item.pages)) == len(item.pages), item.question
        stretches[(min(item.pages) - 1) // 30] += 1
    # Every 30-page stretch (1-30, 31-60, ..., 301-311) is asked about at least five times.
    for stretch in range((GNUPLOT_PAGES - 1) // 30 + 1):
        assert stretches[stretch] >= 5, f"pages {stretch * 30 + 1}-{stretch * 30 + 30}"
