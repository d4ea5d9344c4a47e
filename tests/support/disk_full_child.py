"""Child process for the disk-full tests: write under a file-size limit, report what happened.

``python -m tests.support.disk_full_child LIMIT_BYTES index KB_DIR FOLDER`` indexes FOLDER into KB_DIR;
``... LIMIT_BYTES chat DB_PATH CONVERSATION_ID`` appends a long reply to a chat. ``RLIMIT_FSIZE`` makes
any write that would grow a file past LIMIT_BYTES fail with EFBIG (SIGXFSZ is ignored so the
write returns an error instead of killing the process), which is what a full disk looks like to
SQLite and FAISS. Prints one JSON line: ``{"error": type name or null, "message": str}``.
"""

from __future__ import annotations

import json
import resource
import signal
import sys
from pathlib import Path


def limit_writes(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def index(kb_dir: str, folder: str) -> None:
    import os

    from ember.knowledge import KnowledgeBase
    from tests.support.tiny_embedder import TinyEmbedder

    dimension = int(os.environ.get("EMBER_TEST_TINY_DIMENSION", "32"))
    embedder = TinyEmbedder(dimension=dimension)
    with KnowledgeBase(Path(kb_dir), embedder=embedder, checkpoint_s=0.0) as kb:
        kb.index([Path(folder)], "big")


def chat(db_path: str, conversation_id: str) -> None:
    from ember.chats.store import ChatStore

    with ChatStore(Path(db_path)) as store:
        writer = store.begin_reply(int(conversation_id))
        for number in range(200_000):
            writer.append(f"token {number} of a very long answer. ")
        writer.finish()


def main(argv: list[str]) -> int:
    limit, mode, *args = argv
    # Import everything heavy before the limit, so only the work's own writes are limited.
    import ember.chats.store
    import ember.knowledge.ingest  # noqa: F401

    limit_writes(int(limit))
    try:
        index(*args) if mode == "index" else chat(*args)
    except Exception as exc:  # the test asserts on the type and the message
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}), flush=True)
        return 1
    print(json.dumps({"error": None, "message": ""}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
