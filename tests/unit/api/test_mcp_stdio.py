"""``ember mcp`` as an MCP client runs it: a real subprocess over stdio, the official ``mcp``
client SDK, a real index (MiniLM) in a private EMBER_HOME and the embedded model (SmolLM2).

One client session does every call (the server loads the embedder and the model once); each test
then checks one behaviour of what came back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from ember.assistant import ABSTAIN_TEXT
from ember.cancel import CancelToken
from ember.core import Core
from ember.paths import Paths
from tests.support.knowledge_corpus import QUESTIONS, UNANSWERABLE, write_corpus

pytestmark = pytest.mark.slow

ROUTER_QUESTION = QUESTIONS[0][0]  # paraphrased: answered in router.txt


def _paths(home: Path) -> Paths:
    return Paths(home / "config", home / "data", home / "cache")


def _collections(home: Path) -> list[tuple[str, int, int]]:
    core = Core(_paths(home))
    try:
        return [(c.name, c.info.documents, c.info.chunks) for c in core.collections()]
    finally:
        core.close()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An EMBER_HOME with two collections indexed by the real core, short answers at
    temperature 0."""
    root = tmp_path_factory.mktemp("mcp-home")
    docs = tmp_path_factory.mktemp("mcp-docs")
    router, bread, taxes = write_corpus(docs)
    core = Core(_paths(root))
    try:
        core.apply_settings(
            core.settings.model_copy(update={"max_tokens": 48, "temperature": 0.0, "seed": 7})
        )
        for files, name in (([router, bread], "home"), ([taxes], "office")):
            report = core.index(files, name, progress=lambda _e: None, cancel=CancelToken())
            assert not report.failed
    finally:
        core.close()
    return root


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "EMBER_HOME": str(home), "HF_HUB_OFFLINE": "1"}


@pytest.fixture(scope="module")
def exchange(home: Path) -> dict[str, Any]:
    """Every call made over one stdio session, by name, plus anything on stdout that was not
    the protocol (``stray``)."""
    before = _collections(home)
    stray: list[object] = []

    async def on_message(message: object) -> None:
        if isinstance(message, Exception):  # a line on stdout that is not JSON-RPC
            stray.append(message)

    async def run() -> dict[str, Any]:
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "ember", "mcp"], env=_env(home)
        )
        seen: dict[str, Any] = {}
        with open(os.devnull, "w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write, message_handler=on_message) as session,
            ):
                await session.initialize()
                seen["tools"] = (await session.list_tools()).tools
                seen["collections"] = await session.call_tool("list_collections", {})
                seen["search"] = await session.call_tool(
                    "search_documents", {"query": ROUTER_QUESTION, "top_k": 3}
                )
                seen["search_office"] = await session.call_tool(
                    "search_documents", {"query": ROUTER_QUESTION, "collections": ["office"]}
                )
                seen["unknown"] = await session.call_tool(
                    "search_documents", {"query": "router", "collections": ["nowhere"]}
                )
                seen["too_many"] = await session.call_tool(
                    "search_documents", {"query": "router", "top_k": 500}
                )
                seen["too_long"] = await session.call_tool(
                    "search_documents", {"query": "router " * 1000}
                )
                seen["ask"] = await session.call_tool(
                    "ask_documents", {"question": ROUTER_QUESTION, "collections": ["home"]}
                )
                seen["abstain"] = await session.call_tool(
                    "ask_documents", {"question": UNANSWERABLE[0]}
                )
                seen["ask_unknown"] = await session.call_tool(
                    "ask_documents", {"question": "hello", "collections": ["nowhere"]}
                )
                seen["after_errors"] = await session.call_tool("list_collections", {})
        return seen

    seen = anyio.run(run)
    seen["stray"] = stray
    seen["before"] = before
    seen["after"] = _collections(home)
    return seen


def _data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    # Structured output, and the same JSON as text for clients that read only text.
    assert result.structured_content == json.loads(result.content[0].text)
    return result.structured_content


