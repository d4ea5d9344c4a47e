"""One file of a download job: fetched through ``huggingface_hub``, resumed, retried, verified.

:func:`fetch_file` downloads into ``FILE.incomplete`` with ``huggingface_hub.file_download.
http_get`` (a Range request from the bytes already there), retries transient failures (drops,
timeouts, 429, 5xx) with backoff or the server's ``Retry-After``, hashes the file while it grows,
checks the sha256 against the hub's and the catalog's, and only then moves it to its name. A
mismatch deletes the file; a full disk is a :class:`DownloadError` that keeps the bytes.
"""

from __future__ import annotations

import errno
import os
import re
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ember.errors import DownloadError
from ember.files import sha256_file
from ember.hub import session
from ember.hub.download_hash import FileHasher
from ember.hub.download_progress import Progress, StopDownload, bar_class
from ember.hub.download_store import DownloadStore, JobRow, boot_id
from ember.hub.types import HubFile
from ember.units import size_text

BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)  # waits between attempts (then 30 s each)
MAX_FAILURES = 8  # attempts in a row without a new byte before a job fails (it stays resumable)
MAX_RETRY_AFTER_S = 600.0
CHECKPOINT_S = 2.0  # record progress and look for a pause asked by another process this often
# fsync the partial file and record its size (what survives a reboot) this often: an fsync stalls
# the writes behind it while the page cache drains, so not every checkpoint pays for one.
DURABLE_S = 15.0
_CHUNK = 1 << 20  # bytes per read: pause within a megabyte, lose at most one on a kill
_SHA256 = re.compile(r"[0-9a-f]{64}")
_DISK_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


def display(job: JobRow) -> str:
    """What a person reads for the job: "OWNER/REPO · QUANT"."""
    return f"{job.repo_id} · {job.quantization}" if job.quantization else job.repo_id


def metadata(job: JobRow, f: HubFile, *, translate: bool = True):  # HfFileMetadata
    """The file's size, ETag (its LFS sha256), commit and download location, from a HEAD
    request. With ``translate`` a failure is a :class:`DownloadError` in a person's words;
    without, the library's exception (for the retry loop to judge)."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(job.repo_id, f.filename, revision=job.revision, endpoint=session.endpoint())
    try:
        return get_hf_file_metadata(url, token=session.token(), endpoint=session.endpoint())
    except Exception as exc:  # every hub/transport failure
        if not translate:
            raise
        raise DownloadError(str(session.translate(exc, job.repo_id))) from exc


def fetch_file(
    store: DownloadStore,
    job: JobRow,
    f: HubFile,
    final: Path,
    progress: Progress,
    stopping: Callable[[], str | None],
) -> None:
    """One file: download (resuming), verify, move into place. Retries transient failures."""
    partial = final.with_name(final.name + ".incomplete")
    if final.is_file() and final.stat().st_size == f.size_bytes:
        progress.file_finished(f.size_bytes)
        return
    partial.parent.mkdir(parents=True, exist_ok=True)
    failures = 0
    while True:
        on_disk = partial.stat().st_size if partial.is_file() else 0
        if on_disk > f.size_bytes:
            partial.unlink()
            on_disk = 0
        progress.file_started(on_disk)
        try:
            digest = _attempt(store, job, f, partial, progress, stopping)
            break
        except StopDownload:
            raise
        except DownloadError:
            raise
        except Exception as exc:
            wait, why = _retryable(exc, job)
            now_on_disk = partial.stat().st_size if partial.is_file() else 0
            failures = 0 if now_on_disk > on_disk else failures + 1
            if failures >= MAX_FAILURES:
                raise DownloadError(
                    f"{display(job)} keeps failing ({why}); the {size_text(now_on_disk)} "
                    "downloaded are kept: try again later to resume."
                ) from exc
            wait = wait if wait is not None else BACKOFF_S[min(failures, len(BACKOFF_S)) - 1]
            _wait(progress, f"{why}; retrying in {wait:.0f} s.", wait, stopping)
    _verify(job, f, partial, digest, progress)
    os.replace(partial, final)
    progress.file_finished(f.size_bytes)


def _attempt(
    store: DownloadStore,
    job: JobRow,
    f: HubFile,
    partial: Path,
    progress: Progress,
    stopping: Callable[[], str | None],
) -> str:
    """One try at the file through ``huggingface_hub``'s downloader, from the bytes on disk.
    Returns the file's sha256 (hashed while it downloaded)."""
    from huggingface_hub import constants, file_download
    from huggingface_hub.utils import build_hf_headers

    meta = metadata(job, f, translate=False)
    if meta.size is not None and f.size_bytes and meta.size != f.size_bytes:
        raise DownloadError(
            f"{f.filename} on the hub is {meta.size} bytes, not the {f.size_bytes} listed; "
            "the repository changed. Search for the model again."
        )
    if meta.etag and _SHA256.fullmatch(meta.etag) and not f.sha256:
        f = replace(f, sha256=meta.etag)
    constants.DOWNLOAD_CHUNK_SIZE = min(constants.DOWNLOAD_CHUNK_SIZE, _CHUNK)
    progress.set("downloading")
    mode = "r+b" if partial.is_file() else "w+b"
    with partial.open(mode) as out, FileHasher(partial) as hasher:
        out.seek(0, os.SEEK_END)
        checkpoint = _Checkpoint(store, job, f, out, progress, stopping)
        try:
            file_download.http_get(
                meta.location,
                out,
                resume_size=out.tell(),
                headers=build_hf_headers(token=session.token()),
                expected_size=f.size_bytes or meta.size,
                displayed_filename=f.filename,
                tqdm_class=bar_class(progress, checkpoint),
            )
        except OSError as exc:
            if exc.errno in _DISK_FULL:
                raise DownloadError(
                    f"The disk is full: {f.filename} could not be written in "
                    f"{partial.parent} ({exc.strerror}). Nothing was registered; free some "
                    "space, then resume to continue from the bytes already downloaded."
                ) from None
            raise
        out.flush()
        progress.set("verifying", "Checking the sha256.")
        digest = hasher.finish()
    return sha256_file(partial) if progress.rewound else digest


