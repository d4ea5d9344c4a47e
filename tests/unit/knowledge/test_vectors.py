from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from ember.errors import StorageError
from ember.knowledge.vectors import VectorIndex, check_path


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
    # The index and its check file (size and checksum), no temporary file left.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.faiss", "v.faiss.check"]


def test_removed_ids_are_gone_after_save_and_load(tmp_path: Path) -> None:
    path = tmp_path / "v.faiss"
    index = VectorIndex(path, 16)
    index.add([1, 2, 3], unit_vectors(3))
    assert index.remove([2, 42]) == 1
    index.save()
    assert sorted(VectorIndex.open(path, 16).ids()) == [1, 3]


def saved_index(path: Path, n: int = 40) -> VectorIndex:
    index = VectorIndex(path, 16)
    index.add(np.arange(n), unit_vectors(n))
    index.save()
    return index


def test_an_unreadable_file_opens_empty_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "v.faiss"
    path.write_bytes(b"not a faiss index at all")  # and no check file: as an older Ember left it
    index = VectorIndex.open(path, 16)
    assert len(index) == 0 and index.load_problem is not None
    assert index.load_problem.startswith(
        "the vector file v.faiss could not be read (it is damaged, or not a FAISS index)."
    )
    assert "ember docs reindex" in index.load_problem
    assert "Error in" not in index.load_problem and ".cpp" not in index.load_problem  # no FAISS


