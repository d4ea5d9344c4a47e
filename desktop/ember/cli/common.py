"""What every ``ember`` command shares: the ``--json`` flag, the progress display and Ctrl-C.

Progress goes to stderr (tqdm's bar on a terminal, a plain line every few seconds otherwise) so
that stdout carries only the result and ``--json`` output stays machine-readable.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ember.files import shown_path
from ember.units import duration_text, size_text

if TYPE_CHECKING:
    from ember.cancel import CancelToken
    from ember.knowledge.ingest import ProgressEvent
    from ember.knowledge.types import Citation

EXIT_INTERRUPTED = 130


def json_flag() -> argparse.ArgumentParser:
    """The one ``--json`` option, as a parent parser for every command that offers it.

    Its default is *suppressed*, so a subcommand never resets a ``--json`` given before it
    (``ember models --json list`` and ``ember models list --json`` mean the same); read it with
    :func:`wants_json`."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print JSON for scripts"
    )
    return parent


def wants_json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


class StreamProgress:
    """What the CLI's progress displays share: on a terminal ``stream``, tqdm's bar counting
    bytes in decimal units (as :mod:`ember.units` writes them); elsewhere a plain line at most
    every ``interval_s`` seconds (the first at once, and any whose ``key`` changed). Subclasses
    draw their events with :meth:`_bar_for` and :meth:`_line`; :meth:`close` ends the bar."""

    def __init__(self, stream: TextIO | None = None, *, interval_s: float = 2.0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval_s = interval_s
        self._last = float("-inf")  # the first line is always written
        self._last_key = ""
        self._bar: Any = None

    def _line(self, text: str, key: str = "") -> None:
        """Write ``text`` as a line unless one with the same ``key`` went out within the
        interval."""
        now = time.monotonic()
        if key == self._last_key and now - self._last < self.interval_s:
            return
        self._last, self._last_key = now, key
        self.stream.write(text + "\n")
        self.stream.flush()

    def _bar_for(self, bytes_total: int, **options: Any) -> Any:
        """The tqdm bar, made at the first call (``bytes_total`` 0: not known yet; ``options``
        are tqdm's, such as ``desc``)."""
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=bytes_total or None,
                unit="B",
                unit_scale=True,
                unit_divisor=1000,
                file=self.stream,
                dynamic_ncols=True,
                **options,
            )
        return self._bar

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class ProgressBar(StreamProgress):
    """Draws indexing :class:`ProgressEvent`s on ``stream`` with tqdm (bytes, files, chunks,
    ETA) on a terminal, or as a plain line every ``interval_s`` seconds otherwise."""

    def __call__(self, event: ProgressEvent) -> None:
        if self.tty:
            self._draw(event)
        elif event.phase != "done":
            self._line("Looking for files..." if event.phase == "discovering" else describe(event))

    def _draw(self, event: ProgressEvent) -> None:
        if event.phase == "discovering":
            return
        bar = self._bar_for(event.bytes_total, leave=True)
        if event.bytes_total and bar.total != event.bytes_total:
            bar.total = event.bytes_total
        bar.n = event.bytes_done
        bar.set_postfix_str(
            f"{event.files_done}/{event.files_total} files, {event.chunks_done} chunks"
            f"{_doing(event, ' ')}",
            refresh=False,
        )
        bar.refresh()


def describe(event: ProgressEvent) -> str:
    """One line for a log: files, chunks, bytes, time left and what the run is doing (the file
    being read, its page, passages embedded of those found, loading the model, saving)."""
    eta = f", {duration_text(event.eta_s)} left" if event.eta_s else ""
    return (
        f"{event.files_done}/{event.files_total} files, {event.chunks_done} chunks, "
        f"{size_text(event.bytes_done)}/{size_text(event.bytes_total)}{eta}{_doing(event, '  ')}"
    )


def _doing(event: ProgressEvent, gap: str) -> str:
    """What the run is doing now, after ``gap``; the file's name for an event without a stage."""
    if event.stage and event.stage not in ("discovering", "done"):
        from ember.knowledge.progress import stage_text

        return gap + stage_text(event)
    return f"{gap}{shown_path(Path(event.current).name)}" if event.current else ""


@contextmanager
def cancel_on_interrupt(
    cancel: CancelToken, stopping: str = "Stopping after the current batch"
) -> Iterator[None]:
    """First Ctrl-C asks the run to stop cleanly (saying ``stopping``); a second one interrupts
    at once."""
    try:
        previous = signal.getsignal(signal.SIGINT)
    except ValueError:  # not the main thread
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()
        print(f"\n{stopping} (Ctrl-C again to quit now)...", file=sys.stderr)

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def source_lines(citations: Iterable[Citation]) -> str:
    """The sources below an answer, one a line: "  [1] /docs/manual.pdf, p. 12 — Safety"."""
    lines = []
    for c in citations:
        page = c.page_text()
        where = f", {page}" if page else ""
        heading = f" — {c.heading}" if c.heading else ""
        lines.append(f"  [{c.n}] {shown_path(c.source)}{where}{heading}\n")
    return "".join(lines)
