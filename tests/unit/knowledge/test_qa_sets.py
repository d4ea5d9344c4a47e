"""The retrieval eval's question sets in ``benchmarks/qa`` load, point at files of their corpus and
carry a dev/test split (see ``benchmarks/qa/*.md`` for how each was made)."""

from __future__ import annotations

import json
import os
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
