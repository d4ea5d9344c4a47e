"""What most tests of the local API share: one core with the embedded model, served once per
module, and the official ``openai`` client on it. A module that needs other documents or
settings defines its own ``core``."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from ember.api.server import ApiServer
from ember.core import Core
from tests.support.api_serving import KEY, make_core, serving


@pytest.fixture(scope="module")
def core(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Core]:
    made = make_core(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]))
    yield made
    made.close()


@pytest.fixture(scope="module")
def server(core: Core) -> Iterator[ApiServer]:
    with serving(core) as running:
        yield running


@pytest.fixture
def client(server: ApiServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0) as made:
        yield made
