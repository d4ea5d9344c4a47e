"""Durable file writes, file digests and file names: the one place Ember replaces a file, hashes
one, or turns a file name into text for storage and display.

A file is replaced atomically by writing a temporary file with a unique name in the same folder
(so two processes saving at once never share one), flushing and fsyncing it, renaming it over the
target with :func:`os.replace`, then fsyncing the folder so the rename itself survives a power
cut. A crash leaves the old file or the new one, never half of one, and at worst a stray
``.NAME.*.tmp`` beside it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def shown_path(path: str) -> str:
    """``path`` as text a person (and a strict encoder) can take: bytes that are not UTF-8 in a
    file name (held by Python as lone surrogates, ``"caf\\udce9.txt"``) become U+FFFD
    (``"caf\ufffd.txt"``). Every other name comes back unchanged.

    For screens, messages, JSON and prompts; never for opening the file: use the path itself.
    """
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        try:
            raw = path.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate no file system produced
            raw = path.encode("utf-8", "replace")
        return raw.decode("utf-8", "replace")
    return path


def path_to_db(path: str) -> str | bytes:
    """``path`` as an SQLite value that keeps every byte: text when it is valid UTF-8, else its
    raw file-system bytes (a BLOB; SQLite refuses text with lone surrogates). See
    :func:`path_from_db`."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


def path_from_db(value: str | bytes) -> str:
    """The path :func:`path_to_db` stored: text as is, a BLOB decoded as the file system does."""
    return os.fsdecode(value) if isinstance(value, bytes) else value


def sha256_file(path: Path | str) -> str:
    """The SHA-256 of the file at ``path`` as 64 lower-case hex digits.

    Raises :class:`OSError` if the file cannot be read or is not a regular file (a FIFO or a
    device would block or never end): it is opened without blocking and checked first.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with open(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return hashlib.file_digest(handle, "sha256").hexdigest()


@contextmanager
def replacing(target: Path, *, mode: int = 0o666) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``target``; on a clean exit it replaces ``target``.

    The caller writes the temporary file however it likes (``faiss.write_index`` takes a path);
    on leaving the block it is fsynced, renamed over ``target`` and the folder fsynced. On an
    exception the temporary file is removed and ``target`` is untouched. The folder is created
    if missing. ``mode`` is the new file's permissions before the umask (``0o600`` for files
    holding secrets). Raises :class:`OSError` when the disk refuses (full, read-only, permissions).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _create_temp(target, mode)
    try:
        yield temp
        _fsync_file(temp)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_directory(target.parent)


def write_atomically(
    target: Path, data: bytes | str, *, encoding: str = "utf-8", mode: int = 0o666
) -> None:
    """Replace ``target`` with ``data`` (text is encoded with ``encoding``), crash-safely.

    ``mode`` as for :func:`replacing`. Raises :class:`OSError` when the disk refuses; ``target``
    is then untouched.
    """
    payload = data.encode(encoding) if isinstance(data, str) else data
    with replacing(target, mode=mode) as temp:
        temp.write_bytes(payload)


def _create_temp(target: Path, mode: int) -> Path:
    """Create an empty, uniquely named file beside ``target`` (never one another process uses)."""
    while True:
        temp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
        except FileExistsError:
            continue
        return temp


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable where the platform allows it (not on Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # Windows cannot open folders; its rename is durable enough there
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on folders; nothing better to do
    finally:
        os.close(fd)
