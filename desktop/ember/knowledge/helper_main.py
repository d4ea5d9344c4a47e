"""The knowledge helper process (``python -m ember.knowledge.helper_main``); see
:mod:`ember.knowledge.helper` for why it exists. No Qt here.

``index DIRECTORY`` reads one request frame (``{"paths": [...], "collection": "...", "again":
false}``; ``again``: index them anew, see ``KnowledgeBase.redo``), then
writes ``{"event": "progress", "progress": {...}}`` frames and one ``{"event": "result", "report":
{...}}`` frame (or ``{"event": "error", "message": ...}``). A ``{"op": "cancel"}`` frame, or its
input closing (the app went away), stops the run between batches; everything finished so far
stays indexed.

``serve DIRECTORY`` answers request frames until its input closes: ``{"op": "warm"}`` loads the
embedder; ``{"op": "retrieve", "question": ..., "collections": ...}`` answers ``{"ok": true,
"grounding": {...}}``; ``{"op": "embed", "texts": [...]}`` answers ``{"ok": true, "vectors":
BASE64, "dimension": N, "tokens": [...]}`` (little-endian float32 rows, the tokens of each text);
failures answer ``{"ok": false, "message": ...}`` and it keeps serving.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ember import ipc  # importing ember also sets the offline switches (HF_HUB_OFFLINE)

if TYPE_CHECKING:
    from ember.knowledge.embedder import Embedder


def _be_nice() -> None:
    """Indexing is background work: on a busy machine the window and answers come first."""
    if hasattr(os, "nice"):
        os.nice(5)


def _error_message(exc: BaseException) -> str:
    from ember.errors import EmberError

    return str(exc) if isinstance(exc, EmberError) else f"{type(exc).__name__}: {exc}"


def run_index(directory: Path, out: BinaryIO) -> int:
    """*child* Index the first request's ``paths`` into its ``collection`` in ``directory``.

    Sends progress frames, then the result or an error, to ``out``; a cancel frame or the end of
    input stops the run between batches. Returns the exit status: 0, or 1 after an error.
    """
    from ember.cancel import CancelToken
    from ember.knowledge import KnowledgeBase
    from ember.knowledge.helper import report_to_json

    incoming = ipc.requests()
    request = next(incoming, None) or {}
    cancel = CancelToken()

    def watch_input() -> None:
        # A cancel frame or end of input (the app closed or died): stop between batches.
        for message in incoming:
            if message.get("op") == "cancel":
                break
        cancel.cancel()

    threading.Thread(target=watch_input, name="ember-cancel", daemon=True).start()
    _be_nice()

    def progress(event: object) -> None:
        ipc.send(out, {"event": "progress", "progress": dataclasses.asdict(event)})  # type: ignore[call-overload]

    try:
        with KnowledgeBase(directory) as kb:
            paths = [Path(p) for p in request["paths"]]
            if request.get("again"):
                report = kb.redo(paths, request["collection"], progress=progress, cancel=cancel)
            else:
                watched = bool(request.get("watched"))
                report = kb.index(
                    paths, request["collection"], progress=progress, cancel=cancel, watched=watched
                )
    except Exception as exc:  # reported to the app, which shows it to the person
        ipc.send(out, {"event": "error", "message": _error_message(exc)})
        return 1
    ipc.send(out, {"event": "result", "report": report_to_json(report)})
    return 0


def serve(directory: Path, out: BinaryIO) -> int:
    """*child* Answer ``warm`` and ``retrieve`` requests on ``directory`` until input ends.

    A failed request is answered with ``ok`` false and the helper keeps serving. Returns 0.
    """
    from ember.knowledge import KnowledgeBase
    from ember.knowledge.helper import grounding_to_json

    kb = KnowledgeBase(directory)
    try:
        for request in ipc.requests():
            try:
                if request.get("op") == "warm":
                    kb.embedder.embed_query("warm up")
                    ipc.send(out, {"ok": True})
                elif request.get("op") == "embed":
                    ipc.send(out, _embedded(kb.embedder, request["texts"]))
                elif request.get("op") == "retrieve":
                    grounding = kb.retrieve(request["question"], request.get("collections"))
                    ipc.send(out, {"ok": True, "grounding": grounding_to_json(grounding)})
                else:
                    ipc.send(out, {"ok": False, "message": f"unknown request {request!r}"})
            except Exception as exc:  # answered, and the helper keeps serving
                ipc.send(out, {"ok": False, "message": _error_message(exc)})
    finally:
        kb.close()
    return 0


def _embedded(embedder: Embedder, texts: list[str]) -> dict[str, object]:
    """The ``embed`` answer: ``texts`` as base64 little-endian float32 rows, and their tokens."""
    import base64

    vectors = embedder.embed(texts).astype("<f4", copy=False)
    return {
        "ok": True,
        "vectors": base64.b64encode(vectors.tobytes()).decode("ascii"),
        "dimension": embedder.dimension,
        "tokens": embedder.count_tokens(texts),
    }


def main(argv: list[str]) -> int:
    """``index DIRECTORY`` or ``serve DIRECTORY``; returns the exit status (2 for bad arguments)."""
    if len(argv) != 2 or argv[0] not in ("index", "serve"):
        print("usage: python -m ember.knowledge.helper_main index|serve DIRECTORY", file=sys.stderr)
        return 2
    out = ipc.protocol_stream()
    with out:
        directory = Path(argv[1])
        return run_index(directory, out) if argv[0] == "index" else serve(directory, out)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
