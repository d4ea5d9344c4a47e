"""kill -9 in the middle of the tool loop: the steps done so far survive, nothing half-written."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ember.chats.store import ChatStore
from tests.support.children import REPO_ROOT, child_env

pytestmark = pytest.mark.slow


def _kill_when(db_path: Path, tmp_path: Path, wanted: dict[str, object]) -> int:
    """Run the victim until it prints ``wanted``, SIGKILL it there; returns the reply's id."""
    stderr_path = tmp_path / "victim.stderr"
    with (
        stderr_path.open("w") as stderr_file,
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.tool_loop_kill_child", str(db_path)],
            cwd=REPO_ROOT,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            text=True,
        ) as victim,
    ):
        try:
            assert victim.stdout is not None
            reply_id = 0
            while True:
                line = victim.stdout.readline()
                assert line, f"it ended before the kill: {stderr_path.read_text()[-2000:]}"
                event = json.loads(line)
                reply_id = event.get("reply", reply_id)
                assert event["event"] != "done", "the answer finished before the kill"
                if all(event.get(k) == v for k, v in wanted.items()):
                    os.kill(victim.pid, signal.SIGKILL)
                    break
        finally:
            victim.kill()
            victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    return reply_id


def test_killed_while_a_tool_runs_the_step_is_interrupted_after_a_restart(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "chats.sqlite3"
    reply_id = _kill_when(db_path, tmp_path, {"event": "step", "state": "running"})
    with ChatStore(db_path) as store:
        reply = store.message(reply_id)
    assert reply is not None and reply.state == "interrupted"
    assert [(s.tool, s.state) for s in reply.steps] == [("calculator", "interrupted")]
    assert reply.steps[0].arguments == '{"expression": "1234 * 5678"}'
    assert reply.steps[0].finished is not None


def test_killed_mid_answer_the_finished_step_and_the_text_so_far_are_kept(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "chats.sqlite3"
    reply_id = _kill_when(db_path, tmp_path, {"event": "token"})
    with ChatStore(db_path) as store:
        reply = store.message(reply_id)
    assert reply is not None and reply.state == "interrupted"
    assert [(s.tool, s.state, s.result) for s in reply.steps] == [("calculator", "done", "7006652")]
