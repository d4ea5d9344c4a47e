"""kill -9 at random points of indexing, many times: the index is never damaged and resumes exactly.

Each run changes the folder a little (edits, a deletion, new files) so the victim always has real
work: parsing, replacing chunks, removing documents, embedding, checkpointing. After every kill the
next writer's open must find a healthy SQLite file, no duplicate or orphan vector, and no ``done``
document missing a vector; every few runs a resumed index must equal a clean one chunk for chunk.

``--runs N`` / ``EMBER_CRASH_RUNS`` sets the number of kills; ``--real-embedder`` uses MiniLM.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.children import REPO_ROOT, child_env
from tests.support.tiny_embedder import TinyEmbedder

from ember.db import integrity_ok
from ember.knowledge import KnowledgeBase

DOCUMENTS = 60


def write_document(folder: Path, number: int, version: int) -> None:
    sentences = " ".join(
        f"Topic {number} revision {version} fact {i} is stated here." for i in range(40)
    )
    (folder / f"doc{number:03}.txt").write_text(f"# Document {number}\n\n{sentences}\n")


def change_folder(folder: Path, rng: random.Random, run: int) -> None:
    """Edit a dozen documents, delete one, add two: every kind of work for the next ingest."""
    existing = sorted(folder.glob("doc*.txt"))
    for path in rng.sample(existing, k=min(12, len(existing))):
        write_document(folder, int(path.stem[3:]), run)
    if len(existing) > DOCUMENTS // 2:
        rng.choice(existing).unlink()
    for number in (DOCUMENTS + 2 * run, DOCUMENTS + 2 * run + 1):
        write_document(folder, number, run)


def kill_during_ingest(kb_dir: Path, folder: Path, delay: float, real: bool) -> str:
    """Start the victim, wait ``delay`` s after it is ready, SIGKILL it; returns where it was."""
    args = [sys.executable, "-m", "tests.support.ingest_kill_child", str(kb_dir), str(folder)]
    if real:
        args.append("--real-embedder")
    victim = subprocess.Popen(
        args, cwd=REPO_ROOT, env=child_env(), stdout=subprocess.PIPE, text=True
    )
    try:
        assert victim.stdout is not None
        assert victim.stdout.readline().strip() == "ready"
        time.sleep(delay)
        where = "finished" if victim.poll() is not None else "killed"
        victim.send_signal(signal.SIGKILL)
    finally:
        victim.kill()
        victim.communicate(timeout=60)
    return where


def check_after_crash(kb: KnowledgeBase) -> None:
    """What the next writer must find once it has reconciled FAISS with SQLite."""
    kb.repair()
    conn = kb.store.conn
    assert integrity_ok(conn)
    conn.execute("INSERT INTO chunks_fts(chunks_fts) VALUES ('integrity-check')")
    vector_ids = [int(i) for i in kb.vectors.ids()]
    assert len(vector_ids) == len(set(vector_ids)), "duplicate vectors"
    chunk_ids = set(kb.store.chunk_ids())
    assert set(vector_ids) <= chunk_ids, "vectors without a chunk row survived the repair"
    for record in kb.store.documents(state="done"):
        ids = {cid for cid, _ in kb.store.pending_chunks(record.id)}
        assert len(ids) == record.chunk_count
        assert ids <= set(vector_ids), f"{record.path} is done but misses vectors"
    paths = [r.path for r in kb.store.documents()]
    assert len(paths) == len(set(paths)), "a document is recorded twice"


def snapshot(kb: KnowledgeBase) -> list[tuple[str, int, str, str]]:
    rows = kb.store.conn.execute(
        "SELECT d.path, ch.ordinal, ch.text, d.state FROM chunks ch "
        "JOIN documents d ON d.id = ch.document_id"
    ).fetchall()
    return sorted((Path(r[0]).name, r[1], r[2], r[3]) for r in rows)


def resume_equals_clean_run(kb_dir: Path, folder: Path, clean_dir: Path, embedder: object) -> None:
    with KnowledgeBase(kb_dir, embedder=embedder) as kb:  # type: ignore[arg-type]
        report = kb.index([folder], "crash")
        assert not report.failed, report.failed
        assert sorted(kb.store.chunk_ids()) == sorted(int(i) for i in kb.vectors.ids())
        assert {r.state for r in kb.store.documents()} == {"done"}
        resumed = snapshot(kb)
        names = {Path(r.path).name for r in kb.store.documents()}
    assert names == {p.name for p in folder.glob("*.txt")}
    with KnowledgeBase(clean_dir, embedder=embedder) as clean:  # type: ignore[arg-type]
        clean.index([folder], "crash")
        assert resumed == snapshot(clean)


def test_kill_9_at_random_points_of_ingest_never_damages_the_index(
    tmp_path: Path, crash_runs: int, real_embedder: bool
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for number in range(DOCUMENTS):
        write_document(folder, number, 0)
    kb_dir = tmp_path / "kb"
    if real_embedder:
        from ember.knowledge.embedder import default_embedder

        embedder: object = default_embedder()
        longest = 12.0
    else:
        embedder = TinyEmbedder()
        longest = 0.9
    rng = random.Random(20240607)
    outcomes: list[str] = []
    for run in range(1, crash_runs + 1):
        change_folder(folder, rng, run)
        # Early, middle and late kills: while planning, embedding and checkpointing.
        outcomes.append(
            kill_during_ingest(kb_dir, folder, rng.uniform(0.0, longest), real_embedder)
        )
        with KnowledgeBase(kb_dir, embedder=embedder) as kb:  # type: ignore[arg-type]
            check_after_crash(kb)
        if run % 5 == 0 or run == crash_runs:
            resume_equals_clean_run(kb_dir, folder, tmp_path / f"clean{run}", embedder)
    assert outcomes.count("killed") >= crash_runs * 0.6, outcomes
