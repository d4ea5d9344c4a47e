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
