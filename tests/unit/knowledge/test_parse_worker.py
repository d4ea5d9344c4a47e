"""The sandbox's child process, run directly: it answers in :mod:`ember.ipc` frames and leaves
nothing open."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.children import REPO_ROOT, child_env

from ember.ipc import FRAME_HEADER, encode
from ember.knowledge.detect import TEST_HOOK_ENV


def run_worker(requests: list[dict[str, object]]) -> subprocess.CompletedProcess[bytes]:
    """The worker under ``-X dev`` (which shows ResourceWarnings) fed ``requests``, then EOF."""
    lines = b"".join(encode(r) for r in requests)
    return subprocess.run(
        [sys.executable, "-X", "dev", "-m", "ember.knowledge.parse_worker"],
        input=lines,
        capture_output=True,
        cwd=REPO_ROOT,
        env=child_env(**{TEST_HOOK_ENV: "1"}),
        timeout=120,
    )


def frames(stdout: bytes) -> list[dict[str, object]]:
    out, offset = [], 0
    while offset < len(stdout):
        (size,) = FRAME_HEADER.unpack_from(stdout, offset)
        offset += FRAME_HEADER.size
        out.append(json.loads(stdout[offset : offset + size]))
        offset += size
    return out


def request(path: Path, kind: str = "text", memory_mb: int = 1024) -> dict[str, object]:
    return {"id": 1, "kind": kind, "path": str(path), "timeout_s": 20, "memory_mb": memory_mb}


def test_the_worker_answers_and_exits_at_end_of_input_without_resource_warnings(
    tmp_path: Path,
) -> None:
    note = tmp_path / "note.txt"
    note.write_text("A short note.\n")
    done = run_worker([request(note)])
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    replies = frames(done.stdout)
    assert replies[0]["ready"] is True
    assert replies[1]["ok"] is True
    assert b"ResourceWarning" not in done.stderr, done.stderr.decode(errors="replace")


def test_a_worker_that_quits_after_running_out_of_memory_leaves_nothing_open(
    tmp_path: Path,
) -> None:
    memory_mb = 256
    hog = tmp_path / "hog.txt"
    hog.write_text("EMBER-TEST-PARSER alloc 1024\n")
    done = run_worker([request(hog, kind="test-hook", memory_mb=memory_mb)])
    assert done.returncode == 3  # fatal: the parent replaces this worker
    reply = frames(done.stdout)[1]
    assert reply["fatal"] is True and f"limit {memory_mb} MB" in str(reply["error"])
    assert b"ResourceWarning" not in done.stderr, done.stderr.decode(errors="replace")
