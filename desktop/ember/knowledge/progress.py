"""Where an indexing run stands, in the units of the work itself, and how long the rest will take.

An indexing run does two kinds of work at very different speeds: reading files (hashing, parsing,
chunking; its cost grows with bytes) and embedding passages (its cost grows with passages). A
bar that counts files sits still while one big PDF is embedded for minutes; one that counts bytes
says "~1 s left" while the last few thousand passages are embedded. :func:`estimate` therefore
measures both rates as the run goes and adds up the time the remaining bytes and passages will
take at those rates. The passages still to be found in unread files are extrapolated from the
passages per byte seen so far.

:class:`ProgressEvent` is what the CLI's bar and the desktop's status bar draw; :func:`stage_text`
is the sentence both show ("Embedding 1,744 / 2,633 passages").
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ember.files import shown_path
from ember.units import size_text

# Stages of a run, in order; ``ProgressEvent.stage`` is one of them.
STAGES = ("discovering", "loading", "reading", "embedding", "saving", "done")

# Guesses for the bar's shape before a rate has been measured (never shown as a time left): a
# MiB of documents takes about a second to read, a passage some 30 ms to embed on a laptop CPU,
# and a passage holds about a kilobyte of file.
PRIOR_READ_S_PER_BYTE = 1.0 / (1024 * 1024)
PRIOR_EMBED_S_PER_PASSAGE = 0.03
PRIOR_BYTES_PER_PASSAGE = 1024.0


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Where an indexing run stands; the CLI and the Qt UI draw their bars from this.

    Counts are of this run: ``files_*`` files (unchanged ones count as done at once), ``bytes_*``
    bytes of the files that need work, ``chunks_done`` passages embedded, ``passages_found``
    passages read and queued for embedding. ``fraction`` is the share of the run's work done
    (0..1, by the measured cost of bytes read and passages embedded); ``eta_s`` the seconds left
    at the observed rates (None until they are known, and while saving). ``page``/``pages`` say
    which page of ``current`` is being read, when its parser tells (PDF); ``current_bytes`` is
    its size. ``passages_saved`` of the passages embedded are saved to disk (at the last
    checkpoint): a run killed now keeps those.
    """

    files_done: int
    files_total: int
    chunks_done: int  # passages embedded so far in this run
    bytes_done: int
    bytes_total: int  # bytes of the files that need work (unchanged ones are not counted)
    current: str | None  # the file being read now
    eta_s: float | None
    elapsed_s: float
    failed: int = 0
    phase: str = "indexing"  # "discovering", "indexing", "saving", "done"
    stage: str = ""  # one of STAGES ("loading": the embedding model's cold start); "" if unknown
    passages_found: int = 0
    fraction: float | None = None
    page: int | None = None
    pages: int | None = None
    current_bytes: int = 0
    passages_saved: int = 0  # embedded and saved to disk: kept even if the run is killed now
    ocr: bool = False  # ``page`` is being OCR'd (a scan), not read from a text layer

    @property
    def passages_embedded(self) -> int:
        """Passages embedded so far in this run (the same as ``chunks_done``)."""
        return self.chunks_done


def estimate(
    *,
    bytes_done: int,
    bytes_total: int,
    passages_found: int,
    passages_embedded: int,
    read_s: float,
    embed_s: float,
    bytes_chunked: int | None = None,
) -> tuple[float, float | None]:
    """``(fraction done, seconds left)`` from the work done and the time it took.

    ``read_s`` is the time spent reading ``bytes_done`` bytes, ``embed_s`` embedding
    ``passages_embedded`` passages. ``bytes_chunked`` (default: ``bytes_done``) are the bytes of
    the files whose passages are counted in ``passages_found``: a file being read (page 261 of
    261) has its passages still to come. Seconds left is None while the work that remains
    includes a kind whose rate has not been measured yet.
    """
    chunked = bytes_done if bytes_chunked is None else bytes_chunked
    bytes_left = max(0, bytes_total - bytes_done)
    if chunked > 0 and passages_found > 0:
        bytes_per_passage = chunked / passages_found
    else:
        bytes_per_passage = PRIOR_BYTES_PER_PASSAGE
    unchunked = max(0, bytes_total - chunked)
    passages_left = max(0.0, passages_found - passages_embedded + unchunked / bytes_per_passage)
    read_rate = read_s / bytes_done if bytes_done > 0 and read_s > 0 else None
    embed_rate = embed_s / passages_embedded if passages_embedded > 0 and embed_s > 0 else None

    def left(read: float | None, embed: float | None) -> float | None:
        if (bytes_left and read is None) or (passages_left and embed is None):
            return None
        return bytes_left * (read or 0.0) + passages_left * (embed or 0.0)

    eta = left(read_rate, embed_rate)
    # The bar's shape: measured rates where there are some, guesses elsewhere.
    read = read_rate if read_rate is not None else PRIOR_READ_S_PER_BYTE
    embed = embed_rate if embed_rate is not None else PRIOR_EMBED_S_PER_PASSAGE
    done = bytes_done * read + passages_embedded * embed
    remaining = left(read, embed) or 0.0
    fraction = done / (done + remaining) if done + remaining > 0 else 0.0
    return min(1.0, fraction), eta


