"""`ember ask --tools` and `ember tools list` as a person runs them (real subprocess, real model)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ember.cancel import CancelToken
from ember.cli.tools import terminal_approver
from ember.engines.base import ToolCall
from ember.tools.builtin import ReadFile
from ember.tools.types import ApprovalRequest
from tests.support.processes import pids_with, wait_for_pids

QUESTION = "What is 1234 * 5678? Use the calculator."


def ember(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ember", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_ask_with_the_calculator_prints_one_json_object_with_the_answer_and_steps() -> None:
    result = ember(
        "ask", "--tools", "calculator", "--yes", "--json", QUESTION, "--temperature", "0"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    payload = json.loads(lines[0])
    assert "7006652" in payload["answer"]
    (step,) = payload["steps"]
    assert step["tool"] == "calculator"
    assert step["arguments"] == {"expression": "1234 * 5678"}
    assert step["result"] == "7006652"
    assert step["approved"] is True and step["state"] == "done"
    assert step["duration_s"] >= 0


@pytest.mark.slow
def test_an_unknown_tool_is_one_clear_line_naming_the_real_ones() -> None:
    result = ember("ask", "--tools", "calculator,rm_rf", QUESTION)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "rm_rf" in result.stderr and "calculator" in result.stderr.split("Tools:")[1]


def test_tools_list_shows_the_built_ins_and_which_ask_first(ember_home: Path) -> None:
    result = ember("tools", "list", "--json", timeout=60)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)["tools"]}
    assert set(rows) >= {"search_documents", "calculator", "current_datetime", "read_file"}
    assert rows["calculator"]["server"] == "built-in"
    assert rows["calculator"]["needs_approval"] is False
    assert rows["read_file"]["needs_approval"] is True
    assert all(row["description"] and row["enabled"] for row in rows.values())

    plain = ember("tools", "list", timeout=60)
    assert plain.returncode == 0 and "read_file  (built-in; asks first)" in plain.stdout


class Terminal(io.StringIO):
    """Typed answers, on what reads as a terminal."""

    def isatty(self) -> bool:
        return True


def request() -> ApprovalRequest:
    info = ReadFile(lambda: []).info
    return ApprovalRequest(ToolCall("call_1", "read_file", {"path": "/tmp/notes.txt"}), info)


@pytest.mark.parametrize(
    ("typed", "decision"),
    [("y\n", "allow_once"), ("a\n", "always"), ("n\n", "deny"), ("what?\nY\n", "allow_once")],
)
def test_the_terminal_asks_and_shows_the_exact_arguments(typed: str, decision: str) -> None:
    shown = io.StringIO()
    approve = terminal_approver(False, stdin=Terminal(typed), stderr=shown)
    assert approve(request(), CancelToken()) == decision
    assert "read_file (built-in)" in shown.getvalue()
    assert '"path": "/tmp/notes.txt"' in shown.getvalue()


def test_with_no_terminal_a_call_is_denied_with_a_clear_message() -> None:
    shown = io.StringIO()
    approve = terminal_approver(False, stdin=io.StringIO("y\n"), stderr=shown)
    assert approve(request(), CancelToken()) == "deny"
    assert "no terminal to ask on: denied (pass --yes" in shown.getvalue()
    assert terminal_approver(True)(request(), CancelToken()) == "allow_once"


def test_a_broken_mcp_json_leaves_the_built_ins_usable_and_is_named(ember_home: Path) -> None:
    pytest.importorskip("ember.tools.mcp_host")
    from ember.paths import ember_paths

    config = ember_paths().ensure().mcp_config
    config.write_text('{"mcpServers": {"time": ', encoding="utf-8")
    result = ember("tools", "list", "--json", timeout=60)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert "calculator" in [row["name"] for row in payload["tools"]]
    assert str(config) in payload["config_error"]


def test_tools_list_shows_a_real_mcp_servers_tools(ember_home: Path) -> None:
    pytest.importorskip("ember.tools.mcp_host")
    from ember.paths import ember_paths

    server = {"command": sys.executable, "args": ["-m", "mcp_server_time"]}
    config = ember_paths().ensure().mcp_config
    config.write_text(json.dumps({"mcpServers": {"time": server}}), encoding="utf-8")
    result = ember("tools", "list", "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    rows = {row["name"]: row for row in payload["tools"]}
    assert rows["get_current_time"]["server"] == "time"
    assert rows["get_current_time"]["needs_approval"] is True  # not a read-only built-in
    assert [(s["name"], s["state"]) for s in payload["servers"]] == [("time", "running")]


SUPPORT_SERVER = str(Path(__file__).resolve().parents[1] / "support" / "mcp_tools_server.py")


def test_tools_list_with_no_servers_says_where_to_add_them(ember_home: Path) -> None:
    from ember.paths import ember_paths

    result = ember("tools", "list", timeout=60)
    assert result.returncode == 0, result.stderr
    config = ember_paths().mcp_config
    assert (
        f"No MCP servers. Add them to {config} (the mcpServers format of Claude Desktop and "
        "Cursor)." in result.stdout
    )


def test_tools_list_shows_every_server_and_who_always_allowed_a_tool(
    ember_home: Path, tmp_path: Path
) -> None:
    from ember.config import load_settings, save_settings
    from ember.paths import ember_paths

    paths = ember_paths().ensure()
    servers = {
        "arith": {"command": sys.executable, "args": [SUPPORT_SERVER]},
        "old": {"command": sys.executable, "args": [SUPPORT_SERVER], "disabled": True},
        "ghost": {"command": str(tmp_path / "no-such-mcp-server")},
    }
    paths.mcp_config.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    settings = load_settings(paths)
    save_settings(settings.model_copy(update={"tools_always_allowed": ["arith/add"]}), paths)

    result = ember("tools", "list", timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"MCP servers (from {paths.mcp_config}):" in out
    assert "  arith: running, " in out
    assert "  old: disabled" in out
    assert "  ghost: failed: The MCP server 'ghost' could not start" in out
    assert (
        "add  (arith/add; always allowed by you (remove it in Settings → Tools or from "
        f"tools_always_allowed in {paths.config_file}))" in out
    )
    assert "echo  (arith/echo; asks first)" in out

    payload = json.loads(ember("tools", "list", "--json", timeout=120).stdout)
    states = {s["name"]: (s["state"], s["disabled"]) for s in payload["servers"]}
    assert states == {
        "arith": ("running", False),
        "old": ("stopped", True),
        "ghost": ("failed", False),
    }
    assert payload["mcp_config"] == str(paths.mcp_config)
    add = next(row for row in payload["tools"] if row["key"] == "arith/add")
    assert add["always_allowed"] is True and add["needs_approval"] is False


@pytest.mark.parametrize("given", ["", ","])
def test_tools_without_a_name_is_an_error(given: str) -> None:
    result = ember("ask", "--tools", given, QUESTION, timeout=60)
    assert result.returncode == 1
    assert "no tool was named" in result.stderr and "Traceback" not in result.stderr


def test_a_misspelt_tool_gets_a_did_you_mean() -> None:
    result = ember("ask", "--tools", "Calculator", QUESTION, timeout=60)
    assert result.returncode == 1
    assert "Did you mean 'calculator'?" in result.stderr


def test_a_missing_tool_says_mcp_json_is_broken(ember_home: Path) -> None:
    from ember.paths import ember_paths

    config = ember_paths().ensure().mcp_config
    config.write_text('{"servers": {"arith": {"command": "x"}}}', encoding="utf-8")
    result = ember("ask", "--tools", "add", QUESTION, timeout=60)
    assert result.returncode == 1
    assert "There is no tool called 'add'" in result.stderr
    assert f'(mcp.json has an error: {config} has no "mcpServers" object' in result.stderr
    assert 'rename the key to "mcpServers"' in result.stderr


def test_a_tool_of_a_server_that_did_not_start_names_the_server(
    ember_home: Path, tmp_path: Path
) -> None:
    from ember.paths import ember_paths

    config = ember_paths().ensure().mcp_config
    servers = {"arith": {"command": str(tmp_path / "no-such-mcp-server")}}
    config.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    result = ember("ask", "--tools", "arith/add", QUESTION, timeout=60)
    assert result.returncode == 1
    assert "There is no tool called 'arith/add'. The MCP server 'arith' could not start" in (
        result.stderr
    )


def test_sigterm_ends_the_command_and_its_mcp_servers(ember_home: Path, tmp_path: Path) -> None:
    """A terminal command ended by SIGTERM (a closed terminal, systemd, `kill`) leaves no MCP
    server behind: here one that hangs while starting, so `tools list` is still waiting."""
    import signal

    from ember.paths import ember_paths
    from ember.tools.mcp_process import process_alive

    marker = str(tmp_path / "hangs-at-start")
    server = {"command": sys.executable, "args": ["-c", "import time; time.sleep(3600)", marker]}
    config = ember_paths().ensure().mcp_config
    config.write_text(json.dumps({"mcpServers": {"silent": server}}), encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "ember", "tools", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert wait_for_pids(marker, timeout_s=60), "the MCP server never started"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert "ember: terminated" in err and "Traceback" not in err
    assert not [pid for pid in pids_with(marker) if process_alive(pid)]


def test_main_called_in_process_leaves_the_sigterm_handler_alone(ember_home: Path) -> None:
    import signal

    from ember.cli import main

    before = signal.getsignal(signal.SIGTERM)
    assert main(["tools", "list", "--json"]) == 0
    assert signal.getsignal(signal.SIGTERM) is before