def test_a_flipped_byte_is_caught_by_the_checksum_before_faiss_reads_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v.faiss"
    saved_index(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40  # inside the vectors: FAISS alone would load this silently
    path.write_bytes(bytes(data))
    index = VectorIndex.open(path, 16)
    assert len(index) == 0
    assert (index.load_problem or "").startswith(
        "the vector file v.faiss is damaged (its contents do not match the checksum saved with it)"
    )
    assert "ember docs reindex" in (index.load_problem or "")


def test_a_truncated_file_is_named_as_damaged_with_its_sizes(tmp_path: Path) -> None:
    path = tmp_path / "v.faiss"
    saved_index(path)
    size = path.stat().st_size
    path.write_bytes(path.read_bytes()[: size // 2])
    problem = VectorIndex.open(path, 16).load_problem or ""
    assert problem.startswith(
        f"the vector file v.faiss is damaged ({size // 2:,} bytes long where {size:,} were saved)"
    )


def test_an_unusable_file_is_replaced_by_the_next_save(tmp_path: Path) -> None:
    path = tmp_path / "v.faiss"
    saved_index(path)
    path.write_bytes(b"scribble")
    index = VectorIndex.open(path, 16)
    index.add([7], unit_vectors(1))
    index.save()
    reopened = VectorIndex.open(path, 16)
    assert reopened.load_problem is None and list(reopened.ids()) == [7]


def test_a_save_that_dies_between_its_two_renames_leaves_the_old_index_loadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v.faiss"
    index = saved_index(path, n=10)
    index.add([99], unit_vectors(1))

    real_replace = os.replace

    def check_file_only(source: os.PathLike[str], target: os.PathLike[str]) -> None:
        if Path(target) == path:
            raise OSError(28, "No space left on device")  # the index's own rename never happens
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", check_file_only)
    with pytest.raises(StorageError):
        index.save()
    monkeypatch.undo()
    reopened = VectorIndex.open(path, 16)  # the new check file, the old index file
    assert reopened.load_problem is None and sorted(reopened.ids()) == list(range(10))


def test_a_file_without_a_check_file_loads_and_gains_one_at_the_next_save(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v.faiss"
    saved_index(path, n=5)
    check_path(path).unlink()  # as an older Ember saved it
    index = VectorIndex.open(path, 16)
    assert index.load_problem is None and len(index) == 5
    index.add([50], unit_vectors(1))
    index.save()
    assert check_path(path).exists()
    assert VectorIndex.open(path, 16).load_problem is None


def test_a_file_of_another_dimension_opens_empty(tmp_path: Path) -> None:
    path = tmp_path / "v.faiss"
    index = VectorIndex(path, 8)
    index.add([1], unit_vectors(1, 8))
    index.save()
    reopened = VectorIndex.open(path, 16)
    assert len(reopened) == 0
    assert (reopened.load_problem or "").startswith(
        "the vector file v.faiss holds 8-dimensional vectors, not 16 (it was made for another "
        "embedding model)."
    )


def clustered_vectors(n: int, dimension: int = 32, seed: int = 0) -> np.ndarray:
    """Unit vectors in topical clusters, as sentence embeddings are (random ones have no
    neighbourhoods for an approximate index to find)."""
    rng = np.random.default_rng(seed)
    centres = unit_vectors(max(1, n // 50), dimension, seed + 1)
    vectors = centres[rng.integers(0, len(centres), n)] + 0.6 * unit_vectors(n, dimension, seed + 2)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_approximate_search_past_the_threshold_keeps_recall(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "v.faiss", 32, ann_threshold=1000)
    vectors = clustered_vectors(5000)
    index.add(np.arange(5000), vectors)
    index.save()  # the writer builds the approximate index
    assert index.approximate and index.ann_ready
    rng = np.random.default_rng(3)
    queries = vectors[rng.integers(0, 5000, 50)] + 0.5 * unit_vectors(50, 32, seed=4)
    found = 0
    for query in queries / np.linalg.norm(queries, axis=1, keepdims=True):
        _, exact = index.search(query, 10, exact=True)
        _, approx = index.search(query, 10)
        found += len(set(exact) & set(approx))
    assert found / (10 * len(queries)) >= 0.95


def test_approximate_scores_are_exact_cosines(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "v.faiss", 32, ann_threshold=1000)
    vectors = clustered_vectors(2000)
    index.add(np.arange(2000), vectors)
    index.save()
    scores, ids = index.search(vectors[3], 5)
    assert np.allclose(scores, vectors[ids] @ vectors[3], atol=1e-6)


def test_search_stays_exact_until_the_approximate_index_is_built(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "v.faiss", 32, ann_threshold=100)
    index.add(np.arange(400), clustered_vectors(400))
    assert index.approximate and not index.ann_ready  # a reader never pays for the build
    assert not (tmp_path / "v.ivf").exists()


def test_vectors_added_after_the_build_are_found_approximately(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "v.faiss", 32, ann_threshold=100)
    vectors = clustered_vectors(600)
    index.add(np.arange(500), vectors[:500])
    index.save()
    index.add(np.arange(500, 600), vectors[500:])  # no rebuild: added to the trained cells
    _, ids = index.search(vectors[550], 1)
    assert ids[0] == 550


def test_approximate_search_skips_removed_ids(tmp_path: Path) -> None:
    index = VectorIndex(tmp_path / "v.faiss", 32, ann_threshold=100)
    vectors = clustered_vectors(400)
    index.add(np.arange(400), vectors)
    index.save()
    index.remove([0])
    _, ids = index.search(vectors[0], 5)
    assert 0 not in ids and len(ids) == 5


def test_the_approximate_index_is_reconciled_with_the_exact_one_on_load(tmp_path: Path) -> None:
    path = tmp_path / "v.faiss"
    index = VectorIndex(path, 32, ann_threshold=100)
    vectors = clustered_vectors(401)
    index.add(np.arange(400), vectors[:400])
    index.save()  # both files
    # Simulate a crash that saved the exact file but kept the old IVF file.
    exact_only = VectorIndex.open(path, 32, ann_threshold=10**9)
    exact_only.add([400], vectors[400:])
    exact_only.remove([1])
    exact_only.save()
    reopened = VectorIndex.open(path, 32, ann_threshold=100)
    assert reopened.ann_ready
    _, ids = reopened.search(vectors[400], 1)
    assert ids[0] == 400
    _, ids = reopened.search(vectors[1], 5)
    assert 1 not in ids


def test_an_unreadable_approximate_file_leaves_search_exact(tmp_path: Path) -> None:
    path = tmp_path / "v.faiss"
    index = VectorIndex(path, 32, ann_threshold=100)
    vectors = clustered_vectors(400)
    index.add(np.arange(400), vectors)
    index.dirty = True
    index.ann_threshold = 10**9
    index.save()
    (tmp_path / "v.ivf").write_bytes(b"garbage")
    reopened = VectorIndex.open(path, 32, ann_threshold=100)
    assert not reopened.ann_ready
    _, ids = reopened.search(vectors[9], 1)
    assert ids[0] == 9
