"""The sandbox's child process: parses one file per request, under memory and CPU limits.

Run as ``python -m ember.knowledge.parse_worker`` by :mod:`ember.knowledge.sandbox`. Requests come
and replies go out as :mod:`ember.ipc` frames (8-byte big-endian length, then UTF-8 JSON); the
original stdout is moved aside, so nothing a library prints can corrupt the stream, and what it
prints on stderr reaches the parent, which logs it when a parser dies. JSON in both directions, never pickle: a parser compromised by a crafted file can at
worst send back bad text, not code for the parent to run.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ember import ipc

PAGE_FRAME_S = 0.2  # page frames at most this often: a 2,000-page PDF need not send 2,000

try:
    import resource
except ImportError:  # Windows: no rlimits; the parent's timeout still applies
    resource = None  # type: ignore[assignment]


def _harden() -> None:
    if resource is None:
        return
    # A crashing parser must not leave a core dump of someone's private document on disk.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _set_limits(timeout_s: float, memory_mb: int) -> None:
    if resource is None:
        return
    _, as_hard = resource.getrlimit(resource.RLIMIT_AS)
    want = memory_mb * 1024 * 1024
    if as_hard == resource.RLIM_INFINITY or want <= as_hard:
        resource.setrlimit(resource.RLIMIT_AS, (want, as_hard))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    # CPU time is cumulative over the worker's life, so the limit is "what we used so far + this
    # file's share". The parent's wall-clock timeout usually fires first; this is the backstop.
    want_cpu = int(used + timeout_s) + 2
    if cpu_hard == resource.RLIM_INFINITY or want_cpu <= cpu_hard:
        resource.setrlimit(resource.RLIMIT_CPU, (want_cpu, cpu_hard))


def _clear_limits() -> None:
    if resource is None:
        return
    for limit in (resource.RLIMIT_AS, resource.RLIMIT_CPU):
        _, hard = resource.getrlimit(limit)
        resource.setrlimit(limit, (hard, hard))


def _warm_imports() -> None:
    """Import the heavy parsers once, at start-up, so each file costs only its own parsing."""
    import bs4  # noqa: F401
    import docx  # noqa: F401
    import pypdfium2  # noqa: F401

    import ember.knowledge.parsers.docx
    import ember.knowledge.parsers.html
    import ember.knowledge.parsers.image
    import ember.knowledge.parsers.pdf  # noqa: F401


def _allow_ocr(memory_mb: int, page_s: float) -> None:
    """Widen this worker's limits for one page of OCR: the engine's address space (ONNX Runtime
    maps about 1.9 GB for a 300 dpi page) and ``page_s`` more CPU seconds. The parent's
    wall-clock deadline moves on by as much when it hears of the page (sandbox)."""
    if resource is None:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    want = memory_mb * 1024 * 1024
    if (
        soft != resource.RLIM_INFINITY
        and soft < want
        and (hard == resource.RLIM_INFINITY or want <= hard)
    ):
        resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if soft != resource.RLIM_INFINITY:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        want_cpu = max(soft, int(usage.ru_utime + usage.ru_stime + page_s) + 2)
        if hard == resource.RLIM_INFINITY or want_cpu <= hard:
            resource.setrlimit(resource.RLIMIT_CPU, (want_cpu, hard))


def _page_sender(request_id: object, send: Callable[[dict[str, Any]], None]) -> Callable[..., None]:
    """A page callback that sends ``{"id", "page", "pages"}`` frames, at most every
    ``PAGE_FRAME_S`` seconds (and always for the last page); and, before each page OCR'd,
    always, ``{"id", "page", "pages", "ocr": true}``, having widened the limits for it."""
    from ember.knowledge.ocr import OCR_MEMORY_MB, OCR_PAGE_TIMEOUT_S

    last = float("-inf")

    def on_page(page: int, pages: int, *, ocr: bool = False) -> None:
        nonlocal last
        now = time.monotonic()
        if ocr:
            _allow_ocr(OCR_MEMORY_MB, OCR_PAGE_TIMEOUT_S)
            last = now
            send({"id": request_id, "page": page, "pages": pages, "ocr": True})
            return
        if now - last >= PAGE_FRAME_S or page == pages:
            last = now
            send({"id": request_id, "page": page, "pages": pages})

    return on_page


def handle(
    request: dict[str, Any], send: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Parse one request's file and build the reply frame.

    The request gives ``id``, ``kind``, ``path``, ``timeout_s`` (CPU seconds, a backstop) and
    ``memory_mb`` (address-space limit). The reply has ``ok`` true with the ``document``, or false
    with an ``error``; ``fatal`` means the worker must be replaced (out of memory), ``retire`` that it
    must not take another file (it loaded the OCR engine). Meanwhile,
    with ``send``, parsers that read pages send ``{"id", "page", "pages"}`` frames through it.
    """
    from ember.errors import IngestError
    from ember.knowledge.ocr import loaded as ocr_loaded
    from ember.knowledge.page_progress import reporting
    from ember.knowledge.parsers import LABELS, parse_in_this_process

    kind = str(request["kind"])
    reply: dict[str, Any] = {"id": request["id"]}
    pages = _page_sender(request["id"], send) if send is not None else None
    try:
        _set_limits(float(request["timeout_s"]), int(request["memory_mb"]))
        try:
            with reporting(pages):
                document = parse_in_this_process(kind, Path(request["path"]))
        finally:
            _clear_limits()
    except IngestError as exc:
        reply.update(ok=False, error=str(exc))
    except MemoryError:
        _clear_limits()
        # The heap may be in any state after this; the parent replaces this worker.
        reply.update(
            ok=False,
            fatal=True,
            error=f"the {LABELS.get(kind, kind)} parser ran out of memory "
            f"(limit {request['memory_mb']} MB)",
        )
    except RecursionError:
        reply.update(
            ok=False, error=f"the {LABELS.get(kind, kind)} parser gave up: nested too deep"
        )
    except Exception as exc:  # a library bug on a strange file fails that file, not the batch
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last else ""
        reply.update(
            ok=False,
            error=f"the {LABELS.get(kind, kind)} parser failed on this file "
            f"({type(exc).__name__}{where})",
        )
    else:
        if ocr_loaded():
            # The OCR engine keeps ~1.5 GB mapped, over the next file's memory limit: this worker
            # ends here and the next file gets a fresh one.
            reply["retire"] = True
        reply.update(
            ok=True,
            document={
                "kind": document.kind,
                "title": document.title,
                "encoding": document.encoding,
                "notes": list(document.notes),
                "page_count": document.page_count,
                "text_source": dataclasses.asdict(document.text_source),
                "sections": [
                    [section.text, section.page, list(section.heading_path), section.page_label]
                    for section in document.sections
                ],
            },
        )
    return reply


def main() -> int:
    """The worker loop: announce ``ready``, answer each request; returns 3 after a fatal reply, 0
    when input ends."""
    _harden()
    frames = ipc.protocol_stream()
    # Closed on every way out: an open frame stream at exit is a ResourceWarning on stderr.
    with frames:
        _warm_imports()
        ipc.send(frames, {"ready": True, "pid": os.getpid()})
        for request in ipc.requests():
            reply = handle(request, lambda frame: ipc.send(frames, frame))
            ipc.send(frames, reply)
            if reply.get("fatal"):
                return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
