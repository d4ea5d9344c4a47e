"""Terminal commands for the knowledge base: ``ember index``, ``search``, ``docs`` and ``eval``.

Progress goes to stderr (a redrawn bar on a terminal, plain lines otherwise) so that stdout
carries only the result, and ``--json`` output stays machine-readable. Ctrl-C during indexing
stops cleanly within about a second, keeping everything finished so far; a second Ctrl-C quits.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from ember.cancel import CancelToken
    from ember.knowledge import KnowledgeBase
    from ember.knowledge.ingest import IngestReport, ProgressEvent

DEFAULT_COLLECTION = "default"
EXIT_INTERRUPTED = 130


def register(subparsers: Any) -> None:
    """Add ``index``, ``search``, ``docs`` and ``eval`` to the ``ember`` command's subparsers."""
    index = subparsers.add_parser(
        "index", help="index files and folders for document chat (re-runs are incremental)"
    )
    index.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to index")
    index.add_argument("--collection", default=DEFAULT_COLLECTION, metavar="NAME")
    index.add_argument(
        "--watch", action="store_true", help="keep running and re-index files as they change"
    )
    index.add_argument("--json", action="store_true", help="print the summary as JSON")
    index.set_defaults(handler=run_index)

    search = subparsers.add_parser("search", help="search your indexed documents")
    search.add_argument("query")
    search.add_argument(
        "--collection",
        action="append",
        metavar="NAME",
        help="search only this collection (repeatable; default: all)",
    )
    search.add_argument("--k", type=int, default=5, metavar="N", help="results to show")
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=run_search)

    docs = subparsers.add_parser("docs", help="list, remove or re-index indexed documents")
    actions = docs.add_subparsers(dest="docs_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list documents with their state")
    listing.add_argument("--collection", metavar="NAME")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=run_docs_list)
    remove = actions.add_parser("remove", help="forget a document (or every one under a folder)")
    remove.add_argument("path", metavar="PATH")
    remove.add_argument("--collection", metavar="NAME")
    remove.add_argument("--json", action="store_true")
    remove.set_defaults(handler=run_docs_remove)
    reindex = actions.add_parser(
        "reindex", help="finish interrupted work and retry failures (--all: redo everything)"
    )
    reindex.add_argument("--collection", metavar="NAME")
    reindex.add_argument("--all", action="store_true", help="parse and embed every document again")
    reindex.add_argument("--json", action="store_true")
    reindex.set_defaults(handler=run_docs_reindex)

    evaluate = subparsers.add_parser(
        "eval", help="measure answer quality on a QA file (hit@k, MRR, abstentions, latency)"
    )
    evaluate.add_argument("qa_file", metavar="QA.json", help="questions with their source file")
    evaluate.add_argument(
        "--collection", action="append", metavar="NAME", help="repeatable; default: all"
    )
    evaluate.add_argument("--json", action="store_true", help="last line: the metrics as JSON")
    evaluate.add_argument(
        "--generate", action="store_true", help="also answer each question with the model"
    )
    evaluate.add_argument("--model", "-m", help="model for --generate (default: your default)")
    evaluate.set_defaults(handler=run_eval)


def _knowledge_base() -> KnowledgeBase:
    from ember.knowledge import KnowledgeBase

    return KnowledgeBase()


# -- index -------------------------------------------------------------------------------------


def run_index(args: argparse.Namespace) -> int:
    from ember.cancel import CancelToken

    paths = [Path(p).expanduser() for p in args.paths]
    cancel = CancelToken()
    with _knowledge_base() as kb, _cancel_on_interrupt(cancel):
        bar = ProgressPrinter(sys.stderr)
        report = kb.index(paths, args.collection, progress=bar, cancel=cancel)
        bar.close()
        _print_index_report(report, args.json)
        if report.cancelled:
            return EXIT_INTERRUPTED
        if args.watch:
            from ember.knowledge.watch import watch

            print(
                f"Watching {len(paths)} path(s) for changes; press Ctrl-C to stop.",
                file=sys.stderr,
            )

            def changed(report: IngestReport) -> None:
                if report.indexed or report.removed or report.failed or report.warnings:
                    _print_index_report(report, args.json)

            watch(kb, paths, args.collection, cancel=cancel, on_report=changed)
    return 0


def _print_index_report(report: IngestReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.as_json()), flush=True)
        return
    line = (
        f"Indexed {report.indexed} document(s) ({report.chunks} chunks), "
        f"{report.skipped} unchanged, {report.removed} removed, {len(report.failed)} failed "
        f"in {report.elapsed_s:.1f} s."
    )
    if report.cancelled:
        line += " Stopped early: run the same command again to finish."
    print(line)
    for failure in report.failed:
        print(f"  failed: {failure.path}: {failure.reason}")
    for notice in report.warnings:
        print(f"  warning: {notice.path}: {notice.message}")
    sys.stdout.flush()


