from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from ember.files import replacing, sha256_file, write_atomically


def test_sha256_file_is_the_files_sha256(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    data = os.urandom(3 * (1 << 20) + 17)  # more than one read's worth
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_write_atomically_replaces_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "settings.toml"
    write_atomically(target, "first")
    write_atomically(target, b"second")
    assert target.read_text() == "second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["settings.toml"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / "vectors.faiss"
    target.write_text("old")
    with pytest.raises(RuntimeError), replacing(target) as temp:
        temp.write_text("half of the new")
        raise RuntimeError("the writer died")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["vectors.faiss"]


def test_writers_in_parallel_never_share_a_temporary_file(tmp_path: Path) -> None:
    # A fixed ".tmp" name let two writers truncate each other's file: the result mixed both.
    target = tmp_path / "models.toml"
    texts = [str(n) * 200_000 for n in range(8)]
    barrier = threading.Barrier(len(texts))

    def write(text: str) -> None:
        barrier.wait()
        write_atomically(target, text)

    threads = [threading.Thread(target=write, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert target.read_text() in texts
    assert [p.name for p in tmp_path.iterdir()] == ["models.toml"]


@pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX")
def test_private_files_are_created_private(tmp_path: Path) -> None:
    target = tmp_path / "settings.toml"
    write_atomically(target, "api_key = 'secret'", mode=0o600)
    assert target.stat().st_mode & 0o777 == 0o600
