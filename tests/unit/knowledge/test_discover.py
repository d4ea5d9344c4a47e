"""Walking the user's files and folders: what gets indexed, and what is skipped and why."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import nasty_files

from ember.knowledge.discover import Candidate, Skipped, discover
from ember.paths import ember_paths


def _walk(*inputs: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(relative path -> kind of each candidate, relative path -> reason of each skip)."""
    found, skipped = {}, {}
    root = inputs[0] if inputs[0].is_dir() else inputs[0].parent
    for item in discover(list(inputs)):
        name = os.path.relpath(item.path, root)
        if isinstance(item, Candidate):
            found[name] = item.kind
        else:
            assert isinstance(item, Skipped)
            skipped[name] = item.reason
    return found, skipped


def test_folders_are_walked_recursively_and_kinds_come_from_names(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "top.md").write_text("# hi\n")
    (tmp_path / "a" / "notes.txt").write_text("notes\n")
    (tmp_path / "a" / "b" / "deep.py").write_text("x = 1\n")
    nasty_files.write_pdf(tmp_path / "a" / "manual.pdf", ["text"])
    found, _ = _walk(tmp_path)
    assert found == {
        "top.md": "markdown",
        "a/notes.txt": "text",
        "a/manual.pdf": "pdf",
        "a/b/deep.py": "code",
    }


def test_candidates_carry_size_and_mtime_for_change_detection(tmp_path: Path) -> None:
    path = tmp_path / "n.txt"
    path.write_text("twelve bytes")
    (candidate,) = discover([path])
    assert isinstance(candidate, Candidate)
    assert (candidate.size, candidate.mtime_ns) == (12, path.stat().st_mtime_ns)


def test_hidden_folders_like_git_are_skipped(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config.txt").write_text("secret\n")
    (tmp_path / "keep.txt").write_text("keep\n")
    found, skipped = _walk(tmp_path)
    assert found == {"keep.txt": "text"}
    assert skipped == {".git": "hidden"}


def test_a_hidden_folder_named_explicitly_is_walked(tmp_path: Path) -> None:
    (tmp_path / ".notes").mkdir()
    (tmp_path / ".notes" / "todo.txt").write_text("buy milk\n")
    (item,) = discover([tmp_path / ".notes"])
    assert isinstance(item, Candidate)


def test_symlink_loops_end_and_each_file_is_listed_once(tmp_path: Path) -> None:
    folder = nasty_files.symlink_loop(tmp_path / "loop")
    found, skipped = _walk(folder)
    assert found == {"note.txt": "text"}
    assert skipped == {
        "loop": "symbolic link to a folder already included",
        "self.txt": "symbolic link loop",
    }


def test_a_file_reached_through_a_symlink_is_listed_once(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("text\n")
    (tmp_path / "alias.txt").symlink_to(tmp_path / "real.txt")
    found, _ = _walk(tmp_path)
    assert len(found) == 1


def test_fifos_sockets_and_devices_are_skipped_without_opening_them(tmp_path: Path) -> None:
    nasty_files.fifo(tmp_path / "pipe.txt")
    _, skipped = _walk(tmp_path)
    assert skipped == {"pipe.txt": "not a regular file: it is a FIFO (named pipe)"}
    (item,) = discover([Path("/dev/null")])
    assert item == Skipped(Path("/dev/null"), "not a regular file: it is a character device")


def test_empty_huge_and_unsupported_files_are_skipped_with_reasons(tmp_path: Path) -> None:
    nasty_files.empty_file(tmp_path / "empty.txt")
    nasty_files.sparse_file(tmp_path / "huge.txt")
    (tmp_path / "photo.gif").write_bytes(b"GIF89a" + bytes(100))  # JPEG, PNG, TIFF are OCR'd
    (tmp_path / "budget.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100))
    _, skipped = _walk(tmp_path)
    assert skipped == {
        "empty.txt": "empty file",
        "huge.txt": "file is too large (5.0 GB; the limit is 1.1 GB)",
        "photo.gif": "unsupported file type '.gif'",
        "budget.xls": "old Excel format (.xls) is not supported; save it as .xlsx or .ods",
    }


def test_files_without_an_extension_are_taken_when_they_hold_text(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("Read me.\n")
    (tmp_path / "blob").write_bytes(bytes(range(256)))
    found, skipped = _walk(tmp_path)
    assert found == {"README": "text"}
    assert skipped == {"blob": "unsupported file type without an extension"}


def test_embers_own_data_folder_is_never_indexed(tmp_path: Path, ember_home: Path) -> None:
    data = ember_paths().ensure().data_dir
    (data / "chats-export.txt").write_text("private\n")
    (tmp_path / "mine.txt").write_text("mine\n")
    (tmp_path / "ember").symlink_to(ember_home, target_is_directory=True)
    found, skipped = _walk(tmp_path)
    assert found == {"mine.txt": "text"}
    assert skipped == {"ember": "Ember's own data folder"}


def test_a_missing_input_is_reported_not_raised(tmp_path: Path) -> None:
    assert list(discover([tmp_path / "gone"])) == [Skipped(tmp_path / "gone", "not found")]


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder another user can enter (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="ember-discover-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def _discover_as_nobody(folder: Path) -> list[list[str]]:
    """Run discover() in a forked child that has dropped root, since root reads everything."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            rows = [
                [str(item.path), getattr(item, "reason", "candidate")]
                for item in discover([folder])
            ]
            os.write(write_end, json.dumps(rows).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as stream:
        data = stream.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return json.loads(data)


def test_unreadable_files_and_folders_are_skipped_as_permission_denied(shared_tmp: Path) -> None:
    (shared_tmp / "open.txt").write_text("readable\n")
    (shared_tmp / "closed.txt").write_text("private\n")
    (shared_tmp / "closed.txt").chmod(0o000)
    (shared_tmp / "locked").mkdir()
    (shared_tmp / "locked" / "inside.txt").write_text("hidden\n")
    (shared_tmp / "locked").chmod(0o000)
    (shared_tmp / "open.txt").chmod(0o644)
    if os.geteuid() == 0:
        rows = _discover_as_nobody(shared_tmp)
    else:
        rows = [[str(i.path), getattr(i, "reason", "candidate")] for i in discover([shared_tmp])]
    assert sorted((Path(path).name, reason) for path, reason in rows) == [
        ("closed.txt", "permission denied"),
        ("locked", "permission denied: cannot list this folder"),
        ("open.txt", "candidate"),
    ]
