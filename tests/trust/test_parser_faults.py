"""A parser that hangs or crashes on one file: that file fails alone and stays quarantined.

The file is recorded as failed with its reason; re-running the index does not parse it again
(its size and modification time are unchanged), so a poison file costs its timeout once, not at
every start. Once the file changes, it is tried again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.tiny_embedder import TinyEmbedder

from ember.knowledge import KnowledgeBase
from ember.knowledge.detect import TEST_HOOK_ENV
from ember.knowledge.sandbox import ParserPool
from ember.knowledge.types import ParsedDocument

TIMEOUT_S = 2.0


class CountingPool:
    def __init__(self, pool: ParserPool) -> None:
        self.pool = pool
        self.parsed: list[str] = []

    def __call__(self, path: Path) -> ParsedDocument:
        self.parsed.append(path.name)
        return self.pool.parse(path)


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingPool]:
    monkeypatch.setenv(TEST_HOOK_ENV, "1")
    with ParserPool(timeout_s=TIMEOUT_S) as shared:
        yield CountingPool(shared)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("alpha", "beta", "gamma"):
        (docs / f"{name}.md").write_text(f"# {name}\n\nThe {name} notes are fine.\n")
    (docs / "hang.txt").write_text("EMBER-TEST-PARSER hang\nnever read\n")
    (docs / "segfault.txt").write_text("EMBER-TEST-PARSER segfault\nnever read\n")
    return docs


def reasons(report: object) -> dict[str, str]:
    return {Path(f.path).name: f.reason for f in report.failed}  # type: ignore[attr-defined]


def test_a_hanging_and_a_crashing_parser_fail_alone_and_are_not_retried(
    tmp_path: Path, folder: Path, pool: CountingPool
) -> None:
    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder(), parse=pool) as kb:
        started = time.perf_counter()
        first = kb.index([folder], "notes")
        first_s = time.perf_counter() - started
        assert reasons(first) == {
            "hang.txt": f"the test parser timed out after {TIMEOUT_S:g} s",
            "segfault.txt": "the test parser crashed (SIGSEGV); the file is probably damaged",
        }
        assert first.indexed == 3 and first_s < TIMEOUT_S + 10
        assert {d.state for d in kb.documents() if d.path.endswith(".md")} == {"done"}

        pool.parsed.clear()
        started = time.perf_counter()
        again = kb.index([folder], "notes")
        assert time.perf_counter() - started < 1.0
        assert pool.parsed == [], "a quarantined or unchanged file was parsed again"
        assert reasons(again) == reasons(first)  # still listed, with the stored reason

    # A new process (the next start of Ember) does not retry them either.
    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder(), parse=pool) as kb:
        kb.index([folder], "notes")
        assert pool.parsed == []


def test_a_quarantined_file_is_tried_again_once_it_changes(
    tmp_path: Path, folder: Path, pool: CountingPool
) -> None:
    with KnowledgeBase(tmp_path / "kb", embedder=TinyEmbedder(), parse=pool) as kb:
        kb.index([folder], "notes")
        hang = folder / "hang.txt"
        hang.write_text("EMBER-TEST-PARSER echo\nThe fixed file now has real text.\n")
        os.utime(hang, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
        pool.parsed.clear()
        report = kb.index([folder], "notes")
        assert pool.parsed == ["hang.txt"]
        assert "hang.txt" not in reasons(report)
        record = next(d for d in kb.documents() if d.path == str(hang))
        assert record.state == "done" and record.error is None
