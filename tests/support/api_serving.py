"""A real local API server for tests: :class:`ApiServer` on 127.0.0.1, any free port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ember.api.config import ServeConfig
from ember.api.server import ApiServer
from ember.core import Core
from ember.paths import Paths

TEST_KEY = "ember-test-key-0123456789"


def core_in(root: Path, **kwargs: Any) -> Core:
    """A core over its own folders under ``root`` (for module-scoped servers: the per-test
    EMBER_HOME changes under them), with its chats in memory."""
    paths = Paths(root / "config", root / "data", root / "cache")
    return Core(paths, chats_db=Path(":memory:"), **kwargs)


@contextmanager
def serving(core: Core, **config: Any) -> Iterator[ApiServer]:
    """The API over ``core`` on a free loopback port, key :data:`TEST_KEY`, until the block ends."""
    server = ApiServer(core, ServeConfig(port=0, api_key=TEST_KEY, **config))
    server.start()
    try:
        yield server
    finally:
        server.stop()
