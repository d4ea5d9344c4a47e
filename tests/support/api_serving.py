"""A real local API over a real core for tests: :class:`ApiServer` on 127.0.0.1, any free port.

``core_in(root)`` / ``make_core(root, **settings)`` make a core in its own folders under
``root`` (chats in memory; ``make_core`` answers with the embedded model, one llama.cpp thread
as the suite shares a small machine, a 2048-token window); ``serving(core)`` serves it with
:data:`KEY` until the block ends; ``runner_of(server)`` is the server's model runner.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ember.api.config import ServeConfig
from ember.api.runner import ModelRunner
from ember.api.server import ApiServer
from ember.config import Settings
from ember.core import Core
from ember.paths import Paths

KEY = "ember-test-key-0123456789"
# A small JSON schema the structured-output tests ask answers to follow.
CITY_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 24},
        "population": {"type": "integer", "minimum": 0},
    },
    "required": ["city", "population"],
    "additionalProperties": False,
}


def core_in(root: Path, **kwargs: Any) -> Core:
    """A core over its own folders under ``root`` (for module-scoped servers: the per-test
    EMBER_HOME changes under them), with its chats in memory."""
    paths = Paths(root / "config", root / "data", root / "cache")
    return Core(paths, chats_db=Path(":memory:"), **kwargs)


def make_core(root: Path, **settings: object) -> Core:
    """A core under ``root`` answering with the embedded model, with these settings on top."""
    chosen = Settings(**{"n_ctx": 2048, "threads": 1, "seed": -1, **settings})
    return core_in(root, settings=chosen)


@contextmanager
def serving(core: Core, **config: Any) -> Iterator[ApiServer]:
    """The API over ``core`` on a free loopback port, key :data:`KEY`, until the block ends."""
    server = ApiServer(core, ServeConfig(port=0, api_key=KEY, **config))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def runner_of(server: ApiServer) -> ModelRunner:
    """The server's model runner (what it made for its first chat request)."""
    from ember.api.routes_chat import runner_of as app_runner

    assert server._server is not None

    class _Request:  # routes_chat.runner_of reads request.app only
        app = server._server.config.app

    return app_runner(_Request())  # type: ignore[arg-type]