def _retryable(exc: Exception, job: JobRow) -> tuple[float | None, str]:
    """(seconds the server asked to wait or None, why) for a failure worth retrying; raises
    :class:`DownloadError` for one that is not (a missing file, a gated repo...)."""
    status = session.status_of(exc)
    if status is None:
        name = type(exc).__name__
        if isinstance(exc, OSError) and "Consistency check" in str(exc):
            return None, "The connection ended early"
        return None, f"Connection problem ({name})"
    if status in (408, 429) or status >= 500:
        response = getattr(exc, "response", None)
        after = _retry_after(getattr(response, "headers", {}) or {})
        why = "The hub is busy (429)" if status == 429 else f"The hub answered {status}"
        return after, why
    raise DownloadError(str(session.translate(exc, job.repo_id))) from exc


def _wait(
    progress: Progress, message: str, wait: float, stopping: Callable[[], str | None]
) -> None:
    progress.set("stalled", message, wait)
    deadline = wait
    while deadline > 0:
        if stopping():
            raise StopDownload
        step = min(0.1, deadline)
        time.sleep(step)
        deadline -= step
    progress.set("downloading")


def _verify(job: JobRow, f: HubFile, partial: Path, digest: str, progress: Progress) -> None:
    """Check ``digest`` against the hub's and the catalog's sha256; on a mismatch delete the
    file and raise :class:`DownloadError` (running the job again downloads it afresh)."""
    expected = {h.lower() for h in (f.sha256, job.expected.get(f.filename, "")) if h}
    if not expected:
        meta = metadata(job, f)
        if meta.etag and _SHA256.fullmatch(meta.etag):
            expected = {meta.etag}
    if not expected:
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"The hub gives no sha256 for {f.filename}, so it cannot be verified; it was not "
            "kept. Ember only offers models it could check."
        )
    if digest not in expected or len(expected) > 1:
        partial.unlink(missing_ok=True)
        want = ", ".join(sorted(h[:12] + "…" for h in expected))
        raise DownloadError(
            f"{f.filename} arrived damaged: its sha256 is {digest[:12]}…, expected {want}. "
            "The file was deleted and nothing was registered; download it again to retry."
        )


class _Checkpoint:
    """Called before each chunk is written: every :data:`CHECKPOINT_S` records the progress and
    notices a pause or cancel asked by another process (one asked here, at once); every
    :data:`DURABLE_S` flushes and fsyncs the partial file and records its size (what survives a
    reboot)."""

    def __init__(self, store, job, f, out, progress, stopping) -> None:
        self._time = time.monotonic
        self._store, self._job, self._file, self._out = store, job, f, out
        self._progress, self._stopping = progress, stopping
        self._last = self._last_sync = self._time()
        self._durable = dict(job.durable_bytes or {})
        self._boot = boot_id()

    def __call__(self) -> None:
        if self._stopping():
            raise StopDownload
        if self._time() - self._last < CHECKPOINT_S:
            return
        self._last = self._time()
        if self._last - self._last_sync >= DURABLE_S:
            self._last_sync = self._last
            self._out.flush()
            os.fsync(self._out.fileno())
            self._durable[self._file.filename] = self._out.tell()
        self._store.update(
            self._job.job_id,
            durable_bytes=self._durable,
            boot_id=self._boot,
            bytes_done=self._progress.done,
        )
        row = self._store.get(self._job.job_id)
        if row is not None and row.state in ("paused", "cancelled"):
            raise StopDownload


def _retry_after(headers) -> float | None:
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(value))) if value is not None else None
    except ValueError:  # an HTTP date: use our own backoff
        return None
