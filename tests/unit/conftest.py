"""Fixtures shared by the unit tests of the knowledge base and the commands that drive it.

The real MiniLM is loaded once per test session (torch import + weights take seconds).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.knowledge.embedder import MiniLMEmbedder, default_embedder
from tests.support.knowledge_corpus import write_corpus


@pytest.fixture(scope="session")
def minilm() -> MiniLMEmbedder:
    embedder = default_embedder()
    embedder.load()
    return embedder


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Four small real documents (Markdown, text, HTML) in ``tmp_path / "docs"``."""
    folder = tmp_path / "docs"
    write_corpus(folder)
    return folder
