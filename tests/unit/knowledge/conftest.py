"""Fixtures for the knowledge base's indexing and retrieval tests.

``minilm`` and ``corpus`` come from ``tests/unit/conftest.py``; corpora are small because it embeds only ~20-40 chunks per second on a two-core machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.knowledge_corpus import write_corpus
from tests.support.tiny_embedder import TinyEmbedder

from ember.knowledge import KnowledgeBase
from ember.knowledge.embedder import MiniLMEmbedder


@pytest.fixture
def tiny() -> TinyEmbedder:
    return TinyEmbedder()


@pytest.fixture
def tiny_kb(tmp_path: Path, tiny: TinyEmbedder) -> Iterator[KnowledgeBase]:
    with KnowledgeBase(tmp_path / "kb", embedder=tiny) as kb:
        yield kb


@pytest.fixture(scope="module")
def indexed_kb(
    tmp_path_factory: pytest.TempPathFactory, minilm: MiniLMEmbedder
) -> Iterator[tuple[KnowledgeBase, Path]]:
    """The shared corpus indexed once with the real embedder (read-only tests use it)."""
    root = tmp_path_factory.mktemp("indexed")
    folder = root / "docs"
    write_corpus(folder, pdf=True)
    with KnowledgeBase(root / "kb", embedder=minilm) as kb:
        report = kb.index([folder], "manuals")
        assert not report.failed, report.failed
        yield kb, folder