def stage_text(event: ProgressEvent) -> str:
    """What the run is doing now, as a person reads it: "Looking for files…", "Loading the
    embedding model…", "Reading manual.pdf, page 120/261", "Reading scan.pdf, OCR page 12/80",
    "Reading notes.docx (2.1 MB)",
    "Embedding 1,744 / 2,633 passages", "Saving…" or "Done"."""
    stage = event.stage
    if stage == "discovering":
        return "Looking for files…"
    if stage == "loading":
        return "Loading the embedding model…"
    if stage == "saving":
        return "Saving…"
    if stage == "done":
        return "Done"
    if stage == "reading" and event.current:
        name = shown_path(Path(event.current).name)
        if event.page and event.pages and event.ocr:
            return f"Reading {name}, OCR page {event.page:,}/{event.pages:,}"
        if event.page and event.pages:
            return f"Reading {name}, page {event.page:,}/{event.pages:,}"
        if event.current_bytes:
            return f"Reading {name} ({size_text(event.current_bytes)})"
        return f"Reading {name}"
    if stage == "embedding" or event.passages_found:
        return f"Embedding {event.chunks_done:,} / {event.passages_found:,} passages"
    return "Indexing…"


class ProgressMeter:
    """The counters of one indexing run, and the :class:`ProgressEvent` they make.

    The run sets the counts as it goes; ``read_s`` and ``embed_s`` accumulate the seconds spent
    reading files and embedding passages, from which :func:`estimate` takes its rates. While a
    file is being read, the part of it already read (by pages, when its parser tells) and the
    time spent on it so far count too, so a long PDF moves the bar as its pages go by.
    """

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.files_total = self.files_done = 0
        self.bytes_total = self.bytes_done = 0
        self.passages_found = 0
        self.passages_saved = 0
        self.read_s = self.embed_s = 0.0
        self.current: str | None = None
        self.current_bytes = 0
        self.page: int | None = None
        self.pages: int | None = None
        self.ocr = False
        self._file_started: float | None = None
        # What the bar shows never goes back. When the estimate is revised (a rate measured at
        # last, slower than guessed), the bar does not stall until the work catches up with it:
        # each step of the estimate moves the bar by the same share of what the bar has left.
        self._fraction = 0.0
        self._estimated = 0.0  # the estimate's fraction at the last event

    def start_file(self, path: str, size: int) -> None:
        self.current, self.current_bytes = path, size
        self.page = self.pages = None
        self.ocr = False
        self._file_started = time.perf_counter()

    def end_file(self) -> None:
        """The current file is read (or failed): its bytes and time count as done."""
        if self._file_started is not None:
            self.read_s += time.perf_counter() - self._file_started
            self.bytes_done += self.current_bytes
        self.files_done += 1
        self._file_started = None
        self.current, self.current_bytes = None, 0
        self.page = self.pages = None
        self.ocr = False

    def _advance(self, estimated: float) -> float:
        """The bar's new fraction for the estimate's new ``estimated`` fraction (0..1)."""
        shown, before = self._fraction, self._estimated
        self._estimated = estimated
        if estimated >= 1.0:
            return 1.0
        if estimated <= before or before >= 1.0:
            return shown  # revised down (or no change): hold, and go on from here
        return shown + (1.0 - shown) * (estimated - before) / (1.0 - before)

    def event(self, *, phase: str, stage: str, chunks_done: int, failed: int) -> ProgressEvent:
        bytes_done, read_s = self.bytes_done, self.read_s
        if self._file_started is not None and self.page and self.pages:
            bytes_done += int(self.current_bytes * min(1.0, self.page / self.pages))
            read_s += time.perf_counter() - self._file_started
        if stage == "done":
            fraction, eta = 1.0, 0.0
        elif stage == "discovering":
            fraction, eta = 0.0, None
        else:
            fraction, eta = estimate(
                bytes_done=bytes_done,
                bytes_total=self.bytes_total,
                passages_found=self.passages_found,
                passages_embedded=chunks_done,
                read_s=read_s,
                embed_s=self.embed_s,
                bytes_chunked=self.bytes_done,
            )
            if stage in ("saving", "loading"):
                eta = None  # neither is measured: better no estimate than a wrong one
        self._fraction = self._advance(fraction)
        return ProgressEvent(
            files_done=self.files_done,
            files_total=self.files_total,
            chunks_done=chunks_done,
            bytes_done=self.bytes_done,
            bytes_total=self.bytes_total,
            current=self.current,
            eta_s=eta,
            elapsed_s=time.perf_counter() - self.started,
            failed=failed,
            phase=phase,
            stage=stage,
            passages_found=self.passages_found,
            fraction=self._fraction,
            page=self.page,
            pages=self.pages,
            current_bytes=self.current_bytes,
            passages_saved=self.passages_saved,
            ocr=self.ocr,
        )
