"""The desktop app's knowledge helper process: indexing and retrieval away from the GUI's GIL.

Importing torch, loading MiniLM, tokenizing and some FAISS calls hold Python's GIL for hundreds of
milliseconds at a time; in the GUI process that freezes the window however the threads are
arranged. So the app runs this module as a child process (``python -m ember.ui.knowledge_child``)
and talks JSON lines with it. No Qt here.

``index DIRECTORY`` reads one request line from stdin (``{"paths": [...], "collection": "..."}``),
then writes ``{"event": "progress", ...}`` lines and one ``{"event": "result", ...}`` line (or
``{"event": "error", "message": ...}``). A ``cancel`` line on stdin, or stdin closing (the app went
away), stops the run between batches; everything finished so far stays indexed.

``serve DIRECTORY`` answers requests, one JSON line each, until stdin closes:
``{"op": "warm"}`` loads the embedder; ``{"op": "retrieve", "question": ..., "collections": ...}``
answers ``{"ok": true, "grounding": {...}}``; failures answer ``{"ok": false, "message": ...}``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import IO, Any


def _protocol_stream() -> IO[str]:
    """A private copy of stdout for protocol lines; fd 1 then points at stderr, so a library that
    prints can never corrupt the protocol."""
    sys.stdout.flush()
    private = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(private, "w", encoding="utf-8", buffering=1)


def _be_nice() -> None:
    """Indexing is background work: on a busy machine the window and answers come first."""
    if hasattr(os, "nice"):
        os.nice(5)


def _send(out: IO[str], message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def _error_message(exc: BaseException) -> str:
    from ember.errors import EmberError

    return str(exc) if isinstance(exc, EmberError) else f"{type(exc).__name__}: {exc}"


def run_index(directory: Path) -> int:
    from ember.cancel import CancelToken
    from ember.knowledge import KnowledgeBase

    out = _protocol_stream()
    request = json.loads(sys.stdin.readline() or "{}")
    cancel = CancelToken()

    def watch_stdin() -> None:
        # "cancel" or end of input (the app closed or died): stop between batches.
        for line in sys.stdin:
            if line.strip() == "cancel":
                break
        cancel.cancel()

    threading.Thread(target=watch_stdin, name="ember-cancel", daemon=True).start()
    _be_nice()

    def progress(event: Any) -> None:
        _send(
            out,
            {
                "event": "progress",
                "files_done": event.files_done,
                "files_total": event.files_total,
                "chunks": event.chunks_done,
                "eta_s": event.eta_s,
                "current": event.current or "",
                "failed": event.failed,
                "phase": event.phase,
            },
        )

    try:
        with KnowledgeBase(directory) as kb:
            report = kb.index(
                [Path(p) for p in request["paths"]],
                request["collection"],
                progress=progress,
                cancel=cancel,
            )
    except Exception as exc:  # reported to the app, which shows it to the person
        _send(out, {"event": "error", "message": _error_message(exc)})
        return 1
    _send(out, {"event": "result", **report.as_json()})
    return 0


def _grounding_json(grounding: Any) -> dict[str, Any]:
    return {
        "context": grounding.context,
        "citations": [
            {
                "n": c.n,
                "source": c.source,
                "page": c.page,
                "heading": c.heading,
                "snippet": c.snippet,
                "similarity": float(c.similarity),
            }
            for c in grounding.citations
        ],
        "abstained": grounding.abstained,
        "best_similarity": None if (best := grounding.best_similarity) is None else float(best),
        "extra": {k: v for k, v in grounding.extra.items() if _plain(v)},
    }


def _plain(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def serve(directory: Path) -> int:
    from ember.knowledge import KnowledgeBase

    out = _protocol_stream()
    kb = KnowledgeBase(directory)
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                request = json.loads(line)
                if request.get("op") == "warm":
                    kb.embedder.embed_query("warm up")
                    _send(out, {"ok": True})
                elif request.get("op") == "retrieve":
                    grounding = kb.retrieve(request["question"], request.get("collections"))
                    _send(out, {"ok": True, "grounding": _grounding_json(grounding)})
                else:
                    _send(out, {"ok": False, "message": f"unknown request {request!r}"})
            except Exception as exc:  # answered, and the helper keeps serving
                _send(out, {"ok": False, "message": _error_message(exc)})
    finally:
        kb.close()
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("index", "serve"):
        print("usage: python -m ember.ui.knowledge_child index|serve DIRECTORY", file=sys.stderr)
        return 2
    import ember  # noqa: F401  (sets the offline switches before any Hugging Face import)

    directory = Path(argv[1])
    return run_index(directory) if argv[0] == "index" else serve(directory)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
