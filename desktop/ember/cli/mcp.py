"""``ember mcp``: the document index as an MCP server on stdin/stdout, for MCP clients.

An MCP client starts it as a child process (``{"mcpServers": {"ember": {"command": "ember",
"args": ["mcp"]}}}``) and speaks JSON-RPC over its stdin and stdout: stdout carries the protocol
and nothing else (logs and notices go to stderr). Nothing heavy loads at start: the embedder on the
first search, the model on the first question. The server stops when the client closes stdin.
Questions are kept in a chat store in memory: nothing enters the person's chat history.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    mcp = commands.add_parser(
        "mcp", help="serve your documents to MCP clients over stdio (read-only tools)"
    )
    mcp.set_defaults(handler=run_mcp)


def run_mcp(_args: argparse.Namespace) -> int:
    import anyio

    from ember.api.mcp_server import build_mcp_server
    from ember.core import Core

    # Logs (ours, the SDK's) go to stderr: stdout carries the protocol and nothing else.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="ember mcp: %(message)s")
    core = Core(chats_db=Path(":memory:"))
    try:
        server = build_mcp_server(core)
        anyio.run(server.run_stdio_async)
    finally:
        core.close()
    return 0