def test_exactly_the_three_read_only_tools(exchange: dict[str, Any]) -> None:
    tools = {tool.name: tool for tool in exchange["tools"]}
    assert set(tools) == {"search_documents", "list_collections", "ask_documents"}
    for tool in tools.values():
        assert tool.annotations.read_only_hint is True
        assert tool.annotations.destructive_hint is False
        assert tool.output_schema is not None
    top_k = tools["search_documents"].input_schema["properties"]["top_k"]
    assert top_k["maximum"] == 20


def test_list_collections_counts_documents_and_passages(exchange: dict[str, Any]) -> None:
    listed = _data(exchange["collections"])["collections"]
    assert [(c["name"], c["documents"]) for c in listed] == [("home", 2), ("office", 1)]
    assert all(c["passages"] >= 1 for c in listed)


def test_search_finds_the_file_that_answers_a_paraphrased_question(
    exchange: dict[str, Any],
) -> None:
    passages = _data(exchange["search"])["passages"]
    assert 1 <= len(passages) <= 3
    best = passages[0]
    assert best["file"] == "router.txt"  # the file's name, as the API's citations give it
    assert Path(best["source"]).name == "router.txt"
    assert Path(best["source"]).is_absolute()  # the path as `ember search --json` shows it
    assert best["collection"] == "home"
    assert "seven seconds" in best["text"]
    assert 0 < best["score"] <= 1
    assert set(best) >= {"page", "page_label", "page_text", "heading"}


def test_search_looks_only_in_the_collections_named(exchange: dict[str, Any]) -> None:
    passages = _data(exchange["search_office"])["passages"]
    assert passages and {p["file"] for p in passages} == {"taxes.html"}


def test_an_unknown_collection_is_a_tool_error_naming_the_real_ones(
    exchange: dict[str, Any],
) -> None:
    for name in ("unknown", "ask_unknown"):
        result = exchange[name]
        assert result.is_error
        message = result.content[0].text
        assert "nowhere" in message and "home" in message and "office" in message
    # The server lives on after errors.
    assert _data(exchange["after_errors"])["collections"]


def test_limits_on_top_k_and_query_length_are_tool_errors(exchange: dict[str, Any]) -> None:
    assert exchange["too_many"].is_error and "top_k" in exchange["too_many"].content[0].text
    assert exchange["too_long"].is_error and "query" in exchange["too_long"].content[0].text


def test_ask_answers_from_the_documents_with_citations(exchange: dict[str, Any]) -> None:
    answer = _data(exchange["ask"])
    assert answer["abstained"] is False
    assert answer["answer"].strip() and answer["answer"] != ABSTAIN_TEXT
    assert answer["model"]
    sources = answer["sources"]
    assert sources and sources[0]["n"] == 1
    assert sources[0]["file"] == "router.txt"
    assert Path(sources[0]["source"]).is_absolute() and sources[0]["source"].endswith("router.txt")
    assert set(sources[0]) >= {"page", "page_label", "page_text", "heading", "score", "text"}
    assert "seven seconds" in " ".join(s["text"] for s in sources)


def test_an_unrelated_question_gets_the_abstain_text(exchange: dict[str, Any]) -> None:
    answer = _data(exchange["abstain"])
    assert answer["abstained"] is True
    assert answer["answer"] == ABSTAIN_TEXT
    assert answer["sources"] == []
    assert answer["model"].endswith(".gguf")  # the model that would have answered, not ""


def test_no_tool_changes_the_index_or_keeps_a_chat(home: Path, exchange: dict[str, Any]) -> None:
    assert exchange["after"] == exchange["before"]
    assert not _paths(home).chats_db.exists()  # questions went to a chat store in memory


def test_stdout_carries_only_the_protocol(exchange: dict[str, Any]) -> None:
    assert exchange["stray"] == []


def test_the_server_exits_cleanly_when_stdin_closes(home: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ember", "mcp"],
        input=b"",
        capture_output=True,
        env=_env(home),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert done.stdout == b""
