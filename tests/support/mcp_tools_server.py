"""An MCP server for the MCP host's tests, written with the ``mcp`` SDK's MCPServer (FastMCP).

Run over stdio (``python tests/support/mcp_tools_server.py``) or streamable HTTP
(``... --http PORT``, at ``http://127.0.0.1:PORT/mcp``). Every tool call first appends one JSON
line ``{"tool", "arguments", "pid"}`` to the file named by ``$MCP_TEST_RECORD`` (when set), so a
test can prove that a call ran, or never did.

Tools: ``add``, ``echo`` (succeed), ``fail`` (raises), ``hang`` (sleeps without blocking the
server), ``freeze`` (blocks the server's event loop: it stops answering anything), ``big``
(``megabytes`` MB of text), ``die`` (the process exits mid-call), ``spawn_child`` (starts a
grandchild ``sleep`` and returns its pid), ``picture`` (an image and a text part).
A start is recorded as tool "start". ``$MCP_TEST_FAIL_START`` set: the server writes it to stderr and exits before serving.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time

import anyio
from mcp.server.mcpserver import Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("ember-test-tools", log_level="WARNING")

# A 1x1 transparent PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def record(tool: str, **arguments: object) -> None:
    path = os.environ.get("MCP_TEST_RECORD")
    if path:
        line = json.dumps({"tool": tool, "arguments": arguments, "pid": os.getpid()})
        with open(path, "a", encoding="utf-8") as file:
            file.write(line + "\n")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    record("add", a=a, b=b)
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    record("echo", text=text)
    return text


@server.tool()
def fail(message: str = "it broke") -> str:
    """Always raises an error with ``message``."""
    record("fail", message=message)
    raise ToolError(message)


@server.tool()
async def hang() -> str:
    """Never returns (the server keeps answering other requests)."""
    record("hang")
    await anyio.sleep(3600)
    return "woke up"


@server.tool()
async def freeze() -> str:
    """Blocks the whole server: no request is answered any more."""
    record("freeze")
    time.sleep(3600)
    return "thawed"


@server.tool()
def big(megabytes: int = 5) -> str:
    """Returns ``megabytes`` MB of text (lines of digits, ending in END)."""
    record("big", megabytes=megabytes)
    line = "0123456789" * 10 + "\n"  # 101 bytes
    size = megabytes * 1024 * 1024
    return (line * (size // len(line) + 1))[: size - 3] + "END"


@server.tool()
def die() -> str:
    """The server process exits in the middle of the call."""
    record("die")
    sys.stderr.write("test server: dying on purpose\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool()
def spawn_child() -> int:
    """Starts a long ``sleep`` as a child of the server (in its process group); its pid."""
    child = subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL)
    record("spawn_child", child=child.pid)
    return child.pid


@server.tool(structured_output=False)
def picture() -> list[object]:
    """A caption and a 1x1 PNG."""
    record("picture")
    return ["a tiny picture", Image(data=PNG, format="png")]


def main() -> None:
    failure = os.environ.get("MCP_TEST_FAIL_START")
    if failure:
        sys.stderr.write(f"test server: {failure}\n")
        sys.exit(2)
    record("start")
    sys.stderr.write("test server: starting\n")
    sys.stderr.flush()
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()


if __name__ == "__main__":
    main()
