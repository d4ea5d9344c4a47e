"""Walk files and folders the user chose, yielding what to index and, with reasons, what not.

Symbolic links are followed, but every folder is entered once by its real identity (device,
inode), so link loops end. A file reached twice (through a link, or a hard link) is yielded once.
Hidden folders (``.git``), caches, and Ember's own data folder are passed over; FIFOs, sockets and
devices are never opened for reading (a FIFO would block forever).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ember.errors import IngestError
from ember.knowledge.detect import (
    SUPPORTED_KINDS,
    kind_from_name,
    not_regular_reason,
    old_office_reason,
    sniff,
)
from ember.knowledge.limits import MAX_FILE_BYTES
from ember.paths import ember_paths
from ember.units import size_text

__all__ = ["SUPPORTED_KINDS", "Candidate", "Skipped", "discover"]

SKIPPED_FOLDER_NAMES = frozenset({"__pycache__", "node_modules"})


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file to hand to the parser. ``kind`` is a guess from the name; parsing checks the bytes."""

    path: Path
    kind: str
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Skipped:
    """A path left out of indexing, with the reason (e.g. "hidden")."""

    path: Path
    reason: str


def own_dirs() -> tuple[Path, ...]:
    """Ember's own data, cache and config folders (and ``EMBER_HOME``), resolved: never indexed,
    and what Ember writes there is no change to a watched folder."""
    paths = ember_paths()
    home = os.environ.get("EMBER_HOME")
    dirs = [paths.data_dir, paths.cache_dir, paths.config_dir]
    if home:
        dirs.append(Path(home).expanduser())
    resolved = []
    for directory in dirs:
        try:
            resolved.append(directory.resolve())
        except OSError:
            continue
    return tuple(resolved)


def is_within(path: Path, roots: tuple[Path, ...]) -> bool:
    """Whether ``path`` is one of ``roots`` or lies under one."""
    return any(path == root or root in path.parents for root in roots)


def passed_over_name(name: str, *, folder: bool) -> str:
    """Why an entry called ``name`` inside a chosen folder is passed over ("hidden", "cache
    folder"), or "" when it is not (Ember's own folders are checked by :func:`is_within`)."""
    if name.startswith("."):
        return "hidden"
    if folder and name in SKIPPED_FOLDER_NAMES:
        return "cache folder"
    return ""


def discover(inputs: Sequence[Path]) -> Iterator[Candidate | Skipped]:
    """Every indexable file under ``inputs`` (files or folders), in a stable order, as a
    :class:`Candidate`; everything passed over on purpose as a :class:`Skipped` with its reason.

    Inputs named explicitly are taken even if hidden; inside folders, hidden entries are skipped.
    """
    own = own_dirs()
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    for raw in inputs:
        yield from _walk(Path(raw).expanduser(), own, seen_dirs, seen_files, top=True)


def _walk(
    root: Path,
    own: tuple[Path, ...],
    seen_dirs: set[tuple[int, int]],
    seen_files: set[tuple[int, int]],
    *,
    top: bool,
) -> Iterator[Candidate | Skipped]:
    # An explicit stack instead of recursion: folder depth is the user's, not ours to bound.
    stack: list[tuple[Path, bool]] = [(root, top)]
    while stack:
        path, explicit = stack.pop()
        try:
            st = os.stat(path)
        except FileNotFoundError:
            reason = "broken symbolic link" if os.path.islink(path) else "not found"
            yield Skipped(path, reason)
            continue
        except PermissionError:
            yield Skipped(path, "permission denied")
            continue
        except OSError as exc:
            reason = (
                "symbolic link loop" if exc.errno == errno.ELOOP else f"cannot read: {exc.strerror}"
            )
            yield Skipped(path, reason)
            continue
        is_dir = stat.S_ISDIR(st.st_mode)
        passed_over = "" if explicit else passed_over_name(path.name, folder=is_dir)
        if passed_over:
            yield Skipped(path, passed_over)
            continue
        if is_dir:
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:
                # Reached again through a link: already walked, or being walked (a loop).
                if path.is_symlink():
                    yield Skipped(path, "symbolic link to a folder already included")
                continue
            seen_dirs.add(key)
            real = path.resolve()
            if is_within(real, own):
                yield Skipped(path, "Ember's own data folder")
                continue
            try:
                with os.scandir(path) as entries:
                    names = sorted(entry.name for entry in entries)
            except PermissionError:
                yield Skipped(path, "permission denied: cannot list this folder")
                continue
            except OSError as exc:
                yield Skipped(path, f"cannot list this folder: {exc.strerror}")
                continue
            stack.extend((path / name, False) for name in reversed(names))
            continue
        yield from _file(path, st, seen_files)


def _file(
    path: Path, st: os.stat_result, seen_files: set[tuple[int, int]]
) -> Iterator[Candidate | Skipped]:
    reason = not_regular_reason(st.st_mode)
    if reason:
        yield Skipped(path, reason)
        return
    key = (st.st_dev, st.st_ino)
    if key in seen_files:
        return
    seen_files.add(key)
    kind = kind_from_name(path)
    if st.st_size == 0:
        yield Skipped(path, "empty file")
        return
    if st.st_size > MAX_FILE_BYTES:
        yield Skipped(
            path,
            f"file is too large ({size_text(st.st_size)}; the limit is "
            f"{size_text(MAX_FILE_BYTES)})",
        )
        return
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except PermissionError:
        yield Skipped(path, "permission denied")
        return
    except OSError as exc:
        yield Skipped(path, f"cannot open: {exc.strerror}")
        return
    try:
        if kind is None and path.suffix == "":
            # No extension (README, LICENSE, notes): take it if its first bytes are text.
            try:
                kind = sniff(os.read(fd, 8192), path)
            except IngestError:
                kind = None
    finally:
        os.close(fd)
    if kind is None or kind not in SUPPORTED_KINDS:
        what = f"'{path.suffix.lower()}'" if path.suffix else "without an extension"
        yield Skipped(path, old_office_reason(path) or f"unsupported file type {what}")
        return
    yield Candidate(path, kind, st.st_size, st.st_mtime_ns)
