"""The Models page's controller: hub calls, fit estimates and downloads, off the GUI thread.

Searches, repository listings and header reads (for the fit labels) run in the task manager's
pool; downloads run one at a time on its ``downloads`` worker, through
:class:`ember.hub.downloads.DownloadQueue` (the queue ``ember models get`` uses): its
:class:`~ember.hub.types.DownloadEvent` s come back as queued signals and redraw the job's row
(at most ten times a second, and at every change of state). Jobs the queue kept from an earlier
run (closed, killed, rebooted) are listed at start as they were left, to resume with one click.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ember.errors import EmberError, GenerationCancelled
from ember.ui import message
from ember.ui.fit_screen import show_in_front
from ember.ui.models_page import FitShown, ModelsPage
from ember.ui.qt import QObject, QWidget
from ember.ui.tasks import TaskHandle
from ember.units import size_text

if TYPE_CHECKING:
    from ember.catalog import ModelEntry
    from ember.core import Core
    from ember.hardware import Hardware
    from ember.hub.types import DownloadEvent, RepoModels
    from ember.paths import Paths
    from ember.ui.tasks import TaskManager

EVENT_INTERVAL_S = 0.1  # a running download redraws its row at most this often


def fit_shown(result: Any) -> FitShown:
    """An :class:`ember.engines.fit.Fit` as the page shows it."""
    return FitShown(result.label, result.text, result.reason)


def _fit_of(info: Any, hardware: Any) -> FitShown:
    from ember.engines.fit import fit

    return fit_shown(fit(info, hardware))


def _error_text(error: BaseException) -> str:
    return str(error) if isinstance(error, EmberError) else repr(error)


def _throttled(report: Callable[[object], None]) -> Callable[[DownloadEvent], None]:
    """``report`` at most every :data:`EVENT_INTERVAL_S`, and always on a change of state."""
    last: dict[str, Any] = {"at": 0.0, "state": None}

    def send(event: DownloadEvent) -> None:
        now = time.monotonic()
        if event.state != last["state"] or now - last["at"] >= EVENT_INTERVAL_S:
            last["at"], last["state"] = now, event.state
            report(event)

    return send


class ModelsAdmin(QObject):
    """Opens the Models page, fills it, and carries out what it asks.

    ``use_model(key)`` switches the chat's model (the picker's own switch); ``models_changed()``
    refreshes the picker after a download or a change on disk."""

    def __init__(
        self,
        core: Core,
        tasks: TaskManager,
        use_model: Callable[[str], None],
        models_changed: Callable[[], None],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.core = core
        self.tasks = tasks
        self.window = parent
        self.use_model = use_model
        self.models_changed = models_changed
        self.page: ModelsPage | None = None
        self.catalog: dict[str, ModelEntry] = {}  # the recommended models, by name
        self.disk: dict[str, ModelEntry] = {}  # the models on this computer, by name
        self.found: dict[str, Any] = {}  # other apps' models (on_disk.FoundModel), by name
        self.events: dict[str, DownloadEvent] = {}  # each job's latest
        self.running: dict[str, TaskHandle] = {}  # job id → its run on the downloads worker
        self._hardware: Any = None
        self._lookup: TaskHandle | None = None  # the repo listing / fit estimate in progress
        self._chosen: tuple[str, str] | None = None
        self.busy = 0  # hub calls not yet answered (tests wait on it)
        self._queue: Any = None  # the one DownloadQueue (pause and cancel reach its runs)
        self._queue_lock = threading.Lock()

    @property
    def paths(self) -> Paths:
        return self.core.paths

    def queue(self) -> Any:
        """*worker* The download queue (made on first use: it opens its SQLite store)."""
        with self._queue_lock:
            if self._queue is None:
                from ember.hub.downloads import DownloadQueue

                self._queue = DownloadQueue(self.paths)
            return self._queue

    # -- the page ------------------------------------------------------------------------------

    def open(self) -> ModelsPage:
        """Show the page (made once), and read the catalog, the disk and the downloads."""
        if self.page is None:
            theme = getattr(self.window, "theme", None)
            colors = {}
            if theme is not None:
                colors = {
                    "FitGood": theme.color("ok"),
                    "FitTight": theme.color("warning"),
                    "FitBad": theme.color("danger"),
                }
            page = ModelsPage(colors, self.window)
            page.searchRequested.connect(self.search)
            page.entryChosen.connect(self.choose)
            page.downloadRequested.connect(self.download)
            page.useRequested.connect(self.use)
            page.addFoundRequested.connect(self.add_found)
            rows = page.downloads
            rows.pauseRequested.connect(self.pause)
            rows.resumeRequested.connect(self.resume)
            rows.cancelRequested.connect(self.cancel)
            rows.dismissRequested.connect(self._dismiss)
            self.page = page
            for event in self.events.values():
                page.downloads.show_event(event)
        show_in_front(self.page)
        self.refresh()
        return self.page

    def _run(
        self,
        name: str,
        job: Callable[[Callable[[object], None]], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None] | None = None,
        on_event: Callable[[object], None] | None = None,
        handle: TaskHandle | None = None,
    ) -> TaskHandle:
        self.busy += 1

        def done(result: Any) -> None:
            self.busy -= 1
            on_done(result)

        def failed(error: BaseException) -> None:
            self.busy -= 1
            if isinstance(error, GenerationCancelled):
                return
            if on_error is not None:
                on_error(error)
            else:
                message.error("Models", _error_text(error))

        return self.tasks.run_background(
            name, job, on_event=on_event, on_done=done, on_error=failed, handle=handle
        )

    def refresh(self) -> None:
        """Read the catalog and the models on disk again; then estimate the catalog's fits."""
        paths = self.paths

        def read(_report: object) -> tuple[list[ModelEntry], list[ModelEntry], list[Any]]:
            from ember import catalog
            from ember.hub.on_disk import discover

            builtin = catalog.builtin_models(paths)
            recommended = [m for m in builtin if not m.embedded]
            disk = [m for m in builtin if m.available] + catalog.user_models(paths)
            return recommended, disk, discover(paths)

        self._run("models-read", read, self._read)

    def _read(self, result: tuple[list[ModelEntry], list[ModelEntry], list[Any]]) -> None:
        recommended, disk, found = result
        self.catalog = {m.name: m for m in recommended}
        self.disk = {m.name: m for m in disk}
        self.found = {f.name: f for f in found}
        if self.page is None:
            return
        self.page.show_catalog(recommended)
        self.page.show_on_disk(disk, found)
        self._catalog_fits(recommended)

    def _hardware_now(self) -> Any:
        """*worker* This computer's memory, read once per window."""
        if self._hardware is None:
            from ember.hardware import detect

            self._hardware = detect()
        return self._hardware

    def _catalog_fits(self, entries: list[ModelEntry]) -> None:
        """The fit of each catalog model: from its file on disk, else from the catalog's own
        figures (no network), else its header on the hub."""
        hardware_now = self._hardware_now

        def estimate(report: Callable[[object], None]) -> str:
            from ember.catalog import hub_file
            from ember.engines.gguf import inspect_gguf
            from ember.hub.fit_labels import catalog_fit

            hardware = hardware_now()
            report(("hardware", hardware))
            for entry in entries:
                try:
                    if entry.available:
                        from pathlib import Path

                        info = inspect_gguf(Path(entry.path))
                    elif (judged := catalog_fit(entry, hardware)) is not None:
                        report((entry.name, fit_shown(judged)))
                        continue
                    elif (where := hub_file(entry)) is not None:
                        from ember.hub.search import remote_gguf_info

                        info = remote_gguf_info(where[0], where[2], where[1])
                    else:
                        continue
                    report((entry.name, _fit_of(info, hardware)))
                except EmberError as exc:
                    report((entry.name, FitShown("", "fit unknown", str(exc))))
            return "ok"

        def shown(item: object) -> None:
            key, value = item  # type: ignore[misc]
            if self.page is None:
                return
            if key == "hardware":
                self.page.hardware_label.setText(_hardware_text(value))
            else:
                self.page.show_catalog_fit(key, value)

        def failed(error: BaseException) -> None:
            log_error("catalog fits", error)
            if self.page is not None:
                self.page.hardware_label.setText(
                    f"No fit estimates: this computer's memory could not be read "
                    f"({_error_text(error)})."
                )

        self._run("catalog-fits", estimate, lambda _r: None, failed, shown)

    # -- search and a repository ---------------------------------------------------------------

    def search(self, query: str) -> None:
        """Search the hub (keyword, owner/repo or URL); the hits go under the recommended ones."""

        def find(_report: object) -> list[Any]:
            from ember.hub.search import search

            return search(query)

        def found(hits: list[Any]) -> None:
            if self.page is not None:
                self.page.show_hits(hits, query)
                if len(hits) == 1:  # an owner/repo or a URL: open it at once
                    self.page.choose("repo", hits[0].repo_id)

        def failed(error: BaseException) -> None:
            message.error("Search failed", _error_text(error))

        self._run("hub-search", find, found, failed)

    def choose(self, kind: str, key: str) -> None:
        """Show a repository (a hit's, or a catalog model's) with its quantizations and fits."""
        if self.page is None:
            return
        if self._lookup is not None:
            self._lookup.cancel()
        self._chosen = (kind, key)
        preferred = ""
        repo_id, revision = key, "main"
        if kind == "catalog":
            from ember.catalog import hub_file

            entry = self.catalog[key]
            where = hub_file(entry)
            if where is None:
                self.page.show_detail_note(
                    entry.display_name, f"Not on the hub: its source is {entry.source}."
                )
                return
            repo_id, revision, _file = where
            preferred = entry.quantization
        self.page.show_detail_note(repo_id, "Reading the repository…")
        handle = TaskHandle(f"repo {repo_id}")
        hardware_now = self._hardware_now
        chosen = (kind, key)

        def look(report: Callable[[object], None]) -> None:
            from ember.hub.fit_labels import quant_fit
            from ember.hub.search import repo_models

            repo = repo_models(repo_id, revision)
            report(("repo", repo))
            # The pre-selected quant first; each quant's own header (its tensors' sizes).
            quants = sorted(repo.quants, key=lambda q: q.quantization != repo.default_quant)
            for quant in quants:
                if handle.cancelled:
                    return
                try:
                    verdict = quant_fit(repo, quant, hardware_now())  # "unknown": header unread
                except Exception as exc:  # no estimate; the repository stays shown
                    log_error(f"fit of {repo.repo_id} {quant.quantization}", exc)
                    shown = FitShown("", "fit unknown", _error_text(exc))
                    report(("fit", (quant.quantization, shown)))
                    continue
                if not repo.n_ctx_train and verdict.n_ctx_train:
                    repo = replace(
                        repo,
                        n_ctx_train=verdict.n_ctx_train,
                        architecture=repo.architecture or verdict.architecture,
                    )
                    report(("facts", repo))
                label = "" if verdict.label == "unknown" else verdict.label
                text = "fit unknown" if not label else verdict.text
                report(("fit", (quant.quantization, FitShown(label, text, verdict.reason))))

        def shown(item: object) -> None:
            what, value = item  # type: ignore[misc]
            if self.page is None or self._chosen != chosen:
                return
            if what == "repo":
                self.page.show_repo(value, preferred)
            elif what == "facts":
                self.page.show_facts(value)
            else:
                self.page.show_fit(*value)

        def failed(error: BaseException) -> None:
            if self.page is not None and self._chosen == chosen:
                self.page.show_detail_note(repo_id, _error_text(error))

        self._lookup = self._run(
            "hub-repo", look, lambda _r: None, failed, on_event=shown, handle=handle
        )

    # -- downloads -----------------------------------------------------------------------------

    def restore(self) -> None:
        """List the jobs the queue kept from an earlier run (unfinished ones stay paused)."""
        queue = self.queue

        def read(_report: object) -> list[DownloadEvent]:
            return queue().jobs()

        def listed(events: list[DownloadEvent]) -> None:
            for event in events:
                if not event.finished:
                    self._show(event)

        self._run("downloads-list", read, listed, lambda exc: log_error("downloads", exc))

    def download(self, quantization: str, with_projector: bool) -> None:
        """Queue the shown repository's ``quantization`` (and its projector), then run it."""
        assert self.page is not None and self.page.repo is not None
        repo: RepoModels = self.page.repo
        quant = repo.quant(quantization)
        if quant is None:
            return
        projector = repo.projectors[0] if with_projector and repo.projectors else None
        expected: dict[str, str] | None = None
        if self._chosen is not None and self._chosen[0] == "catalog":
            entry = self.catalog[self._chosen[1]]
            if entry.sha256 and entry.file == quant.filename.rsplit("/", 1)[-1]:
                expected = {quant.filename: entry.sha256}
        name = f"{repo.repo_id} · {quantization or quant.filename}"
        queue = self.queue

        def add(_report: object) -> str:
            return queue().add(
                repo.repo_id,
                quant,
                revision=repo.revision,
                projector=projector,
                expected_sha256=expected,
            )

        def added(job_id: str) -> None:
            from ember.hub.types import DownloadEvent

            self._show(DownloadEvent(job_id, name, "queued", 0, quant.size_bytes))
            if self.page is not None:
                self.page.tabs.setCurrentIndex(0)
            self.start(job_id)

        self._run(
            "download-add", add, added, lambda exc: message.error("Download", _error_text(exc))
        )

    def start(self, job_id: str) -> TaskHandle:
        """Run (or resume) job ``job_id`` on the downloads worker."""
        running = self.running.get(job_id)
        if running is not None and not running.done:
            return running
        queue = self.queue
        handle = TaskHandle(f"download {job_id}")

        def run(report: Callable[[object], None]) -> ModelEntry:
            return queue().run(job_id, _throttled(report), handle.cancel_token)

        self.running[job_id] = handle
        return self.tasks.run_on(
            self.tasks.downloads,
            f"download-{job_id}",
            run,
            on_event=self._show,  # type: ignore[arg-type]
            on_done=lambda entry: self._downloaded(job_id, entry),
            on_error=lambda exc: self._stopped(job_id, exc),
            handle=handle,
        )

    def _show(self, event: DownloadEvent) -> None:
        self.events[event.job_id] = event
        if self.page is not None:
            self.page.downloads.show_event(event)

    def _downloaded(self, job_id: str, entry: ModelEntry) -> None:
        self.running.pop(job_id, None)
        event = self.events.get(job_id)
        if event is not None and event.state != "done":
            self._show(replace(event, state="done", bytes_done=event.bytes_total, speed_bps=0.0,
                               eta_s=None, model_name=entry.name))  # fmt: skip
        message.info(f"{entry.display_name} is ready ({size_text(entry.size_bytes)}).")
        self.models_changed()
        self.refresh()
        if self.page is not None:
            self.page.tabs.setCurrentIndex(1)
            self.page.select_on_disk(entry.name)

    def _stopped(self, job_id: str, error: BaseException) -> None:
        """The run ended without a model: paused or cancelled (the queue's last event said
        so), stopped before it started, or failed (its row says why)."""
        from ember.hub.downloads import DownloadStopped

        self.running.pop(job_id, None)
        event = self.events.get(job_id)
        if isinstance(error, DownloadStopped):
            if event is not None and event.state != error.state:
                self._show(replace(event, state=error.state, speed_bps=0.0, eta_s=None))  # type: ignore[arg-type]
            return
        if event is None:
            return
        if isinstance(error, GenerationCancelled):  # paused (or closing) before it started
            if not event.finished:
                self._show(replace(event, state="paused", speed_bps=0.0, eta_s=None))
            return
        if event.state != "failed":
            self._show(replace(event, state="failed", message=_error_text(error)))

    def pause(self, job_id: str) -> None:
        """Stop job ``job_id`` where it is; its bytes stay on disk for :meth:`resume`."""
        handle = self.running.get(job_id)
        if handle is not None:
            handle.cancel()
        queue = self.queue
        self._run("download-pause", lambda _r: queue().pause(job_id), lambda _r: None)

    def resume(self, job_id: str) -> None:
        """Run job ``job_id`` again, from the bytes on disk."""
        self.start(job_id)

    def cancel(self, job_id: str) -> None:
        """Stop job ``job_id`` and delete its partial files (a running one at its next chunk)."""
        handle = self.running.get(job_id)
        queue = self.queue

        def cancel(_report: object) -> None:
            queue().cancel(job_id)

        def cancelled(_result: object) -> None:
            if handle is not None and not handle.done:
                handle.cancel()  # still queued behind another download: it never starts
            if handle is None or handle.done:
                self._dismiss(job_id)

        self._run("download-cancel", cancel, cancelled)

    def _dismiss(self, job_id: str) -> None:
        self.events.pop(job_id, None)
        if self.page is not None:
            self.page.downloads.drop(job_id)

    # -- models on this computer ---------------------------------------------------------------

    def use(self, name: str) -> None:
        """Make model ``name`` the chat's model (saved, loaded now)."""
        entry = self.disk.get(name)
        self.use_model("" if entry is not None and entry.embedded else name)

    def add_found(self, name: str) -> None:
        """Register another app's model ``name`` in place (no copy), then use it."""
        found = self.found[name]
        paths = self.paths

        def register(_report: object) -> ModelEntry:
            from ember.hub.on_disk import register

            return register(found, paths)

        def added(entry: ModelEntry) -> None:
            self.models_changed()
            self.refresh()
            self.use_model(entry.name)

        self._run(
            "model-register",
            register,
            added,
            lambda exc: message.error("This model cannot be used", _error_text(exc)),
        )


def _hardware_text(hardware: Hardware) -> str:
    """``This computer: 16 GB memory (9.1 GB free) · GPU: no NVIDIA GPU found`` from
    :func:`ember.hardware.detect` ("unknown" where a figure could not be read)."""
    total, free = hardware.ram_total_bytes, hardware.ram_available_bytes
    parts = [
        f"This computer: {size_text(total) if total else 'unknown'} memory "
        f"({size_text(free) if free else 'unknown'} free)"
    ]
    if hardware.gpus:
        parts.append(
            "GPU: "
            + ", ".join(
                f"{g.name} {size_text(g.memory_total_bytes) if g.memory_total_bytes else ''}"
                f"{' (shared memory)' if g.unified else ''}".strip()
                for g in hardware.gpus
            )
        )
    else:
        parts.append(f"GPU: {hardware.gpu_note}")
    return " · ".join(parts)


def log_error(what: str, error: BaseException) -> None:
    import logging

    logging.getLogger(__name__).warning("%s: %s", what, error)
