"""Options and shared pieces of the trust suite (faults, hostile input, offline, injection).

``--runs N`` (or ``EMBER_CRASH_RUNS=N``) sets how many kill -9 runs the crash loop makes (20 by
default, which keeps it under a minute); ``--real-embedder`` makes that loop embed with MiniLM
instead of the tiny deterministic embedder (slow: for a long local soak, e.g. ``--runs 200``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ember-trust")
    group.addoption(
        "--runs",
        type=int,
        default=None,
        help="kill -9 runs in the crash loop (default: $EMBER_CRASH_RUNS or 20)",
    )
    group.addoption(
        "--real-embedder",
        action="store_true",
        default=False,
        help="embed with the real MiniLM in the crash loop (slow; for local soaks)",
    )


@pytest.fixture(scope="session")
def crash_runs(request: pytest.FixtureRequest) -> int:
    runs = request.config.getoption("--runs")
    if runs is None:
        runs = int(os.environ.get("EMBER_CRASH_RUNS", "20"))
    return int(runs)


@pytest.fixture(scope="session")
def real_embedder(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--real-embedder"))


@pytest.fixture(scope="session")
def chat_engine() -> Iterator[object]:
    """The real embedded SmolLM2 on llama.cpp, loaded once for the trust suite."""
    from ember.catalog import default_model
    from ember.engines import EngineSpec, create_engine

    loaded = create_engine(EngineSpec("llama.cpp", default_model().path, n_ctx=2048, n_threads=1))
    yield loaded
    loaded.close()
