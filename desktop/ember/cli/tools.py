"""``ember tools list`` and the terminal's side of tool use: ``--tools``, ``--yes`` and the
approval prompt.

A call that needs approval is shown on stderr (tool, server, the exact arguments) and asked
about on the terminal: ``y`` allows it once, ``a`` always (saved in the settings), ``n`` denies
it. With ``--yes`` every call is allowed once without asking; with no terminal to ask on, it is
denied and the model is told so.
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

# Decisions that let a call run.
APPROVED = frozenset({"auto", "allow_once", "always"})


def register(commands: argparse._SubParsersAction) -> None:
    tools = commands.add_parser(
        "tools",
        help="the tools the model may call (`tools list`): built-ins and MCP servers' tools",
        description="Tools the model may call in `ember ask --tools NAME` and in the app: "
        "Ember's built-ins and the tools of the MCP servers in mcp.json.",
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
        help="tools the model may call, comma-separated (repeatable; see `ember tools list`)",
    )
    parser.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="allow every tool call without asking (once each; nothing is saved)",
    )


def chosen_tools(args: argparse.Namespace) -> list[str]:
    """The tool names given with ``--tools`` (comma-separated, repeatable), in order."""
    names = [n.strip() for given in (args.tools or []) for n in given.split(",")]
    return list(dict.fromkeys(n for n in names if n))


def check_tools(core: Core, names: Sequence[str]) -> None:
    """Every name is a tool that is switched on; :class:`ToolError` names the first that is not
    (with the tools there are)."""
    from ember.errors import ToolError

    for name in names:
        try:
            core.toolbox.get(name)
        except ToolError as exc:
            known = ", ".join(i.name for i in core.toolbox.infos() if i.enabled)
            raise ToolError(f"{exc} Tools: {known}.") from None


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
    """A tool step as ``ember ask --json`` reports it."""
    try:
        arguments: Any = json.loads(step.arguments)
    except ValueError:
        arguments = step.arguments
    return {
        "tool": step.tool,
        "server": step.server,
        "arguments": arguments,
        "result": step.result,
        "approved": step.decision in APPROVED,
        "decision": step.decision,
        "state": step.state,
        "error": step.error,
        "duration_s": step.duration_s,
    }


def step_line(step: ToolStep) -> str:
    """One line on stderr for a step that ended: ``[tool calculator {...}: done, 0.01 s]``."""
    took = f", {step.duration_s:.2f} s" if step.duration_s is not None else ""
    return f"[tool {step.tool} {step.arguments}: {step.state}{took}]"


def run_tools_list(args: argparse.Namespace) -> int:
    from ember.core import Core

    core = Core()
    try:
        toolbox = core.toolbox
        rows = [
            {
                "name": info.name,
                "description": info.description,
                "server": info.server,
                "enabled": info.enabled,
                "needs_approval": toolbox.needs_approval(info),
                "read_only": info.read_only,
            }
            for info in toolbox.infos()
        ]
        servers = _server_rows(core)
    finally:
        core.close()
    if wants_json(args):
        payload = {"tools": rows, "servers": servers, "config_error": core.mcp_error}
        print(json.dumps(payload, indent=2))
        return 0
    for row in rows:
        flags = [] if row["enabled"] else ["off"]
        flags.append("asks first" if row["needs_approval"] else "runs without asking")
        print(f"{row['name']}  ({row['server']}; {', '.join(flags)})")
        print(f"    {row['description']}")
    if core.mcp_error:
        print(f"ember: {core.mcp_error}", file=sys.stderr)
    for server in servers:
        if server["state"] == "failed":
            print(
                f"ember: MCP server {server['name']} failed: {server['message']}", file=sys.stderr
            )
    return 0


def _server_rows(core: Core) -> list[dict[str, Any]]:
    """Each MCP server's state (none without an MCP host)."""
    host = core.mcp_host
    if host is None:
        return []
    return [
        {
            "name": s.name,
            "state": s.state,
            "message": s.message,
            "tools": s.tool_count,
            "log": str(s.log_path) if s.log_path else None,
        }
        for s in host.status()
    ]
