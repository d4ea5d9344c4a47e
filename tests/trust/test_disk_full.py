"""A full disk while indexing or saving a chat: a clear error, and nothing already saved is lost.

The child process runs under ``RLIMIT_FSIZE`` with SIGXFSZ ignored, so a write that would grow a
file past the limit fails with EFBIG, as it does on a full disk (SQLite reports an I/O error, FAISS
a failed write). A tmpfs variant shows the same with a real ENOSPC where mounting is permitted.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.children import python
from tests.support.tiny_embedder import TinyEmbedder

from ember.chats.store import ChatStore
from ember.db import integrity_ok
from ember.knowledge import KnowledgeBase


def write_folder(folder: Path, documents: int, words: str) -> Path:
    folder.mkdir(parents=True)
    for number in range(documents):
        text = " ".join(f"{words} {number} fact {i} is stated here." for i in range(60))
        (folder / f"doc{number:03}.txt").write_text(text)
    return folder


def run_limited(limit: int, *args: str, dimension: int = 32) -> dict[str, str | None]:
    done = python(
        "-m",
        "tests.support.disk_full_child",
        str(limit),
        *args,
        timeout=120,
        EMBER_TEST_TINY_DIMENSION=str(dimension),
    )
    assert done.stdout.strip(), done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def small_index(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    kb_dir = tmp_path / "kb"
    notes = write_folder(tmp_path / "notes", 5, "Lighthouse")
    with KnowledgeBase(kb_dir, embedder=TinyEmbedder()) as kb:
        assert not kb.index([notes], "notes").failed
    yield kb_dir, notes


def test_indexing_onto_a_full_disk_says_so_and_keeps_the_previous_index(
    tmp_path: Path, small_index: tuple[Path, Path]
) -> None:
    kb_dir, _ = small_index
    big = write_folder(tmp_path / "big", 300, "Harbour")
    database = kb_dir / "knowledge.sqlite3"
    limit = database.stat().st_size + 64 * 1024

    outcome = run_limited(limit, "index", str(kb_dir), str(big))

    assert outcome["error"] == "StorageError"
    assert "Is the disk full? Free some disk space" in str(outcome["message"])
    with KnowledgeBase(kb_dir, embedder=TinyEmbedder()) as kb:
        kb.repair()
        assert integrity_ok(kb.store.conn)
        notes = kb.documents("notes")
        assert len(notes) == 5 and {d.state for d in notes} == {"done"}
        hits = kb.search("Lighthouse 3 fact 7", ["notes"], k=3)
        assert Path(hits.hits[0].source).name == "doc003.txt"
        assert set(kb.store.chunk_ids()) >= {int(i) for i in kb.vectors.ids()}


def test_a_full_disk_while_saving_the_vectors_keeps_the_old_vector_file(tmp_path: Path) -> None:
    # Wide vectors (64 KB each) make the vector file the one that outgrows the limit first.
    wide = TinyEmbedder(dimension=16384)
    kb_dir = tmp_path / "kb"
    with KnowledgeBase(kb_dir, embedder=wide) as kb:
        assert not kb.index([write_folder(tmp_path / "notes", 5, "Lighthouse")], "notes").failed
    vectors = kb_dir / "vectors.faiss"
    before = hashlib.sha256(vectors.read_bytes()).hexdigest()
    big = write_folder(tmp_path / "big", 25, "Harbour")

    # Room for SQLite to grow by megabytes; none for two more vectors.
    outcome = run_limited(
        vectors.stat().st_size + 100 * 1024, "index", str(kb_dir), str(big), dimension=16384
    )

    assert outcome["error"] == "StorageError", outcome
    assert str(outcome["message"]).startswith("Could not save the vector index")
    assert "Free some disk space" in str(outcome["message"])
    assert hashlib.sha256(vectors.read_bytes()).hexdigest() == before
    assert not list(kb_dir.glob(".vectors.faiss.*.tmp")), "a half-written temp file was left"
    with KnowledgeBase(kb_dir, embedder=wide) as kb:
        kb.repair()
        assert {d.state for d in kb.documents("notes")} == {"done"}
        assert all(d.state != "done" for d in kb.documents("big")), "done without vectors"


def test_a_full_disk_while_a_reply_streams_keeps_the_chat_history(tmp_path: Path) -> None:
    db_path = tmp_path / "chats.sqlite3"
    with ChatStore(db_path) as store:
        earlier = store.create("Earlier chat")
        store.add_message(earlier.id, "user", "What is the boiling point of water?")
        store.add_message(earlier.id, "assistant", "100 °C at sea level.")
        current = store.create("Current chat")
        store.add_message(current.id, "user", "Tell me a long story.")
    limit = db_path.stat().st_size + 32 * 1024

    outcome = run_limited(limit, "chat", str(db_path), str(current.id))

    assert outcome["error"] == "StorageError"
    assert "is the disk full?" in str(outcome["message"])
    with ChatStore(db_path) as store:
        assert integrity_ok(store._conn)
        assert [m.content for m in store.messages(earlier.id)] == [
            "What is the boiling point of water?",
            "100 °C at sea level.",
        ]
        reply = store.messages(current.id)[-1]
        # What was committed before the disk filled is kept, and marked as cut short.
        assert reply.role == "assistant" and reply.content.startswith("token 0 of a very long")
        assert reply.state == "interrupted"


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "tmpfs"
    mount_point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command here")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_indexing_onto_a_real_full_filesystem_says_so(tmp_path: Path, tiny_tmpfs: Path) -> None:
    notes = write_folder(tmp_path / "notes", 5, "Lighthouse")
    big = write_folder(tmp_path / "big", 600, "Harbour")
    kb_dir = tiny_tmpfs / "kb"
    with KnowledgeBase(kb_dir, embedder=TinyEmbedder()) as kb:
        assert not kb.index([notes], "notes").failed
    outcome = run_limited(1 << 40, "index", str(kb_dir), str(big))
    assert outcome["error"] == "StorageError", outcome
    assert "Free some disk space" in str(outcome["message"])
    assert "full" in str(outcome["message"]).lower()
    with KnowledgeBase(kb_dir, embedder=TinyEmbedder()) as kb:
        assert integrity_ok(kb.store.conn)
        assert {d.state for d in kb.documents("notes")} == {"done"}
