"""The toolbox: which tools a chat gets, and how often MCP servers are asked for them."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import pytest

from ember.cancel import CancelToken
from ember.config import Settings
from ember.errors import ToolError
from ember.tools.toolbox import Toolbox
from ember.tools.types import Tool, ToolInfo, ToolOutput


class Echo:
    def __init__(self, name: str, enabled: bool = True) -> None:
        self.info = ToolInfo(name, "Says it back.", server="slow", enabled=enabled)

    def run(self, arguments: Mapping[str, Any], cancel: CancelToken) -> ToolOutput:
        return ToolOutput(str(arguments))


class SlowServer:
    """A tool source that counts how often it is asked (each ask of a server that does not
    start costs its whole start timeout)."""

    def __init__(self) -> None:
        self.asked = 0

    def tools(self, reserved: Collection[str] = ()) -> list[Tool]:
        self.asked += 1
        return [Echo("first"), Echo("second"), Echo("third", enabled=False)]


def test_a_chats_tools_are_found_with_one_ask_of_the_servers() -> None:
    server = SlowServer()
    toolbox = Toolbox(Settings(), sources=[server])
    chosen = toolbox.select(["first", "calculator", "second", "third", "gone", "first"])
    assert [t.info.name for t in chosen] == ["first", "calculator", "second"]
    assert server.asked == 1


def test_a_chat_with_only_built_ins_asks_no_server() -> None:
    server = SlowServer()
    toolbox = Toolbox(Settings(), sources=[server])
    assert [t.info.name for t in toolbox.select(["calculator"])] == ["calculator"]
    assert server.asked == 0


class Mcp:
    """A tool of an MCP server, as the host names it."""

    def __init__(self, name: str, server: str, remote: str) -> None:
        self.info = ToolInfo(name, "Adds.", server=server, remote_name=remote)

    def run(self, arguments: Mapping[str, Any], cancel: CancelToken) -> ToolOutput:
        return ToolOutput(self.info.key)


class TwoServers:
    """Two servers with an ``add`` (so the host named them ``arith_add`` and ``more_add``), and
    a third that is down."""

    def __init__(self, both: bool = True) -> None:
        self.both = both

    def tools(self, reserved: Collection[str] = ()) -> list[Tool]:
        found: list[Tool] = [Mcp("arith_add", "arith", "add")]
        if self.both:
            found.append(Mcp("more_add", "more", "add"))
        return found

    def why_missing(self, name: str) -> str:
        return "The MCP server 'ghost' could not start: not found." if name == "ghost/x" else ""


def test_a_tool_is_found_by_its_stable_key_wherever_a_name_is_taken() -> None:
    toolbox = Toolbox(Settings(), sources=[TwoServers()])
    assert toolbox.get("arith/add").info.name == "arith_add"
    assert toolbox.get("built-in/calculator").info.name == "calculator"
    chosen = toolbox.select(["more/add", "arith_add", "arith/add", "built-in/calculator"])
    assert [t.info.key for t in chosen] == ["more/add", "arith/add", "built-in/calculator"]


def test_a_plain_name_saved_before_a_clash_is_found_while_one_server_has_it() -> None:
    with pytest.raises(ToolError, match="name it as 'arith/add' or 'more/add'"):
        Toolbox(Settings(), sources=[TwoServers()]).get("add")
    assert Toolbox(Settings(), sources=[TwoServers()]).select(["add"]) == []
    only = Toolbox(Settings(), sources=[TwoServers(both=False)])
    assert only.get("add").info.key == "arith/add"
    assert [t.info.key for t in only.select(["add"])] == ["arith/add"]


def test_a_missing_tool_says_why_and_the_nearest_names() -> None:
    toolbox = Toolbox(Settings(), sources=[TwoServers()])
    with pytest.raises(
        ToolError, match=r"no tool called 'Calculator'\. Did you mean 'calculator'\?"
    ):
        toolbox.get("Calculator")
    with pytest.raises(ToolError, match="Did you mean 'arith_add'"):
        toolbox.get("arith_ad")
    with pytest.raises(ToolError, match=r"'ghost/x'\. The MCP server 'ghost' could not start"):
        toolbox.get("ghost/x")
    with pytest.raises(ToolError, match="No tool was named"):
        toolbox.get(" ")
