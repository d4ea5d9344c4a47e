"""A real local API over a real core with the embedded model, for the chat completion tests.

``serving(tmp)`` starts :class:`ember.api.server.ApiServer` on 127.0.0.1 (a free port) over a
:class:`Core` in its own EMBER folders under ``tmp``, with one llama.cpp thread (the suite shares
a small machine) and a 2048-token window; it yields the server and stops it afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from ember.api.config import ServeConfig
from ember.api.runner import ModelRunner
from ember.api.server import ApiServer
from ember.config import Settings
from ember.core import Core
from ember.paths import Paths

KEY = "ember-test-key"


def make_core(tmp: Path, **settings: object) -> Core:
    """A core in ``tmp`` that answers with the embedded model (nothing is saved to a user's
    folders; chats stay in memory)."""
    paths = Paths(tmp / "config", tmp / "data", tmp / "cache")
    chosen = Settings(**{"n_ctx": 2048, "threads": 1, "seed": -1, **settings})
    return Core(paths, chosen, chats_db=Path(":memory:"))


@contextmanager
def serving(core: Core, **config: object) -> Iterator[ApiServer]:
    """The API over ``core`` on a free loopback port, with :data:`KEY` as its key."""
    server = ApiServer(core, replace(ServeConfig(port=0, api_key=KEY), **config))
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
