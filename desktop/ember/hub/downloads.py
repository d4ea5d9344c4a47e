"""The download queue: models from the hub, resumed from the bytes on disk, verified, registered.

A job (:meth:`DownloadQueue.add`) is one model: the ordered parts of a GGUF (one file, or a split
``-0000N-of-0000M.gguf``) and an optional vision projector, at a pinned revision. It is a row in
``downloads.sqlite3`` (:mod:`ember.hub.download_store`), so it outlives the process: after closing
Ember, a ``kill -9`` or a reboot, :meth:`~DownloadQueue.run` picks it up from the bytes already in
its ``FILE.incomplete`` files (an HTTP Range request), never from zero.

Bytes move with ``huggingface_hub``'s own downloader (``file_download.http_get``: Range resume,
its retries of dropped connections and 429s); around it this module adds what a person needs:

- its own retry loop with backoff on drops, timeouts, 429 and 5xx, honouring ``Retry-After``,
  shown as "stalled" with ``retry_in_s`` counting down (:mod:`ember.hub.download_progress` sends
  an event at least every half second, so speed and ETA never freeze);
- a free-space check before (remaining bytes + :func:`margin_bytes`), a clear
  :class:`~ember.errors.DownloadError` when the disk fills during;
- sha256 of every file against the hub's LFS hash and the catalog's, hashed while it downloads;
  a mismatch deletes the file and says so, and the job can be run again; a file is moved to its
  final name only once verified, so a partial or unverified file is never offered as a model;
- registration by reference (:func:`ember.catalog.add_user_model`, ``origin="hub:OWNER/REPO"``).

Files live in ``paths.models_dir / "hub" / OWNER / REPO``. No Qt; :meth:`run` blocks its caller's
thread (the window runs it on a worker) and calls ``on_event`` from that thread and a ticker.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ember import catalog
from ember.cancel import CancelToken
from ember.catalog import ModelEntry
from ember.errors import DownloadError, HubError, ModelNotFound
from ember.files import sha256_file
from ember.hub import session
from ember.hub.download_fetch import display, fetch_file, metadata
from ember.hub.download_progress import HubRetryWatch, Progress, StopDownload, Ticker
from ember.hub.download_store import DownloadStore, JobRow, boot_id
from ember.hub.types import FINISHED_STATES, DownloadEvent, HubFile, Quant
from ember.paths import Paths, ember_paths
from ember.units import size_text

_COMMIT = re.compile(r"[0-9a-f]{40}")
_ACTIVE = {"queued", "downloading", "stalled", "verifying"}


class DownloadStopped(DownloadError):
    """The person paused (``state`` "paused": run again to resume) or cancelled the job."""

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.state = state


def margin_bytes(size: int) -> int:
    """Free space kept beyond a download's size: 64 MiB plus 2 % (the disk must not end full)."""
    return (64 << 20) + size // 50


def _plain_part(part: str) -> bool:
    """A path segment that names a file or folder: not empty, ``.``, ``..``, nor holding a
    separator or a NUL."""
    return part not in ("", ".", "..") and not any(c in part for c in "\\/\0")


def inside(folder: Path, filename: str) -> Path:
    """Where the hub file ``filename`` (a repository path, ``/``-separated) goes in ``folder``.

    The name comes from the hub, so it is not trusted: an absolute path, a ``..`` segment, a
    backslash or a drive (``C:``) that would put the file outside ``folder`` raises
    :class:`DownloadError` and nothing is written."""
    parts = filename.split("/")
    target = folder.joinpath(*parts) if all(_plain_part(p) for p in parts) else None
    if target is None or not target.resolve().is_relative_to(folder.resolve()):
        raise DownloadError(
            f"The hub lists a file named {filename!r}, which would be written outside "
            f"{folder}; it was not downloaded."
        )
    return target


def model_name_for(repo_id: str, quantization: str) -> str:
    """The catalog name a download registers under: ``smollm2-135m-instruct-q4_k_m``; a repo
    whose name already ends with the quantization (``gemma-3-270m-Q4_K_M-GGUF``) does not get it
    twice."""
    repo = re.sub(r"[-_.]gguf$", "", repo_id.split("/")[-1], flags=re.IGNORECASE).lower()
    quant = quantization.lower()
    if not quant or re.search(rf"[-_.]{re.escape(quant)}$", repo):
        return repo
    return f"{repo}-{quant}"


