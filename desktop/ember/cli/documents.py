"""``ember index``, ``ember search`` and ``ember docs``: the knowledge base from a terminal.

``ember index`` names each file read by OCR with its pages and mean confidence; ``ember docs list``
says how each indexed document's text was obtained ("text layer", "OCR'd 3 pages, mean
confidence 0.93").

Ctrl-C during indexing stops cleanly within about a second, keeping everything finished so far;
a second Ctrl-C quits.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.cli import gpt4all
from ember.cli.common import (
    EXIT_INTERRUPTED,
    ProgressBar,
    cancel_on_interrupt,
    json_flag,
    wants_json,
)
from ember.files import shown_path
from ember.knowledge.types import page_reference

if TYPE_CHECKING:
    from ember.knowledge import KnowledgeBase
    from ember.knowledge.ingest import IngestReport
    from ember.knowledge.store import DocumentRecord

DEFAULT_COLLECTION = "default"


def register(subparsers: Any) -> None:
    """Add ``index``, ``search`` and ``docs`` to the ``ember`` command's subparsers."""
    output = json_flag()
    index = subparsers.add_parser(
        "index",
        parents=[output],
        help="index files and folders for document chat (re-runs are incremental)",
    )
    index.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to index")
    index.add_argument("--collection", default=DEFAULT_COLLECTION, metavar="NAME")
    index.add_argument(
        "--watch", action="store_true", help="keep running and re-index files as they change"
    )
    index.set_defaults(handler=run_index)

    search = subparsers.add_parser("search", parents=[output], help="search your indexed documents")
    search.add_argument("query")
    search.add_argument(
        "--collection",
        action="append",
        metavar="NAME",
        help="search only this collection (repeatable; default: all)",
    )
    search.add_argument("--k", type=int, default=5, metavar="N", help="results to show")
    search.set_defaults(handler=run_search)

    docs = subparsers.add_parser(
        "docs", aliases=["documents"], help="list, remove, rename or re-index indexed documents"
    )
    actions = docs.add_subparsers(dest="docs_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", parents=[output], help="list documents with their state")
    listing.add_argument("--collection", metavar="NAME")
    listing.set_defaults(handler=run_docs_list)
    remove = actions.add_parser(
        "remove", parents=[output], help="forget a document (or every one under a folder)"
    )
    remove.add_argument("path", metavar="PATH")
    remove.add_argument("--collection", metavar="NAME")
    remove.set_defaults(handler=run_docs_remove)
    reindex = actions.add_parser(
        "reindex",
        parents=[output],
        help="finish interrupted work and retry failures (--all: redo everything)",
    )
    reindex.add_argument("--collection", metavar="NAME")
    reindex.add_argument("--all", action="store_true", help="parse and embed every document again")
    reindex.set_defaults(handler=run_docs_reindex)
    rename = actions.add_parser(
        "rename", parents=[output], help="rename a collection (chats that use it follow)"
    )
    rename.add_argument("old", metavar="OLD")
    rename.add_argument("new", metavar="NEW")
    rename.set_defaults(handler=run_docs_rename)
    gpt4all.register(actions, output)  # import-gpt4all: GPT4All's LocalDocs folders


@contextmanager
def knowledge_base() -> Iterator[KnowledgeBase]:
    """The knowledge base, through the composition root, closed afterwards."""
    from ember.core import Core

    core = Core()
    try:
        yield core.knowledge()
    finally:
        core.close()


# -- index -------------------------------------------------------------------------------------


def run_index(args: argparse.Namespace) -> int:
    from ember.cancel import CancelToken

    paths = [Path(p).expanduser() for p in args.paths]
    cancel = CancelToken()
    with knowledge_base() as kb, cancel_on_interrupt(cancel):
        bar = ProgressBar(sys.stderr)
        report = kb.index(paths, args.collection, progress=bar, cancel=cancel)
        bar.close()
        _print_index_report(report, wants_json(args))
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
                    _print_index_report(report, wants_json(args))

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
        print(f"  failed: {shown_path(failure.path)}: {failure.reason}")
    for passed in report.passed_over:  # a binary file, an empty one: named, not read
        print(f"  skipped: {shown_path(passed.path)}: {passed.reason}")
    for read in report.ocr:  # "ocr: scan.png: OCR'd 1 page, mean confidence 0.93"
        print(f"  ocr: {shown_path(read.path)}: {read.text}")
    for notice in report.warnings:
        print(f"  warning: {shown_path(notice.path)}: {notice.message}")
    sys.stdout.flush()


