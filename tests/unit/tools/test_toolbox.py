"""The toolbox: which tools a chat gets, and how often MCP servers are asked for them."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ember.cancel import CancelToken
from ember.config import Settings
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
