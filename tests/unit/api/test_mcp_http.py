"""The MCP server over streamable HTTP at ``/mcp`` of the local API: the official ``mcp`` client
against a real :class:`~ember.api.server.ApiServer` on 127.0.0.1, behind the API key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from ember.api.config import ServeConfig
from ember.api.server import ApiServer
from ember.cancel import CancelToken
from ember.core import Core
from tests.support.knowledge_corpus import QUESTIONS, write_corpus

pytestmark = pytest.mark.slow

KEY = "ember-test-key-for-mcp"
ROUTER_QUESTION = QUESTIONS[0][0]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ApiServer]:
    """The API over a core with a few real documents indexed (MiniLM), on a free port."""
    core = Core()
    try:
        files = write_corpus(tmp_path / "docs")
        report = core.index(files, "home", progress=lambda _e: None, cancel=CancelToken())
        assert not report.failed
        server = ApiServer(core, ServeConfig(port=0, api_key=KEY))
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        core.close()


def _url(server: ApiServer) -> str:
    return f"http://127.0.0.1:{server.port}/mcp"


def call_tool(server: ApiServer, tool: str, arguments: dict[str, Any]) -> Any:
    """One call of ``tool`` by the official client over streamable HTTP, with the key."""

    async def run() -> Any:
        headers = {"Authorization": f"Bearer {KEY}"}
        async with (
            create_mcp_http_client(headers=headers) as http,
            streamable_http_client(_url(server), http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await session.call_tool(tool, arguments)

    return anyio.run(run)


def test_tools_and_a_search_over_streamable_http_with_the_key(served: ApiServer) -> None:
    async def run() -> tuple[list[str], Any]:
        headers = {"Authorization": f"Bearer {KEY}"}
        async with (
            create_mcp_http_client(headers=headers) as http,
            streamable_http_client(_url(served), http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            tools = [tool.name for tool in (await session.list_tools()).tools]
            found = await session.call_tool(
                "search_documents", {"query": ROUTER_QUESTION, "top_k": 2}
            )
            return tools, found

    tools, found = anyio.run(run)
    assert sorted(tools) == ["ask_documents", "list_collections", "search_documents"]
    assert not found.is_error, found.content
    passages = found.structured_content["passages"]
    assert passages[0]["file"] == "router.txt"  # the name; the path is under "source"
    assert Path(passages[0]["source"]).name == "router.txt"
    assert "seven seconds" in passages[0]["text"]


def _initialize(server: ApiServer, headers: dict[str, str]) -> httpx.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"},
        },
    }
    wanted = {"Accept": "application/json, text/event-stream", **headers}
    return httpx.post(_url(server), json=body, headers=wanted, timeout=30)


def test_mcp_over_http_needs_the_api_key(served: ApiServer) -> None:
    assert _initialize(served, {}).status_code == 401
    assert _initialize(served, {"Authorization": "Bearer not-the-key"}).status_code == 401
    assert _initialize(served, {"Authorization": f"Bearer {KEY}"}).status_code == 200


def test_mcp_over_http_refuses_a_foreign_host_header(served: ApiServer) -> None:
    # DNS rebinding: a page on evil.example resolved to 127.0.0.1 sends its own name as Host.
    answer = _initialize(
        served, {"Authorization": f"Bearer {KEY}", "Host": f"evil.example:{served.port}"}
    )
    assert answer.status_code in (403, 421)


def test_questions_over_mcp_stay_out_of_the_persons_chat_history(served: ApiServer) -> None:
    """The API's core is the person's (its chat store on disk): MCP answers use a store in
    memory."""
    served.core.apply_settings(served.core.settings.model_copy(update={"max_tokens": 24}))

    answered = call_tool(served, "ask_documents", {"question": ROUTER_QUESTION})
    assert not answered.is_error, answered.content
    assert answered.structured_content["sources"]
    assert served.core.store.conversations() == []
    assert served.core.store.conversations(deleted=True) == []


def test_stopping_the_server_ends_an_mcp_answer_with_a_message_at_once(tmp_path: Path) -> None:
    """An ``ask_documents`` answer being generated when the API stops (the window quits) ends
    at its next token, and the client reads why: the model is free again, nothing runs on."""
    import threading

    from ember.config import Settings

    core = Core(settings=Settings(max_tokens=3000, n_ctx=4096, temperature=0.8))
    outcome: list[Any] = []
    try:
        files = write_corpus(tmp_path / "docs")
        core.index(files, "home", progress=lambda _e: None, cancel=CancelToken())
        server = ApiServer(core, ServeConfig(port=0, api_key=KEY))
        server.start()

        question = f"{ROUTER_QUESTION} Explain every step at great length, twice."
        asking = threading.Thread(
            target=lambda: outcome.append(
                call_tool(server, "ask_documents", {"question": question})
            )
        )
        asking.start()
        for _ in range(2400):  # until the answer is being generated (at most 2 minutes)
            if core.turns.busy:
                break
            asking.join(0.05)
        server.stop()
        asking.join(60)
        assert not core.turns.busy  # the generation ended with the server
    finally:
        core.close()
    [result] = outcome
    assert result.is_error and "stopped before it finished" in result.content[0].text