# -- search ------------------------------------------------------------------------------------


def run_search(args: argparse.Namespace) -> int:
    with knowledge_base() as kb:
        result = kb.search(args.query, args.collection, max(1, args.k))
    rows = [
        {
            "source": shown_path(hit.source),
            "page": hit.page,
            "page_label": hit.page_label,
            "page_count": hit.page_count,
            "page_text": page_reference(hit.page, hit.page_label, hit.page_count),
            "heading": hit.heading,
            "similarity": round(hit.similarity, 4),
            "text": hit.text,
        }
        for hit in result.hits
    ]
    if result.stale:
        from ember.knowledge.freshness import stale_note

        print(f"ember: {stale_note(result.stale)}", file=sys.stderr)
    if wants_json(args):
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not rows:
        print("No matches in your indexed documents.")
        return 0
    for number, row in enumerate(rows, start=1):
        where = [str(row["source"])]
        if row["page_text"] is not None:
            where.append(str(row["page_text"]))
        if row["heading"]:
            where.append(str(row["heading"]))
        print(f"{number}. {' — '.join(where)}  (similarity {row['similarity']:.2f})")
        text = " ".join(str(row["text"]).split())
        print(f"   {text[:300]}{'…' if len(text) > 300 else ''}")
    return 0


# -- docs --------------------------------------------------------------------------------------


def run_docs_list(args: argparse.Namespace) -> int:
    from ember.knowledge.freshness import listed_state

    with knowledge_base() as kb:
        records = kb.documents(args.collection)
    # A finished document whose file went or changed since is listed as such, not as "done".
    notes = {
        "deleted": "deleted since it was indexed",
        "unavailable": "cannot be found now (an unplugged drive?)",
        "changed": "changed since it was indexed",
    }
    shown = []
    for r in records:
        state = listed_state(r)
        shown.append(dataclasses.replace(r, state=state, error=notes.get(state, r.error)))
    records = shown
    if wants_json(args):
        print(
            json.dumps(
                [
                    {
                        "path": shown_path(r.path),
                        "collection": r.collection,
                        "state": r.state,
                        "chunks": r.chunk_count,
                        "kind": r.kind,
                        "error": r.error,
                        **_source_json(r),
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
        line = f"{r.state:<8} {r.collection:<16} {r.chunk_count:>6} chunks  {shown_path(r.path)}"
        if r.error:
            line += f"  ({r.error})"
        elif r.text_source is not None:  # "[text layer]", "[OCR'd 3 pages, mean confidence 0.93]"
            line += f"  [{r.text_source.describe(r.page_count)}]"
        print(line)
    return 0


def _source_json(record: DocumentRecord) -> dict[str, object]:
    """How an indexed document's text was obtained: "text_source" ("text", "ocr", or None where
    not recorded), the pages OCR'd and their mean confidence (0..1), and "source" in words."""
    source = None if record.state == "failed" else record.text_source
    if source is None:
        return {"text_source": None, "ocr_pages": None, "ocr_confidence": None, "source": None}
    return {
        "text_source": source.method,
        "ocr_pages": source.ocr_pages,
        "ocr_confidence": source.ocr_confidence,
        "source": source.describe(record.page_count),
    }


def run_docs_remove(args: argparse.Namespace) -> int:
    with knowledge_base() as kb:
        removed = kb.remove(Path(args.path).expanduser(), args.collection)
    if wants_json(args):
        print(json.dumps({"removed": removed}))
    elif removed:
        print(f"Removed {removed} document(s).")
    else:
        print(f"Nothing indexed at {args.path}.")
    return 0


def run_docs_reindex(args: argparse.Namespace) -> int:
    from ember.cancel import CancelToken

    cancel = CancelToken()
    with knowledge_base() as kb, cancel_on_interrupt(cancel):
        bar = ProgressBar(sys.stderr)
        report = kb.reindex(args.collection, everything=args.all, progress=bar, cancel=cancel)
        bar.close()
    _print_index_report(report, wants_json(args))
    return EXIT_INTERRUPTED if report.cancelled else 0


def run_docs_rename(args: argparse.Namespace) -> int:
    from ember.core import Core, follow_rename

    core = Core()
    try:
        core.rename_collection(args.old, args.new)
        chats = follow_rename(core.store, args.old, args.new)
    finally:
        core.close()
    if wants_json(args):
        print(json.dumps({"renamed": args.old, "to": args.new, "chats": chats}))
    else:
        print(f"Renamed “{args.old}” to “{args.new}”; {chats} chat(s) follow it.")
    return 0
