"""kill -9 in the middle of indexing, again and again: the index stays whole and resumes exactly."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.tiny_embedder import TinyEmbedder

from ember.db import integrity_ok
from ember.knowledge import KnowledgeBase

ROOT = Path(__file__).resolve().parents[3]


def make_folder(folder: Path) -> None:
    folder.mkdir()
    for number in range(120):
        sentences = " ".join(f"Topic {number} fact {i} is stated here." for i in range(30))
        (folder / f"doc{number:03}.txt").write_text(sentences)


def run_child_and_kill(kb_dir: Path, folder: Path, delay: float) -> bool:
    """True if the child was killed mid-run, False if it finished first."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "desktop")])}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.support.knowledge_crash_child", str(kb_dir), str(folder)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    time.sleep(delay)
    killed = child.poll() is None
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    return killed


def snapshot(kb: KnowledgeBase) -> list[tuple[str, int, str]]:
    """Every chunk as (file name, ordinal, text): what a clean run must also produce."""
    rows = kb.store.conn.execute(
        "SELECT d.path, ch.ordinal, ch.text FROM chunks ch JOIN documents d ON d.id = ch.document_id"
    ).fetchall()
    return sorted((Path(r[0]).name, r[1], r[2]) for r in rows)


def test_kill_9_mid_ingest_then_resume_matches_a_clean_run(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    make_folder(folder)
    kb_dir = tmp_path / "kb"
    rng = random.Random(1234)
    kills = 0
    for _ in range(4):
        kills += run_child_and_kill(kb_dir, folder, rng.uniform(0.05, 0.6))
        with KnowledgeBase(kb_dir, embedder=TinyEmbedder()) as kb:
            repair = kb.repair()  # what the next writer finds on open
            vector_ids = sorted(int(i) for i in kb.vectors.ids())
            assert vector_ids == sorted(set(vector_ids)), "duplicate vectors"
            assert set(vector_ids) <= set(kb.store.chunk_ids())
            assert integrity_ok(kb.store.conn)
            for record in kb.store.documents(state="done"):
                ids = {cid for cid, _ in kb.store.pending_chunks(record.id)}
                assert ids <= set(vector_ids), f"{record.path} done without its vectors"
            del repair
    assert kills >= 2, "the child finished before it could be killed; slow it down"

    with KnowledgeBase(kb_dir, embedder=TinyEmbedder()) as kb:
        kb.index([folder], "crash")
        assert len(kb.store.documents(state="done")) == 120
        assert sorted(kb.store.chunk_ids()) == sorted(int(i) for i in kb.vectors.ids())
        assert integrity_ok(kb.store.conn)
        resumed = snapshot(kb)

    with KnowledgeBase(tmp_path / "clean", embedder=TinyEmbedder()) as clean:
        clean.index([folder], "crash")
        assert resumed == snapshot(clean)
