"""Drive Ember end to end in one process and report the sockets it listened on.

``python -m tests.support.offline_run FOLDER`` indexes FOLDER (real MiniLM), asks a question with
sources through the Assistant and the embedded model, then shows the main window offscreen for
two seconds (its background start-up included) and closes it. While it runs, a thread samples
``/proc/net/tcp*`` for listening sockets owned by this process. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path


def my_socket_inodes() -> set[str]:
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def listening(inodes: set[str]) -> list[str]:
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            state, inode = fields[3], fields[9]
            # TCP LISTEN is 0A; any bound UDP socket (07) receives from the network.
            if inode in inodes and (state == "0A" or table.startswith("/proc/net/udp")):
                found.append(f"{table} {fields[1]}")
    return found


def main(folder: str) -> int:
    seen: set[str] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.update(listening(my_socket_inodes()))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.perf_counter()

    from ember.assistant import Assistant, ReplyDone
    from ember.catalog import default_model
    from ember.chats.store import ChatStore
    from ember.config import Settings
    from ember.engines import EngineSpec, create_engine
    from ember.knowledge import KnowledgeBase

    result: dict[str, object] = {}
    with KnowledgeBase() as kb:
        report = kb.index([Path(folder)], "manuals")
        result["indexed"] = report.indexed
        result["failed"] = [f.reason for f in report.failed]
        engine = create_engine(EngineSpec("llama.cpp", default_model().path, n_ctx=2048))
        settings = Settings(temperature=0.0, seed=7, max_tokens=32, n_ctx=2048)
        with ChatStore.default() as store:
            chat = store.create(collections=["manuals"])
            assistant = Assistant(engine, store, settings, retriever=kb)
            question = "How long does the Aurora kettle take to switch itself off?"
            done = [e for e in assistant.send(chat.id, question) if isinstance(e, ReplyDone)]
            result["answer"] = done[0].message.content
            result["sources"] = [Path(c.source).name for c in done[0].message.citations]
        engine.close()
    result["ask_s"] = time.perf_counter() - started

    from ember.ui.app import create_application, create_window, shutdown_window
    from ember.ui.qt import QApplication, QTimer

    app = create_application(["ember"])
    window = create_window()
    window.show()  # type: ignore[attr-defined]
    QTimer.singleShot(2000, window.close)  # type: ignore[attr-defined]
    QTimer.singleShot(2100, app.quit)  # type: ignore[attr-defined]
    assert isinstance(app, QApplication)
    app.exec()
    shutdown_window(window)
    result["window_shown"] = True
    stop.set()
    watcher.join()
    result["listening"] = sorted(seen)
    result["elapsed_s"] = time.perf_counter() - started
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
