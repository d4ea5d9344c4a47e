"""Shared fixtures: the real embedded GGUF, loaded once per session.

One thread each: the suite shares a small machine, and llama.cpp's busy-waiting batch threads
slow to a crawl when another process holds a core.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.catalog import default_model
from ember.engines import EngineSpec
from ember.engines.llamacpp import LlamaCppEngine, load


@pytest.fixture(scope="session")
def model_path() -> Path:
    return Path(default_model().path)


@pytest.fixture(scope="session")
def engine(model_path: Path) -> Iterator[LlamaCppEngine]:
    loaded = load(EngineSpec("llama.cpp", str(model_path), n_ctx=2048, n_threads=1))
    yield loaded
    loaded.close()


@pytest.fixture(scope="session")
def small_engine(model_path: Path) -> Iterator[LlamaCppEngine]:
    """The same model with a 512-token window, to exercise context fitting."""
    loaded = load(EngineSpec("llama.cpp", str(model_path), n_ctx=512, n_threads=1))
    yield loaded
    loaded.close()
