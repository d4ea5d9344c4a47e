"""A running download's progress: byte counts in, :class:`DownloadEvent`s out, at least once a second.

``huggingface_hub`` reports bytes through a tqdm-like class (:func:`bar_class`); a ticker thread
(:class:`Ticker`) turns the counts into events twice a second whatever the network does, so speed
and ETA never freeze: no bytes for :data:`STALL_S` seconds is "stalled" with speed 0, and while a
retry is waited for, ``retry_in_s`` counts down. :class:`HubRetryWatch` reads the library's own
retry waits (it retries a 429 itself, honouring ``Retry-After``) from its log, so they show too.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable

from ember.hub.types import DownloadEvent, DownloadState

STALL_S = 3.0  # no new bytes for this long: the download shows as stalled (speed 0)
TICK_S = 0.5  # an event at least this often while a job runs
_WINDOW_S = 3.0  # speed is measured over the last few seconds


class StopDownload(Exception):
    """Raised inside the download when the person paused or cancelled it (never escapes)."""


class Progress:
    """Shared, locked counters of one job: bytes on disk, the state shown, a retry countdown."""

    def __init__(self, job_id: str, name: str, total: int, done: int) -> None:
        self.job_id = job_id
        self.name = name
        self.total = total
        self.base = done  # bytes of files finished before the current one
        self.current = 0  # bytes of the current file on disk (or in flight to it)
        self.state: DownloadState = "downloading"
        self.message = ""
        self.retry_until: float | None = None
        self.rewound = False  # the current file restarted from zero (the server ignored Range)
        self._lock = threading.Lock()
        now = time.monotonic()
        self._last_byte_at = now
        self._samples: deque[tuple[float, int]] = deque([(now, done)])

    @property
    def done(self) -> int:
        return self.base + self.current

    def file_started(self, on_disk: int) -> None:
        """A file starts (or resumes) with ``on_disk`` bytes already there: those bytes count as
        done but not toward the speed (a resume does not read as a burst)."""
        with self._lock:
            self.current = on_disk
            self.rewound = False
            self._samples = deque([(time.monotonic(), self.done)])

    def file_finished(self, size: int) -> None:
        with self._lock:
            self.base += size
            self.current = 0

    def advance(self, n: int) -> None:
        with self._lock:
            self.current += n
            self.rewound = self.rewound or n < 0
            if n > 0:
                self._last_byte_at = time.monotonic()
                if self.state == "stalled":  # bytes flow again after a retry
                    self.state, self.message, self.retry_until = "downloading", "", None

    def set(self, state: DownloadState, message: str = "", retry_in_s: float | None = None) -> None:
        with self._lock:
            self.state = state
            self.message = message
            self.retry_until = None if retry_in_s is None else time.monotonic() + retry_in_s
            self._last_byte_at = time.monotonic()

    def event(self) -> DownloadEvent:
        """Where the job stands now (speed over the last seconds; 0 when stalled)."""
        with self._lock:
            now = time.monotonic()
            done = self.done
            self._samples.append((now, done))
            while len(self._samples) > 2 and now - self._samples[0][0] > _WINDOW_S:
                self._samples.popleft()
            state, message = self.state, self.message
            retry_in = None if self.retry_until is None else max(0.0, self.retry_until - now)
            if state == "downloading" and now - self._last_byte_at >= STALL_S:
                state = "stalled"
                message = message or f"No data for {now - self._last_byte_at:.0f} s; waiting."
            t0, d0 = self._samples[0]
            speed = (done - d0) / (now - t0) if now - t0 > 0.2 else 0.0
            if state != "downloading" or speed < 0:
                speed = 0.0
            eta = (self.total - done) / speed if speed > 0 else None
            return DownloadEvent(
                job_id=self.job_id,
                name=self.name,
                state=state,
                bytes_done=done,
                bytes_total=self.total,
                speed_bps=speed,
                eta_s=eta,
                retry_in_s=retry_in,
                message=message,
            )


class Ticker:
    """Sends ``progress``'s event to ``emit`` every :data:`TICK_S` seconds until stopped."""

    def __init__(self, progress: Progress, emit: Callable[[DownloadEvent], None]) -> None:
        self._progress = progress
        self._emit = emit
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name="ember-download-ticker", daemon=True
        )

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(TICK_S):
            self._emit(self._progress.event())


def bar_class(progress: Progress, before_chunk: Callable[[], None]) -> type:
    """A tqdm stand-in for ``huggingface_hub.file_download.http_get``: counts bytes into
    ``progress`` and calls ``before_chunk`` (which checkpoints, and raises
    :class:`StopDownload` to pause or cancel) each time a chunk arrives, before it is written."""

    class Bar:
        def __init__(self, *args: object, initial: int = 0, **kwargs: object) -> None:
            self.n = initial
            progress.file_started(initial)

        def update(self, n: int = 1) -> None:
            before_chunk()
            self.n += n
            progress.advance(n)

        def close(self) -> None:
            pass

        def __enter__(self) -> Bar:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

    return Bar


_WAIT = re.compile(r"(?:Waiting|Retrying in) ([0-9.]+)s")


class HubRetryWatch(logging.Filter):
    """Reads ``huggingface_hub``'s own retry waits from its log (it retries a 429 and dropped
    connections itself) for the job running in this thread, shows them as "stalled", and keeps
    those lines off the terminal (the job's events say it instead)."""

    _LOGGERS = ("huggingface_hub.utils._http", "huggingface_hub.file_download")

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self._progress = progress
        self._thread = threading.get_ident()

    def __enter__(self) -> HubRetryWatch:
        for name in self._LOGGERS:
            logging.getLogger(name).addFilter(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self._LOGGERS:
            logging.getLogger(name).removeFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread != self._thread:
            return True
        text = record.getMessage()
        match = _WAIT.search(text)
        if match:
            wait = float(match.group(1))
            reason = "The hub asked to wait" if "Rate limited" in text else "Connection problem"
            self._progress.set("stalled", f"{reason}; retrying in {wait:.0f} s.", wait)
        elif "Trying to resume" in text:
            self._progress.set("stalled", "The connection dropped; resuming.", 1.0)
        return False
