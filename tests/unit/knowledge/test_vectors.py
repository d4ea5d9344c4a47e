from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ember.knowledge.vectors import VectorIndex


def unit_vectors(n: int, dimension: int = 16, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, dimension)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_search_returns_the_ids_of_the_nearest_vectors(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "v.faiss", 16)
    vectors = unit_vectors(50)
    index.add(np.arange(100, 150), vectors)
    scores, ids = index.search(vectors[7], 3)
    assert ids[0] == 107 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert list(scores) == sorted(scores, reverse=True)


def test_saved_index_loads_back_with_its_ids(tmp_path: Path) -> None:
    path = tmp_path / "v.faiss"
    index = VectorIndex(path, 16)
    index.add([5, 9], unit_vectors(2))
    index.save()
    assert sorted(VectorIndex.open(path, 16).ids()) == [5, 9]
    assert [p.name for p in tmp_path.iterdir()] == ["v.faiss"]  # no temporary file left


def test_removed_ids_are_gone_after_save_and_load(tmp_path: Path) -> None:
    path = tmp_path / "v.faiss"
    index = VectorIndex(path, 16)
    index.add([1, 2, 3], unit_vectors(3))
    assert index.remove([2, 42]) == 1
    index.save()
    assert sorted(VectorIndex.open(path, 16).ids()) == [1, 3]


def test_an_unreadable_file_opens_empty_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "v.faiss"
    path.write_bytes(b"not a faiss index at all")
    index = VectorIndex.open(path, 16)
    assert len(index) == 0 and "could not be read" in (index.load_problem or "")


def test_a_file_of_another_dimension_opens_empty(tmp_path: Path) -> None:
    path = tmp_path / "v.faiss"
    index = VectorIndex(path, 8)
    index.add([1], unit_vectors(1, 8))
    index.save()
    reopened = VectorIndex.open(path, 16)
    assert len(reopened) == 0 and "8-dimensional" in (reopened.load_problem or "")


def test_approximate_search_past_the_threshold_keeps_recall(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "v.faiss", 32, ann_threshold=1000)
    vectors = unit_vectors(3000, 32)
    index.add(np.arange(3000), vectors)
    assert index.approximate
    queries = unit_vectors(50, 32, seed=1)
    found = 0
    for query in queries:
        _, exact = index.search(query, 10, exact=True)
        _, approx = index.search(query, 10)
        found += len(set(exact) & set(approx))
    assert found / (10 * len(queries)) >= 0.9


def test_approximate_search_skips_removed_ids(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "v.faiss", 32, ann_threshold=100)
    vectors = unit_vectors(400, 32)
    index.add(np.arange(400), vectors)
    index.search(vectors[0], 5)  # builds the HNSW index
    index.remove([0])
    _, ids = index.search(vectors[0], 5)
    assert 0 not in ids and len(ids) == 5


def test_the_approximate_index_is_reconciled_with_the_exact_one_on_load(tmp_path: Path) -> None:
    path = tmp_path / "v.faiss"
    index = VectorIndex(path, 32, ann_threshold=100)
    vectors = unit_vectors(401, 32)
    index.add(np.arange(400), vectors[:400])
    index.search(vectors[0], 5)
    index.save()  # both files
    exact_only = VectorIndex.open(path, 32, ann_threshold=100)
    exact_only.add([400], vectors[400:])  # added after the HNSW file was written...
    exact_only.remove([1])  # ...and removed
    exact_only.dirty = True
    exact_only.save()
    # Simulate a crash that kept the old HNSW file: the next load must still be right.
    reopened = VectorIndex.open(path, 32, ann_threshold=100)
    _, ids = reopened.search(vectors[400], 1)
    assert ids[0] == 400
    _, ids = reopened.search(vectors[1], 5)
    assert 1 not in ids