class ProgressPrinter:
    """Draws :class:`ProgressEvent`s on ``stream``: a bar on a terminal, lines every few
    seconds otherwise."""

    def __init__(self, stream: TextIO, *, interval_s: float | None = None) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.interval_s = interval_s if interval_s is not None else (0.1 if self.tty else 2.0)
        self._last = 0.0
        self._drawn = False

    def __call__(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        if event.phase != "done" and now - self._last < self.interval_s:
            return
        self._last = now
        if event.phase == "discovering":
            text = "Looking for files..."
        else:
            text = format_progress(event)
        if self.tty:
            width = 100
            self.stream.write("\r" + text[:width].ljust(width))
            self._drawn = True
        elif event.phase != "done":
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()


def format_progress(event: ProgressEvent) -> str:
    fraction = event.bytes_done / event.bytes_total if event.bytes_total else 1.0
    filled = int(fraction * 20)
    bar = "#" * filled + "-" * (20 - filled)
    eta = f", {_duration(event.eta_s)} left" if event.eta_s else ""
    current = f"  {Path(event.current).name}" if event.current else ""
    return (
        f"[{bar}] {event.files_done}/{event.files_total} files, {event.chunks_done} chunks, "
        f"{_size(event.bytes_done)}/{_size(event.bytes_total)}{eta}{current}"
    )


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"


@contextmanager
def _cancel_on_interrupt(cancel: CancelToken) -> Iterator[None]:
    """First Ctrl-C asks the run to stop cleanly; a second one interrupts at once."""
    try:
        previous = signal.getsignal(signal.SIGINT)
    except ValueError:  # not the main thread
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()
        print("\nStopping after the current batch (Ctrl-C again to quit now)...", file=sys.stderr)

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# -- search ------------------------------------------------------------------------------------


def run_search(args: argparse.Namespace) -> int:
    with _knowledge_base() as kb:
        result = kb.search(args.query, args.collection, max(1, args.k))
    rows = [
        {
            "source": hit.source,
            "page": hit.page,
            "heading": hit.heading,
            "similarity": round(hit.similarity, 4),
            "text": hit.text,
        }
        for hit in result.hits
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not rows:
        print("No matches in your indexed documents.")
        return 0
    for number, row in enumerate(rows, start=1):
        where = [str(row["source"])]
        if row["page"] is not None:
            where.append(f"page {row['page']}")
        if row["heading"]:
            where.append(str(row["heading"]))
        print(f"{number}. {' — '.join(where)}  (similarity {row['similarity']:.2f})")
        text = " ".join(str(row["text"]).split())
        print(f"   {text[:300]}{'…' if len(text) > 300 else ''}")
    return 0


# -- docs --------------------------------------------------------------------------------------


def run_docs_list(args: argparse.Namespace) -> int:
    with _knowledge_base() as kb:
        records = kb.documents(args.collection)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "path": r.path,
                        "collection": r.collection,
                        "state": r.state,
                        "chunks": r.chunk_count,
                        "kind": r.kind,
                        "error": r.error,
                    }
                    for r in records
                ]
            )
        )
        return 0
    if not records:
        print("No documents indexed yet. Add some with `ember index PATH`.")
        return 0
    for r in records:
        line = f"{r.state:<8} {r.collection:<16} {r.chunk_count:>6} chunks  {r.path}"
        if r.error:
            line += f"  ({r.error})"
        print(line)
    return 0


def run_docs_remove(args: argparse.Namespace) -> int:
    with _knowledge_base() as kb:
        removed = kb.remove(Path(args.path).expanduser(), args.collection)
    if args.json:
        print(json.dumps({"removed": removed}))
    elif removed:
        print(f"Removed {removed} document(s).")
    else:
        print(f"Nothing indexed at {args.path}.")
    return 0


def run_docs_reindex(args: argparse.Namespace) -> int:
    from ember.cancel import CancelToken

    cancel = CancelToken()
    with _knowledge_base() as kb, _cancel_on_interrupt(cancel):
        bar = ProgressPrinter(sys.stderr)
        report = kb.reindex(args.collection, everything=args.all, progress=bar, cancel=cancel)
        bar.close()
    _print_index_report(report, args.json)
    return EXIT_INTERRUPTED if report.cancelled else 0


# -- eval --------------------------------------------------------------------------------------


def run_eval(args: argparse.Namespace) -> int:
    from ember.errors import EmberError
    from ember.knowledge import evaluate

    items = evaluate.load_questions(Path(args.qa_file).expanduser())
    with _knowledge_base() as kb:
        collections = args.collection or [c.name for c in kb.collections() if c.chunks > 0]
        if not collections:
            raise EmberError("No documents are indexed yet: add some with `ember index PATH`.")
        generate, close = None, None
        if args.generate:
            generate, close = evaluate.assistant_generator(kb, collections, args.model)
        try:
            results = evaluate.evaluate(kb, items, collections, generate=generate)
        finally:
            if close is not None:
                close()
    metrics = evaluate.summarize(results)
    if args.generate and not args.json:
        for result in results:
            print(f"Q: {result.item.question}\nA: {result.answer}\n")
    if not args.json:
        for line in evaluate.format_misses(results):
            print(line)
        print(evaluate.format_table(metrics))
        return 0
    data = metrics.as_json()
    if args.generate:
        data["answers"] = [
            {"question": r.item.question, "answer": r.answer, "abstained": r.abstained}
            for r in results
        ]
    print(json.dumps(data, ensure_ascii=False))
    return 0
