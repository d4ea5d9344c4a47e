from __future__ import annotations

from pathlib import Path

import pytest

from ember.db import integrity_ok
from ember.knowledge.chunking import Chunk
from ember.knowledge.store import KnowledgeStore


def chunk(ordinal: int, text: str, page: int | None = None) -> Chunk:
    return Chunk(ordinal, text, 0, 0, len(text), page, ("Guide", "Setup"))


def record(store: KnowledgeStore, path: str, texts: list[str], collection: str = "c") -> tuple:
    chunks = [chunk(i, t) for i, t in enumerate(texts)]
    return store.replace_document(
        collection,
        path,
        kind="text",
        encoding="utf-8",
        title=None,
        size=10,
        mtime_ns=1,
        content_hash="h-" + "".join(texts),
        chunks=chunks,
        embed_texts=texts,
    )


@pytest.fixture
def store(tmp_path: Path) -> KnowledgeStore:
    opened = KnowledgeStore(tmp_path / "k.sqlite3")
    yield opened
    opened.close()


def test_a_new_document_is_pending_until_marked_done(store: KnowledgeStore) -> None:
    document_id, chunk_ids, removed = record(store, "/a.txt", ["one", "two"])
    assert len(chunk_ids) == 2 and removed == []
    assert store.document("c", "/a.txt").state == "pending"
    store.mark_done([document_id])
    assert store.document("c", "/a.txt").state == "done"


def test_replacing_a_document_returns_the_chunk_ids_that_went(store: KnowledgeStore) -> None:
    _, old_ids, _ = record(store, "/a.txt", ["one", "two"])
    _, new_ids, removed = record(store, "/a.txt", ["three"])
    assert removed == old_ids
    assert store.chunk_ids() == new_ids


def test_chunk_ids_are_never_reused(store: KnowledgeStore) -> None:
    document_id, first, _ = record(store, "/a.txt", ["one"])
    store.remove_document(document_id)
    _, second, _ = record(store, "/b.txt", ["one"])
    assert second[0] > first[0]  # a stale vector for the old id can never match a new chunk


def test_keyword_search_follows_inserts_and_deletes(store: KnowledgeStore) -> None:
    document_id, ids, _ = record(store, "/a.txt", ["the firmware update", "wireless channels"])
    store.mark_done([document_id])
    assert store.keyword_search('"firmware"', None, 10) == [ids[0]]
    store.remove_document(document_id)
    assert store.keyword_search('"firmware"', None, 10) == []
    assert integrity_ok(store.conn)


def test_keyword_search_stems_words(store: KnowledgeStore) -> None:
    document_id, ids, _ = record(store, "/a.txt", ["updating the router"])
    store.mark_done([document_id])
    assert store.keyword_search('"updates"', None, 10) == ids


def test_unfinished_documents_are_not_searchable(store: KnowledgeStore) -> None:
    _, ids, _ = record(store, "/a.txt", ["firmware"])
    assert store.chunk_rows(ids) == {}
    assert store.keyword_search('"firmware"', ["c"], 10) == []


def test_chunk_rows_can_be_limited_to_collections(store: KnowledgeStore) -> None:
    a, a_ids, _ = record(store, "/a.txt", ["alpha"], collection="one")
    b, b_ids, _ = record(store, "/b.txt", ["beta"], collection="two")
    store.mark_done([a, b])
    assert set(store.chunk_rows(a_ids + b_ids, ["two"])) == set(b_ids)
    row = store.chunk_rows(a_ids)[a_ids[0]]
    assert (row.path, row.collection, row.heading) == ("/a.txt", "one", "Guide > Setup")


def test_a_failure_is_recorded_with_its_reason_and_drops_old_chunks(store: KnowledgeStore) -> None:
    _, ids, _ = record(store, "/a.txt", ["alpha"])
    removed = store.record_failure("c", "/a.txt", "password protected PDF", size=5, mtime_ns=2)
    assert removed == ids
    document = store.document("c", "/a.txt")
    assert (document.state, document.error, document.chunk_count) == (
        "failed",
        "password protected PDF",
        0,
    )


def test_collections_count_only_finished_documents(store: KnowledgeStore) -> None:
    done, _, _ = record(store, "/a.txt", ["alpha", "beta"])
    record(store, "/b.txt", ["gamma"])
    store.mark_done([done])
    [info] = store.collections()
    assert (info.name, info.documents, info.chunks) == ("c", 1, 2)


def test_deleting_a_collection_returns_its_chunk_ids(store: KnowledgeStore) -> None:
    _, ids, _ = record(store, "/a.txt", ["alpha"])
    assert store.delete_collection("c") == ids
    assert store.documents() == [] and store.chunk_count() == 0
