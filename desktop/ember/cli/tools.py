"""``ember tools list`` and the terminal's side of tool use: ``--tools``, ``--yes`` and the
approval prompt.

A call that needs approval is shown on stderr (tool, server, the exact arguments) and asked
about on the terminal: ``y`` allows it once, ``a`` always (saved in the settings), ``n`` denies
it. With ``--yes`` every call is allowed once without asking; with no terminal to ask on, it is
denied and the model is told so.

``--tools`` takes the names ``ember tools list`` shows or an MCP tool's stable key
``server/tool`` (``arith/add``), which does not change when another server has a tool of the same
name (see :mod:`ember.tools.toolbox`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from ember.cli.common import json_flag, wants_json

if TYPE_CHECKING:
    from ember.cancel import CancelToken
    from ember.chats.records import ToolStep
    from ember.core import Core
    from ember.tools.types import ApprovalRequest, Approver, Decision


def register(commands: argparse._SubParsersAction) -> None:
    tools = commands.add_parser(
        "tools",
        help="the tools the model may call (`tools list`): built-ins and MCP servers' tools",
        description="Tools the model may call in `ember ask --tools NAME` and in the app: "
        "Ember's built-ins and the tools of the MCP servers in mcp.json (in Ember's config "
        "folder; `ember tools list` shows where), in the mcpServers format of Claude Desktop "
        "and Cursor.",
    )
    actions = tools.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", parents=[json_flag()], help="list every tool")
    listing.set_defaults(handler=run_tools_list)
    tools.set_defaults(handler=run_tools_list)


def tool_arguments(parser: argparse.ArgumentParser) -> None:
    """``--tools`` and ``--yes`` for ``ask`` and ``chat``."""
    parser.add_argument(
        "--tools",
        action="append",
        metavar="NAMES",
        help="tools the model may call, comma-separated (repeatable): names from `ember tools "
        "list`, or SERVER/TOOL for an MCP tool",
    )
    parser.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="allow every tool call without asking (once each; nothing is saved)",
    )


def chosen_tools(args: argparse.Namespace) -> list[str]:
    """The tool names given with ``--tools`` (comma-separated, repeatable), in order.
    :class:`ToolError` when ``--tools`` was given without a name (``--tools ""``, ``,``)."""
    from ember.errors import ToolError

    names = [n.strip() for given in (args.tools or []) for n in given.split(",")]
    chosen = list(dict.fromkeys(n for n in names if n))
    if args.tools and not chosen:
        raise ToolError(
            "--tools was given but no tool was named: give names such as --tools calculator "
            "(see `ember tools list`), or leave --tools out."
        )
    return chosen


def check_tools(core: Core, names: Sequence[str]) -> None:
    """Every name is a tool that is switched on; :class:`ToolError` names the first that is not,
    why when known (mcp.json's error, a server not running), and the tools there are."""
    from ember.errors import ToolError

    for name in names:
        try:
            core.toolbox.get(name)
        except ToolError as exc:
            known = ", ".join(i.name for i in core.toolbox.infos() if i.enabled)
            broken = f" (mcp.json has an error: {core.mcp_error})" if core.mcp_error else ""
            raise ToolError(f"{exc}{broken} Tools: {known}.") from None


def terminal_approver(
    yes: bool, stdin: TextIO | None = None, stderr: TextIO | None = None
) -> Approver:
    """Asks on the terminal (see the module's docstring); ``yes``: allow once, never ask."""

    def approve(request: ApprovalRequest, cancel: CancelToken) -> Decision:
        if yes:
            return "allow_once"
        err = stderr or sys.stderr
        source = stdin or sys.stdin
        tool = request.tool
        arguments = json.dumps(request.call.arguments, indent=2, ensure_ascii=False)
        err.write(f"\nThe model wants to run {tool.name} ({tool.server}) with:\n{arguments}\n")
        if not getattr(source, "isatty", lambda: False)():
            err.write(
                f"ember: {tool.name} needs your approval and there is no terminal to ask on: "
                "denied (pass --yes to allow tool calls).\n"
            )
            err.flush()
            return "deny"
        while not cancel.cancelled:
            err.write("Allow it? [y] once, [a] always, [n] no: ")
            err.flush()
            answer = source.readline()
            if not answer:  # end of input
                return "deny"
            choice = answer.strip().lower()[:1]
            if choice in ("y", "a", "n"):
                return {"y": "allow_once", "a": "always", "n": "deny"}[choice]  # type: ignore[return-value]
        return "cancelled"

    return approve


def step_json(step: ToolStep) -> dict[str, Any]:
    """A tool step as ``ember ask --json`` reports it (:meth:`ToolStep.summary`)."""
    return step.summary()


def step_line(step: ToolStep) -> str:
    """One line on stderr for a step that ended: ``[tool calculator {...}: done, 0.01 s]``."""
    took = f", {step.duration_s:.2f} s" if step.duration_s is not None else ""
    return f"[tool {step.tool} {step.arguments}: {step.state}{took}]"


def run_tools_list(args: argparse.Namespace) -> int:
    from ember.core import Core
    from ember.tools.types import BUILTIN

    core = Core()
    try:
        toolbox = core.toolbox
        allowed = set(core.settings.tools_always_allowed)
        rows = [
            {
                "name": info.name,
                "key": info.key,
                "description": info.description,
                "server": info.server,
                "enabled": info.enabled,
                "needs_approval": toolbox.needs_approval(info),
                "always_allowed": info.key in allowed,
                "read_only": info.read_only,
            }
            for info in toolbox.infos()
        ]
        servers = _server_rows(core)
    finally:
        core.close()
    config, settings_file = core.paths.mcp_config, core.paths.config_file
    if wants_json(args):
        payload = {
            "tools": rows,
            "servers": servers,
            "config_error": core.mcp_error,
            "mcp_config": str(config),
        }
        print(json.dumps(payload, indent=2))
        return 0
    revoke = (
        "always allowed by you (remove it in Settings → Tools or from tools_always_allowed "
        f"in {settings_file})"
    )

    def show(row: dict[str, Any], indent: str) -> None:
        flags = [] if row["enabled"] else ["off"]
        if row["always_allowed"]:
            flags.append(revoke)
        else:
            flags.append("asks first" if row["needs_approval"] else "runs without asking")
        where = row["server"] if row["server"] == BUILTIN else row["key"]
        print(f"{indent}{row['name']}  ({where}; {', '.join(flags)})")
        print(f"{indent}    {row['description']}")

    print("Built-in tools:")
    for row in rows:
        if row["server"] == BUILTIN:
            show(row, "  ")
    print()
    if core.mcp_error:
        print(f"MCP servers: none used, {config} has an error:\n  {core.mcp_error}")
        return 0
    if not servers:
        print(
            f"No MCP servers. Add them to {config} "
            "(the mcpServers format of Claude Desktop and Cursor)."
        )
        return 0
    print(f"MCP servers (from {config}):")
    for server in servers:
        state = "disabled" if server["disabled"] else server["state"]
        if server["state"] == "running":
            state += f", {server['tools']} tool{'s' if server['tools'] != 1 else ''}"
        elif server["message"] and not server["disabled"]:
            state += ": " + server["message"].replace("\n", "\n      ")
        log = f" (log: {server['log']})" if server["log"] and not server["disabled"] else ""
        print(f"  {server['name']}: {state}{log}")
        for row in rows:
            if row["server"] == server["name"]:
                show(row, "    ")
    return 0


def _server_rows(core: Core) -> list[dict[str, Any]]:
    """Each configured MCP server's state, disabled and failed ones too (none without an MCP
    host)."""
    host = core.mcp_host
    if host is None:
        return []
    return [
        {
            "name": s.name,
            "state": s.state,
            "disabled": s.disabled,
            "message": s.message,
            "tools": s.tool_count,
            "log": str(s.log_path) if s.log_path else None,
        }
        for s in host.status()
    ]
