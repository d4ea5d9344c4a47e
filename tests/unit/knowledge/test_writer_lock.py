"""One writer at a time per knowledge folder, across processes (a lock file, via filelock)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.support.children import REPO_ROOT, child_env
from tests.support.tiny_embedder import TinyEmbedder

from ember.errors import StorageError
from ember.knowledge import KnowledgeBase

HOLDER = """
import sys
from pathlib import Path
from tests.support.tiny_embedder import TinyEmbedder
from ember.knowledge import KnowledgeBase

with KnowledgeBase(Path(sys.argv[1]), embedder=TinyEmbedder()) as kb:
    kb.repair()  # takes the writer's lock
    print("locked", flush=True)
    sys.stdin.readline()  # hold it until told to let go
"""


def test_a_second_process_cannot_write_while_one_holds_the_lock(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        cwd=REPO_ROOT,
        env=child_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "locked"
            started = time.monotonic()
            with (
                KnowledgeBase(tmp_path, embedder=TinyEmbedder()) as kb,
                pytest.raises(StorageError, match="Another Ember process is indexing"),
            ):
                kb.repair()
            assert time.monotonic() - started >= 2.5  # it waited for the holder, then gave up
            holder.stdin.write("\n")
            holder.stdin.flush()
            assert holder.wait(timeout=30) == 0
        finally:
            holder.kill()
    with KnowledgeBase(tmp_path, embedder=TinyEmbedder()) as kb:
        assert kb.repair().problem is None  # the lock is free once the holder is gone