class DownloadQueue:
    """The persisted queue. Several jobs may run at once, each in its own caller's thread; one job
    runs in one process at a time (a lock file says which)."""

    def __init__(self, paths: Paths | None = None) -> None:
        self.paths = paths or ember_paths()
        self._store = DownloadStore(self.paths.data_dir / "downloads.sqlite3")
        self._stops: dict[str, str] = {}  # job_id -> "paused"/"cancelled" for jobs running here
        self._running: set[str] = set()
        self._lock = threading.Lock()

    # -- where things are ------------------------------------------------------------------
    def folder(self, repo_id: str) -> Path:
        """Where a repository's files go: ``models_dir/hub/OWNER/REPO``. Raises
        :class:`DownloadError` for a repository id that is not ``OWNER/REPO``."""
        parts = repo_id.split("/")
        if len(parts) != 2 or not all(_plain_part(p) for p in parts):
            raise DownloadError(f"{repo_id!r} is not a repository name (OWNER/REPO).")
        return self.paths.models_dir / "hub" / parts[0] / parts[1]

    def _final(self, job: JobRow, f: HubFile) -> Path:
        return inside(self.folder(job.repo_id), f.filename)

    def _partial(self, job: JobRow, f: HubFile) -> Path:
        final = self._final(job, f)
        return final.with_name(final.name + ".incomplete")

    def _lock_file(self, job_id: str):  # a filelock.FileLock
        from filelock import FileLock

        folder = self.paths.data_dir / "downloads"
        folder.mkdir(parents=True, exist_ok=True)
        return FileLock(str(folder / f"{job_id}.lock"))

    def _on_disk(self, job: JobRow) -> int:
        total = 0
        for f in job.all_files:
            final, partial = self._final(job, f), self._partial(job, f)
            if final.is_file():
                total += f.size_bytes
            elif partial.is_file():
                total += min(partial.stat().st_size, f.size_bytes)
        return total

    # -- the queue ---------------------------------------------------------------------------
    def add(
        self,
        repo_id: str,
        quant: Quant,
        *,
        revision: str,
        projector: HubFile | None = None,
        name: str = "",
        expected_sha256: dict[str, str] | None = None,
        license: str = "",
    ) -> str:
        """Queue ``quant`` (all its parts) of ``repo_id`` at ``revision`` (a commit pins it; a
        branch is pinned to its commit when the job starts) and return the job id. ``name`` is
        the catalog name to register (default from the repo and quant); ``expected_sha256`` maps
        file names to the catalog's hashes, checked besides the hub's. Adding a model already
        queued and unfinished returns that job. Raises :class:`DownloadError` when a file name
        would put the file outside the repository's folder (see :func:`inside`)."""
        name = name or model_name_for(repo_id, quant.quantization)
        folder = self.folder(repo_id)
        for f in quant.files + ((projector,) if projector else ()):
            inside(folder, f.filename)
        for job in self._store.all():
            if job.repo_id == repo_id and job.files == quant.files and job.state != "cancelled":
                if job.state != "done" or not self._final(job, job.files[0]).is_file():
                    return job.job_id
        row = JobRow(
            job_id="",
            repo_id=repo_id,
            revision=revision or "main",
            quantization=quant.quantization,
            files=quant.files,
            projector=projector,
            name=name,
            license=license,
            expected=dict(expected_sha256 or {}),
            state="queued",
        )
        return self._store.add(row).job_id

    def jobs(self) -> list[DownloadEvent]:
        """Every job, oldest first, as it stands now (a job whose process died shows "paused")."""
        return [self._event_of(job) for job in self._store.all()]

    def job(self, job_id: str) -> DownloadEvent:
        return self._event_of(self._row(job_id))

    def _row(self, job_id: str) -> JobRow:
        job = self._store.get(job_id)
        if job is None:
            raise DownloadError(f"There is no download {job_id!r} (it may have been removed).")
        return job

    def _event_of(self, job: JobRow) -> DownloadEvent:
        state, message = job.state, job.message
        if state in _ACTIVE and job.job_id not in self._running and not self._held(job.job_id):
            state, message = "paused", "Interrupted (Ember was closed); resume to continue."
        done = job.bytes_total if state == "done" else self._on_disk(job)
        return DownloadEvent(
            job_id=job.job_id,
            name=display(job),
            state=state,  # type: ignore[arg-type]
            bytes_done=done,
            bytes_total=job.bytes_total,
            message=message,
            model_name=job.model_name,
        )

    def _held(self, job_id: str) -> bool:
        """Whether another process is running the job (holds its lock)."""
        from filelock import Timeout

        lock = self._lock_file(job_id)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return True
        lock.release()
        return False

    def pause(self, job_id: str) -> None:
        """Stop the job at its next chunk, keeping its bytes (run it again to resume)."""
        self._stop(job_id, "paused")

    def resume(
        self,
        job_id: str,
        on_event: Callable[[DownloadEvent], None],
        cancel: CancelToken | None = None,
    ) -> ModelEntry:
        """Run a paused, interrupted or failed job again, from the bytes on disk."""
        return self.run(job_id, on_event, cancel)

    def cancel(self, job_id: str) -> None:
        """Stop the job and delete its partial (and unregistered) files."""
        self._stop(job_id, "cancelled")
        job = self._row(job_id)
        with self._lock:
            running = job_id in self._running
        if not running and not self._held(job_id) and job.state != "done":
            self._discard_files(job)
            self._store.update(job_id, state="cancelled", message="Cancelled.")

    def _stop(self, job_id: str, state: str) -> None:
        with self._lock:
            if job_id in self._running:
                self._stops[job_id] = state
                return
            job = self._row(job_id)
            if job.state not in FINISHED_STATES:
                # Not running here: another process running it sees this at its next
                # checkpoint; a run starting here sees it at once.
                self._store.update(job_id, state=state, message=state.capitalize() + ".")

    def _discard_files(self, job: JobRow) -> None:
        """Delete ``job``'s partial files, and its finished ones unless the job is done or
        another model uses them (a projector two quantizations share)."""
        shared = self._used_elsewhere(job.model_name, skip_job=job.job_id)
        for f in job.all_files:
            self._partial(job, f).unlink(missing_ok=True)
            final = self._final(job, f)
            if job.state != "done" and final.resolve() not in shared:
                final.unlink(missing_ok=True)

    def _used_elsewhere(self, model_name: str, skip_job: str = "") -> set[Path]:
        """The files (resolved) that registered models other than ``model_name`` use, and
        those of finished download jobs other than ``skip_job``."""
        used: set[Path] = set()
        for entry in catalog.user_models(self.paths):
            if entry.name != model_name:
                used.update(Path(p).resolve() for p in (entry.path, entry.projector_source) if p)
        for other in self._store.all():
            done = other.state == "done" and other.model_name != model_name
            if done and other.job_id != skip_job:
                used.update(self._final(other, f).resolve() for f in other.all_files)
        return used

    def remove(self, model_name: str) -> list[Path]:
        """Forget the model ``model_name``: delete the files Ember downloaded for it (all parts
        and its projector) and unregister it. A model used in place from elsewhere (added by
        path, another app's store) is only unregistered; its files stay, as do files another
        registered model uses (a projector two quantizations share). Returns what was deleted.
        Raises :class:`ModelNotFound` when no user model has that name."""
        entry = next((m for m in catalog.user_models(self.paths) if m.name == model_name), None)
        if entry is None:
            raise ModelNotFound(f"You have no model called {model_name!r} to remove.")
        deleted: list[Path] = []
        hub_root = (self.paths.models_dir / "hub").resolve()
        if entry.origin.startswith("hub:") and entry.path:
            candidates = [Path(entry.path)]
            if entry.projector_source:
                candidates.append(Path(entry.projector_source))
            shared = self._used_elsewhere(model_name)
            for job in self._store.all():
                if job.model_name == model_name:
                    candidates += [self._final(job, f) for f in job.all_files]
                    self._store.delete(job.job_id)
            for path in dict.fromkeys(candidates):
                resolved = path.resolve()
                if resolved in shared:  # another model's too (a shared projector): kept
                    continue
                if resolved.is_relative_to(hub_root) and resolved.is_file():
                    resolved.unlink()
                    deleted.append(resolved)
        catalog.remove_user_model(model_name, self.paths)
        return deleted

    # -- running a job -----------------------------------------------------------------------
    def run(
        self,
        job_id: str,
        on_event: Callable[[DownloadEvent], None],
        cancel: CancelToken | None = None,
    ) -> ModelEntry:
        """Download, verify and register the job's files; blocks until done. ``cancel`` (Ctrl-C,
        closing the window) pauses it. Returns the registered model.

        Raises :class:`DownloadStopped` when paused or cancelled, :class:`DownloadError` when it
        failed (the message says why and whether running it again resumes)."""
        from filelock import Timeout

        job = self._row(job_id)
        if job.state == "done":
            return self._registered(job)
        lock = self._lock_file(job_id)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise DownloadError(
                f"{display(job)} is already downloading in another Ember."
            ) from None
        with self._lock:  # (with _stop's: a cancel lands either before this or in _stops)
            self._running.add(job_id)
            self._stops.pop(job_id, None)
            job = self._row(job_id)
            if job.state == "cancelled":
                self._running.discard(job_id)
        if job.state == "cancelled":  # cancelled while it waited to start: never runs
            lock.release()
            self._discard_files(job)
            raise DownloadStopped("Cancelled; the partial files were deleted.", "cancelled")
        emit_lock = threading.Lock()

        def emit(event: DownloadEvent) -> None:
            with emit_lock:
                on_event(event)

        try:
            return self._run(job, emit, cancel or CancelToken())
        finally:
            with self._lock:
                self._running.discard(job_id)
                self._stops.pop(job_id, None)
            lock.release()

    def _registered(self, job: JobRow) -> ModelEntry:
        for entry in catalog.user_models(self.paths):
            if entry.name == job.model_name:
                return entry
        raise DownloadError(f"{display(job)} was downloaded but is no longer registered.")

    def _run(
        self, job: JobRow, emit: Callable[[DownloadEvent], None], cancel: CancelToken
    ) -> ModelEntry:
        self._after_reboot(job)
        progress = Progress(job.job_id, display(job), job.bytes_total, 0)
        self._store.update(job.job_id, state="downloading", message="")

        def stopping() -> str | None:
            with self._lock:
                reason = self._stops.get(job.job_id)
            return reason or ("paused" if cancel.cancelled else None)

        try:
            with Ticker(progress, emit), HubRetryWatch(progress), session.online():
                job = self._pin(job)
                self._check_space(job)
                for f in job.all_files:
                    fetch_file(self._store, job, f, self._final(job, f), progress, stopping)
                progress.set("verifying", "Registering the model.")
                entry = self._register(job)
        except StopDownload:
            row = self._store.get(job.job_id)
            asked = row.state if row and row.state in ("paused", "cancelled") else "paused"
            state = stopping() or asked
            if state == "cancelled":
                self._discard_files(job)
                message = "Cancelled; the partial files were deleted."
            else:
                message = "Paused; resume to continue from the bytes on disk."
            self._store.update(job.job_id, state=state, message=message, bytes_done=progress.done)
            emit(replace(progress.event(), state=state, message=message, speed_bps=0.0, eta_s=None))
            raise DownloadStopped(message, state) from None
        except DownloadError as exc:
            self._store.update(job.job_id, state="failed", message=str(exc))
            emit(
                replace(
                    progress.event(), state="failed", message=str(exc), speed_bps=0.0, eta_s=None
                )
            )
            raise
        self._store.update(
            job.job_id, state="done", message="", model_name=entry.name, bytes_done=job.bytes_total
        )
        emit(
            DownloadEvent(
                job.job_id,
                display(job),
                "done",
                job.bytes_total,
                job.bytes_total,
                model_name=entry.name,
            )
        )
        return entry

    def _after_reboot(self, job: JobRow) -> None:
        """Cut partial files back to their last fsync'd size if the machine restarted since:
        the bytes after it may never have reached the disk."""
        if not job.boot_id or job.boot_id == boot_id():
            return
        for f in job.all_files:
            partial = self._partial(job, f)
            if partial.is_file():
                keep = (job.durable_bytes or {}).get(f.filename, 0)
                if partial.stat().st_size > keep:
                    os.truncate(partial, keep)

    def _pin(self, job: JobRow) -> JobRow:
        """The job with its revision pinned to a commit (asked of the hub for a branch name)."""
        if _COMMIT.fullmatch(job.revision):
            return job
        meta = metadata(job, job.files[0])
        if meta.commit_hash:
            self._store.update(job.job_id, revision=meta.commit_hash)
            job = replace(job, revision=meta.commit_hash)
        return job

    def _check_space(self, job: JobRow) -> None:
        folder = self.folder(job.repo_id)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DownloadError(f"Cannot create {folder}: {exc.strerror}.") from None
        remaining = job.bytes_total - self._on_disk(job)
        needed = remaining + margin_bytes(job.bytes_total)
        free = shutil.disk_usage(folder).free
        if free < needed:
            raise DownloadError(
                f"Not enough free space for {display(job)}: it needs {size_text(remaining)} more "
                f"(plus {size_text(margin_bytes(job.bytes_total))} to spare) in {folder}, and "
                f"{size_text(free)} is free. Free some space, then download it again."
            )

    def _register(self, job: JobRow) -> ModelEntry:
        first = self._final(job, job.files[0])
        projector = self._final(job, job.projector) if job.projector else None
        sha = job.files[0].sha256 or job.expected.get(job.files[0].filename) or sha256_file(first)
        try:
            return catalog.add_user_model(
                first,
                self.paths,
                name=job.name,
                origin=f"hub:{job.repo_id}",
                source=f"{session.endpoint()}/{job.repo_id}/resolve/{job.revision}/"
                f"{job.files[0].filename}",
                sha256=sha,
                license=job.license,
                projector=projector,
            )
        except HubError as exc:
            raise DownloadError(str(exc)) from exc
