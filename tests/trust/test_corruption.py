"""Damaged files at start: named clearly, never wiped; the vector index is rebuilt from SQLite.

SQLite is the truth and the FAISS file is derived from it, so a corrupt or truncated vector file
costs a re-embed of the stored chunk rows (no file is parsed again). A damaged or newer SQLite
file (knowledge or chats) is refused with a message and left byte for byte as it was.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.tiny_embedder import TinyEmbedder

from ember.chats.store import ChatStore
from ember.errors import SchemaTooNew, StorageError
from ember.knowledge import KnowledgeBase
from ember.knowledge.sandbox import parse_file
from ember.knowledge.types import ParsedDocument
from ember.knowledge.vectors import REBUILD_ADVICE


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class CountingParser:
    """The real parser, counting the files it is asked to read."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, path: Path) -> ParsedDocument:
        self.calls += 1
        return parse_file(path)


def build_index(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "docs"
    folder.mkdir()
    for number in range(12):
        text = " ".join(f"Topic {number} fact {i} is stated here." for i in range(60))
        (folder / f"doc{number:02}.txt").write_text(text)
    kb_dir = tmp_path / "kb"
    with KnowledgeBase(kb_dir, embedder=TinyEmbedder()) as kb:
        assert not kb.index([folder], "docs").failed
    return kb_dir, folder


def truncate_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def garbage(path: Path) -> None:
    path.write_bytes(b"this is not a FAISS index at all\n" * 100)


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def garbage_without_check_file(path: Path) -> None:
    """As an older Ember (no check file) would leave it, then scribbled over."""
    garbage(path)
    path.with_name(path.name + ".check").unlink()


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (truncate_half, "the vector file vectors.faiss is damaged ("),
        (garbage, "the vector file vectors.faiss is damaged ("),
        (flip_a_byte, "is damaged (its contents do not match the checksum saved with it)"),
        (garbage_without_check_file, "could not be read (it is damaged, or not a FAISS index)"),
    ],
)
def test_a_damaged_vector_file_is_named_and_rebuilt_from_the_chunk_rows(
    tmp_path: Path, damage: Callable[[Path], None], problem: str
) -> None:
    kb_dir, folder = build_index(tmp_path)
    with KnowledgeBase(kb_dir, embedder=TinyEmbedder()) as kb:
        expected = sorted(kb.store.chunk_ids())
        answer = kb.search("Topic 7 fact 3", ["docs"], k=1).hits[0].source
    damage(kb_dir / "vectors.faiss")

    parser = CountingParser()
    with KnowledgeBase(kb_dir, embedder=TinyEmbedder(), parse=parser) as kb:
        repair = kb.repair()
        assert repair.problem is not None
        assert problem in repair.problem
        assert repair.problem.endswith(REBUILD_ADVICE)  # what happens, and what to run
        assert repair.reopened_documents == 12
        report = kb.reindex()  # what `ember docs reindex` does
        assert report.indexed == 12 and not report.failed
        assert sorted(int(i) for i in kb.vectors.ids()) == expected
        assert parser.calls == 0, "chunks were re-embedded from SQLite, no file parsed again"
        assert kb.search("Topic 7 fact 3", ["docs"], k=1).hits[0].source == answer
    assert Path(answer).parent == folder


def test_the_next_index_of_the_folder_also_rebuilds_missing_vectors(tmp_path: Path) -> None:
    kb_dir, folder = build_index(tmp_path)
    garbage(kb_dir / "vectors.faiss")
    parser = CountingParser()
    with KnowledgeBase(kb_dir, embedder=TinyEmbedder(), parse=parser) as kb:
        kb.index([folder], "docs")
        assert sorted(int(i) for i in kb.vectors.ids()) == sorted(kb.store.chunk_ids())
        assert {d.state for d in kb.documents()} == {"done"}
    assert parser.calls == 0


def damage_sqlite_pages(path: Path) -> None:
    """Scribble over pages in the middle of the file, keeping its header valid."""
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page * 2, min(len(data), page * 5)):
        data[offset] = 0x5A
    path.write_bytes(bytes(data))


def settle(path: Path) -> None:
    """Fold the WAL into the main file, so damage to the file is damage to the data."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def test_a_damaged_knowledge_database_is_refused_at_open_and_left_untouched(
    tmp_path: Path,
) -> None:
    kb_dir, _ = build_index(tmp_path)
    database = kb_dir / "knowledge.sqlite3"
    settle(database)
    damage_sqlite_pages(database)
    before = digest(database)
    with KnowledgeBase(kb_dir, embedder=TinyEmbedder()) as kb:
        with pytest.raises(StorageError, match=r"knowledge base at .* is damaged") as err:
            kb.documents()
    assert "Your documents themselves are fine" in str(err.value)
    assert digest(database) == before


def test_a_knowledge_file_that_is_not_a_database_is_refused_and_left_untouched(
    tmp_path: Path,
) -> None:
    kb_dir, _ = build_index(tmp_path)
    database = kb_dir / "knowledge.sqlite3"
    settle(database)
    database.write_bytes(b"garbage " * 4096)
    before = digest(database)
    with KnowledgeBase(kb_dir, embedder=TinyEmbedder()) as kb:
        with pytest.raises(StorageError, match="not a usable database"):
            kb.collections()
    assert digest(database) == before


def test_a_knowledge_database_from_a_newer_ember_is_refused_and_left_untouched(
    tmp_path: Path,
) -> None:
    kb_dir, _ = build_index(tmp_path)
    database = kb_dir / "knowledge.sqlite3"
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA user_version = 99")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = digest(database)
    with KnowledgeBase(kb_dir, embedder=TinyEmbedder()) as kb:
        with pytest.raises(SchemaTooNew, match="written by a newer Ember"):
            kb.index([tmp_path / "docs"], "docs")
    assert digest(database) == before


def make_chats(path: Path) -> None:
    with ChatStore(path) as store:
        for number in range(30):
            chat = store.create(f"Chat {number}")
            store.add_message(chat.id, "user", f"Question {number} " + "words " * 200)
            store.add_message(chat.id, "assistant", f"Answer {number} " + "words " * 200)
    settle(path)


def test_a_damaged_chat_history_is_refused_at_open_never_dropped(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    make_chats(path)
    damage_sqlite_pages(path)
    before = digest(path)
    with pytest.raises(StorageError, match=r"chat history at .* is damaged") as err:
        ChatStore(path)
    assert "It was left untouched" in str(err.value)
    assert digest(path) == before
    assert not path.with_name(path.name + "-journal").exists()


def test_a_chat_file_that_is_not_a_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    path.write_bytes(b"\x00garbage" * 10_000)
    before = digest(path)
    with pytest.raises(StorageError, match="not a usable database"):
        ChatStore(path)
    assert digest(path) == before


def test_a_truncated_chat_history_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    make_chats(path)
    truncate_half(path)
    before = digest(path)
    with pytest.raises(StorageError):
        ChatStore(path)
    assert digest(path) == before
