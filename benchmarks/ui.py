"""Desktop app benchmark: event-loop stalls while streaming and indexing, and start-up time.

    python benchmarks/ui.py [--quick] [--busy] [--download]

* ``stall_streaming_ms``: worst gap (beyond a 10 ms timer's period) in the GUI event loop while the
  embedded model streams ~300 tokens into the real window.
* ``stall_indexing_ms``: the same while the real window indexes ~200 small notes (cold: the
  indexing helper process imports torch and loads the embedder).
* ``stall_asking_ms``: the same for the first question grounded in those notes (retrieval, and
  loading the embedder in the retrieval helper if it is not warm yet).
* ``stall_locked_history_ms``: the same while sending a message with another process holding the
  chat history's write lock for 5 s (``BEGIN IMMEDIATE`` in a child process): the history is
  written off the GUI thread, so the answer waits, not the window.
* ``stall_downloading_ms``: the same while the real window downloads Gemma 3 270M (~250 MB) from
  a loopback Hugging Face Hub (``tests/support/hf_hub_server.py``, through ``HF_ENDPOINT``, capped
  at 50 MB/s so it lasts about 5 s) with the Models page open, drawing the download's progress row; ``download_s`` how long it took
  (fetch, sha256, registration).
* ``stall_opening_history_ms``: the worst stall from ``show()`` until the window has filled in
  with a large chat history (~200 MB, warm in the page cache; opening checks every page), next to
  ``stall_first_paint_ms``, the same with an empty history: the difference is what opening costs
  the GUI thread (it opens in a worker).
* ``viewer_open_ms``: a source chip clicked -> the cited page of a 349-page PDF (R's "Writing R
  Extensions" and "An Introduction to R" joined) painted in the source viewer with its passage
  highlighted; median over chips citing pages spread through the file (``viewer_open_first_ms``:
  the first, which imports QtPdf); ``stall_viewer_ms``: the worst stall meanwhile. Goals: 300 ms
  and 50 ms. Needs the manuals ``make setup`` fetches (left out without them).
* ``startup_ratio``: process start -> first paint of the window, Ember vs a bare PySide6 window,
  both run as subprocesses in this run, alternating (median ratio of the pairs); goal <= 2.
  ``startup_cpu_ratio`` is the same for CPU seconds used by then (steadier on a busy machine).
  The start-up processes may write ``__pycache__`` (an installed app has compiled bytecode).

``--download`` measures only ``stall_downloading_ms`` (a fresh window; about half a minute).

``--busy`` runs two CPU-bound processes beside the app (bounded in time, killed at the end) and
measures only the streaming, indexing, asking and locked-history stalls.

The goal for every stall is 50 ms; ``stalls_over_50ms_*`` counts how often it was missed. The
machine's load average is printed: on a shared machine every number here moves with it.

Prints a table, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Both windows report the wall-clock time of their first paint (the moment pixels exist), not of
# the first event-loop turn, which comes before any paint.
BARE_WINDOW = """
import json, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
window = QMainWindow()
window.resize(1180, 780)
class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            window.removeEventFilter(self)
            print(json.dumps({"shown_at": time.time(), "cpu_s": time.process_time()}), flush=True)
            QTimer.singleShot(0, window.close)
        return False
spy = FirstPaint(window)
window.installEventFilter(spy)
window.show()
app.exec()
"""

EMBER_WINDOW = "import sys; from ember.ui.app import run_app; sys.exit(run_app([]))"


def _startup_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "EMBER_HOME": str(home), "EMBER_STARTUP_PROBE": "1"}
    # An installed app has its bytecode compiled (pip does it); a development shell often sets
    # PYTHONDONTWRITEBYTECODE, which would recompile every Ember module on every run but none of
    # PySide6's, so the warm-up run may write ``__pycache__`` like an install would.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _time_to_window(code: str, home: Path) -> tuple[float, float]:
    """Wall-clock seconds from spawning the process to the window's first paint, and the CPU
    seconds the process had used by then (less sensitive to other processes' load)."""
    env = _startup_env(home)
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise SystemExit(f"window process failed: {done.stderr[-2000:]}")
    line = json.loads([x for x in done.stdout.splitlines() if x.startswith("{")][-1])
    return line["shown_at"] - started, line["cpu_s"]


def measure_startup(runs: int, home: Path) -> dict[str, object]:
    """Median bare and Ember times to first paint, and the median ratio of back-to-back pairs
    (each pair shares the machine's load of the moment); the same for CPU time."""
    _time_to_window(EMBER_WINDOW, home)  # first run creates the data folder and warms caches
    _time_to_window(BARE_WINDOW, home)
    bare, ember = [], []
    for _ in range(runs):
        bare.append(_time_to_window(BARE_WINDOW, home))
        ember.append(_time_to_window(EMBER_WINDOW, home))
    env = _startup_env(home)
    probe = subprocess.run(
        [sys.executable, "-c", EMBER_WINDOW], env=env, capture_output=True, text=True, timeout=120
    )
    median = statistics.median
    return {
        "startup_bare_s": round(median(b[0] for b in bare), 3),
        "startup_ember_s": round(median(e[0] for e in ember), 3),
        "startup_ratio": round(median(e[0] / b[0] for b, e in zip(bare, ember, strict=True)), 2),
        "startup_cpu_ratio": round(
            median(e[1] / b[1] for b, e in zip(bare, ember, strict=True)), 2
        ),
        "startup_runs": runs,
        "heavy_modules_at_window": json.loads(probe.stdout.strip().splitlines()[-1])["heavy"],
    }


def _wait(app, condition, timeout_s: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"benchmark step timed out: {condition.__code__.co_firstlineno}")
        app.processEvents()
        time.sleep(0.002)


def _notes(folder: Path, files: int) -> None:
    """Small generated Markdown notes (outside EMBER_HOME: Ember never indexes its own data)."""
    folder.mkdir(exist_ok=True)
    for i in range(files):
        body = "\n\n".join(
            f"Note {i}.{j}: observation {j} on topic {i} mentions bridges, rivers and tides."
            for j in range(12)
        )
        (folder / f"note{i:03}.md").write_text(f"# Topic {i}\n\n{body}\n", encoding="utf-8")


def _large_history(home: Path, megabytes: int) -> None:
    """A chat history of about ``megabytes`` MB: chats of 50 messages of ~3 KB each."""
    from ember.chats.store import ChatStore
    from ember.paths import ember_paths

    text = "The lighthouse keeper logged the storm, the tides and the ships that passed. " * 40
    chats = max(1, megabytes * 1_000_000 * 2 // (50 * 3 * len(text)))  # with its search index
    with ChatStore(ember_paths().ensure().chats_db) as store:
        for number in range(chats):
            chat = store.create(f"Chat {number}")
            for turn in range(50):
                store.add_message(chat.id, "user" if turn % 2 == 0 else "assistant", text)


def measure_history_open(megabytes: int, home: Path) -> dict[str, object]:
    """Worst stall from show() to a filled-in window, with an empty and with a large history."""
    from ember.ui.app import create_application, create_window, shutdown_window
    from ember.ui.probe import StallProbe

    app = create_application()
    results: dict[str, object] = {}
    for name, size in (("stall_first_paint_ms", 0), ("stall_opening_history_ms", megabytes)):
        os.environ["EMBER_HOME"] = str(home / name)
        if size:
            _large_history(home / name, size)
            results["history_mb"] = round(
                sum(f.stat().st_size for f in (home / name).rglob("chats.sqlite3*")) / 1e6
            )
        window = create_window(start_background=False)
        probe = StallProbe()
        probe.start()
        started = time.perf_counter()
        window.show()
        _wait(app, lambda: window.started, 120)  # noqa: B023 (used before the loop moves on)
        filled_in_s = time.perf_counter() - started
        settle = time.monotonic() + 0.2  # the probe's next tick measures a stall that just ended
        _wait(app, lambda: time.monotonic() > settle, 5)  # noqa: B023
        results[name] = round(probe.stop(), 1)
        results[name.replace("stall_", "").replace("_ms", "_s")] = round(filled_in_s, 2)
        window.close()
        shutdown_window(window)
    return results


def _joined_manuals(path: Path) -> Path | None:
    """R-exts and R-intro in one PDF of 349 pages, or None where the manuals were not fetched."""
    import pypdfium2 as pdfium
    from tests.support.manuals import MANUALS

    parts = [MANUALS / "R-exts.pdf", MANUALS / "R-intro.pdf"]
    if not all(part.is_file() for part in parts):
        return None
    joined = pdfium.PdfDocument.new()
    for part in parts:
        source = pdfium.PdfDocument(str(part))
        joined.import_pages(source)
        source.close()
    joined.save(str(path))
    joined.close()
    return path


def measure_viewer(home: Path, chips: int = 8) -> dict[str, object]:
    """Click -> cited page painted with its highlight, on a 349-page PDF; worst stall meanwhile."""
    from tests.support.citations import cite, index_chunks

    from ember.chats.store import ChatStore
    from ember.ui.app import create_application, create_window, shutdown_window
    from ember.ui.probe import StallProbe
    from ember.ui.qt import QEvent, QObject, QToolButton

    home.mkdir(parents=True)
    pdf = _joined_manuals(home / "R-exts-and-R-intro.pdf")
    if pdf is None:
        return {"viewer_open_ms": None, "viewer_note": "R manuals not fetched (make setup)"}
    rows = index_chunks([pdf], home / "kb")
    pages = max(row.page or 0 for row in rows)
    picked = [rows[int(i * len(rows) / chips)] for i in range(chips)]
    os.environ["EMBER_HOME"] = str(home / "app")
    from ember.paths import ember_paths

    with ChatStore(ember_paths().ensure().chats_db) as store:
        chat = store.create("R manuals")
        answer = store.add_message(chat.id, "assistant", "See the manual.", model="benchmark")
        store.save_citations(answer.id, [cite(row, n) for n, row in enumerate(picked, 1)])
    app = create_application()
    window = create_window(start_background=False)
    window.resize(1280, 820)
    window.show()
    _wait(app, lambda: window.started, 60)
    window.open_conversation(chat.id)
    _wait(app, lambda: bool(window.chat.bubbles) and not window.chat_db.busy, 60)

    class Painted(QObject):
        count = 0

        def eventFilter(self, watched, event):  # type: ignore[no-untyped-def]
            if event.type() == QEvent.Type.Paint:
                self.count += 1
            return False

    painted = Painted()
    times: list[float] = []
    worst = 0.0
    probe = StallProbe()
    buttons = window.chat.bubbles[-1].sources_row.findChildren(QToolButton)
    for chip in buttons:
        probe.start()
        started = time.perf_counter()
        chip.click()
        viewer = window.source_viewer
        if not times:
            viewer.pdf_view.canvas.installEventFilter(painted)
        painted.count = 0
        _wait(app, lambda: viewer.location is not None and painted.count > 0, 60)  # noqa: B023
        times.append((time.perf_counter() - started) * 1000)
        settle = time.monotonic() + 0.1
        _wait(app, lambda: time.monotonic() > settle, 5)  # noqa: B023
        worst = max(worst, probe.stop())
        assert viewer.pdf_view.highlight_rects(), "no highlight"
        viewer.close_pane()
    window.close()
    shutdown_window(window)
    return {
        "viewer_open_ms": round(statistics.median(times[1:] or times), 1),
        "viewer_open_first_ms": round(times[0], 1),
        "viewer_open_max_ms": round(max(times), 1),
        "stall_viewer_ms": round(worst, 1),
        "viewer_pdf_pages": pages,
        "viewer_opens": len(times),
    }


LOCK_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""

CPU_BURNER = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass"


def _hold_write_lock(database: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding ``database``'s write lock for ``seconds`` (returns once held)."""
    child = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(database), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    if child.stdout.readline().strip() != "locked":
        child.kill()
        raise SystemExit("the lock-holding process did not take the lock")
    return child


def _send_while_locked(app, window, database: Path, seconds: float):  # type: ignore[no-untyped-def]
    """Send in a new chat while another process holds the history's write lock."""
    from ember.ui.probe import StallProbe

    window.new_chat()
    holder = _hold_write_lock(database, seconds)
    probe = StallProbe()
    probe.start()
    started = time.perf_counter()
    try:
        window.send("Say hello.")
        _wait(app, lambda: window.generation is None, 120)
    finally:
        holder.wait(seconds + 30)
    stall, over = probe.stop(), probe.over_goal
    return round(stall, 1), over, round(time.perf_counter() - started, 2)


def _download_in_window(app, window) -> tuple[float, int, float, str]:  # type: ignore[no-untyped-def]
    """Worst stall (ms) and stalls over the goal while the window downloads Gemma 3 270M from a
    loopback hub with the Models page open; seconds it took; the job's final state."""
    from tests.support.hf_hub_server import serve_real_models
    from tests.support.real_models import GEMMA3_REPO

    from ember.ui.probe import StallProbe

    hub = serve_real_models()
    # A fast real link's speed, so the download lasts about 5 s of progress events (uncapped,
    # loopback delivers the file in well under a second).
    hub.faults.rate_bps = 50_000_000
    os.environ["HF_ENDPOINT"] = hub.url
    try:
        page = window.models.open_hub()
        admin = window.models.hub
        _wait(app, lambda: admin.busy == 0, 60)
        admin.search(GEMMA3_REPO)  # owner/repo: that repository, opened at once
        _wait(app, lambda: admin.busy == 0 and page.repo is not None, 60)
        probe = StallProbe()
        probe.start()
        started = time.perf_counter()
        page.download_button.click()
        _wait(app, lambda: any(e.finished for e in admin.events.values()), 600)
        stall, over = probe.stop(), probe.over_goal
        took = time.perf_counter() - started
        state = next(e.state for e in admin.events.values() if e.finished)
        page.close()
    finally:
        hub.close()
        os.environ.pop("HF_ENDPOINT", None)
    return round(stall, 1), over, round(took, 2), state


def measure_downloading(home: Path) -> dict[str, object]:
    """Only ``stall_downloading_ms`` (``--download``): a fresh window, its model loaded."""
    os.environ["EMBER_HOME"] = str(home)
    from ember.ui.app import create_application, create_window, shutdown_window

    app = create_application()
    window = create_window()
    window.show()
    _wait(app, lambda: window.core.loaded is not None and not window.model_loading, 120)
    stall, over, took, state = _download_in_window(app, window)
    window.close()
    shutdown_window(window)
    return {
        "stall_downloading_ms": stall,
        "stalls_over_50ms_downloading": over,
        "download_s": took,
        "download_state": state,
    }


def measure_stalls(tokens: int, files: int, home: Path) -> dict[str, object]:
    os.environ["EMBER_HOME"] = str(home)
    from ember.config import Settings, save_settings
    from ember.ui.app import (
        create_application,
        create_window,
        heavy_modules_loaded,
        shutdown_window,
    )
    from ember.ui.probe import StallProbe

    save_settings(Settings(temperature=0.8, seed=3, max_tokens=tokens, n_ctx=2048))
    app = create_application()
    window = create_window()
    window.show()
    _wait(app, lambda: window.core.loaded is not None and not window.model_loading, 120)

    probe = StallProbe()
    probe.start()
    window.send("Write a long, detailed story about a lighthouse keeper and a storm.")
    _wait(app, lambda: window.generation is None, 300)
    stall_streaming, over_streaming = probe.stop(), probe.over_goal
    answer = [b for b in window.chat.bubbles if b.data.role == "assistant"][-1]
    streamed = answer.data.completion_tokens or 0
    tokens_per_s = answer.data.tokens_per_s or 0.0

    folder = home.parent / "notes"
    _notes(folder, files)
    probe.start()
    started = time.perf_counter()
    window.index_documents([folder], "notes")
    _wait(app, lambda: window.indexing is None, 600)
    stall_indexing, over_indexing = probe.stop(), probe.over_goal
    index_s = time.perf_counter() - started
    result = window.last_index_result

    # A question grounded in the notes, asked at once: retrieval (and, the first time, loading
    # the embedder) happens while the window must stay responsive.
    window.core.apply_settings(window.core.settings.model_copy(update={"max_tokens": 32}))
    window.new_chat()
    window.set_chat_collections(("notes",))
    probe.start()
    started = time.perf_counter()
    window.send("What does note 7 say about tides?")
    _wait(app, lambda: window.generation is None, 300)
    stall_asking, over_asking = probe.stop(), probe.over_goal
    ask_s = time.perf_counter() - started
    answer = [b for b in window.chat.bubbles if b.data.role == "assistant"][-1]
    asked_citations = len(answer.data.citations)

    # Another Ember (or any SQLite client) holding the chat history's write lock: sending must
    # not freeze the window while the history waits for it.
    database = window.core.paths.chats_db
    stall_locked, over_locked, locked_s = _send_while_locked(app, window, database, 5.0)
    stall_download, over_download, download_s, download_state = _download_in_window(app, window)
    heavy = heavy_modules_loaded()
    window.close()
    shutdown_window(window)
    return {
        "stall_streaming_ms": round(stall_streaming, 1),
        "stalls_over_50ms_streaming": over_streaming,
        "streamed_tokens": streamed,
        "tokens_per_s": round(tokens_per_s, 1),
        "stall_indexing_ms": round(stall_indexing, 1),
        "stalls_over_50ms_indexing": over_indexing,
        "indexed_files": result.indexed if result else 0,
        "indexed_chunks": result.chunks if result else 0,
        "index_s": round(index_s, 2),
        "stall_asking_ms": round(stall_asking, 1),
        "stalls_over_50ms_asking": over_asking,
        "ask_s": round(ask_s, 2),
        "asked_citations": asked_citations,
        "stall_locked_history_ms": stall_locked,
        "stalls_over_50ms_locked_history": over_locked,
        "locked_history_answer_s": locked_s,
        "stall_downloading_ms": stall_download,
        "stalls_over_50ms_downloading": over_download,
        "download_s": download_s,
        "download_state": download_state,
        "heavy_modules_in_gui_process": heavy,
    }


def _load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # not on this platform
        return []


def _burners(count: int, seconds: float) -> list[subprocess.Popen[bytes]]:
    """``count`` CPU-bound processes that stop by themselves after ``seconds`` at the latest."""
    code = CPU_BURNER.format(seconds=seconds)
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(count)]


def _stall_rows(r: dict[str, object]) -> list[tuple[str, str, str]]:
    return [
        (
            "worst stall while streaming",
            f"{r['stall_streaming_ms']} ms",
            f"{r['streamed_tokens']} tokens at {r['tokens_per_s']} tok/s; "
            f"{r['stalls_over_50ms_streaming']} stalls > 50 ms",
        ),
        (
            "worst stall while indexing",
            f"{r['stall_indexing_ms']} ms",
            f"{r['indexed_files']} files, {r['indexed_chunks']} chunks in {r['index_s']} s "
            f"(cold: the helper loads the embedder); {r['stalls_over_50ms_indexing']} > 50 ms",
        ),
        (
            "worst stall asking documents",
            f"{r['stall_asking_ms']} ms",
            f"first grounded question, {r['asked_citations']} sources, {r['ask_s']} s; "
            f"{r['stalls_over_50ms_asking']} > 50 ms",
        ),
        (
            "worst stall, history locked",
            f"{r['stall_locked_history_ms']} ms",
            "sending while another process holds the chat history's write lock for 5 s; "
            f"answered in {r['locked_history_answer_s']} s; "
            f"{r['stalls_over_50ms_locked_history']} > 50 ms",
        ),
        (
            "worst stall downloading",
            f"{r['stall_downloading_ms']} ms",
            f"Gemma 3 270M from a loopback hub, Models page open: {r['download_state']} in "
            f"{r['download_s']} s; {r['stalls_over_50ms_downloading']} > 50 ms",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (about a minute)")
    parser.add_argument(
        "--busy",
        action="store_true",
        help="only the stalls, with two CPU-bound processes running beside the app",
    )
    parser.add_argument(
        "--download",
        action="store_true",
        help="only the stall while the window downloads a model from a loopback hub",
    )
    args = parser.parse_args(argv)
    if args.download:
        with tempfile.TemporaryDirectory(prefix="ember-bench-ui-") as tmp:
            r = measure_downloading(Path(tmp) / "download")
        print(
            f"worst stall downloading  {r['stall_downloading_ms']:>8} ms  Gemma 3 270M from a "
            f"loopback hub: {r['download_state']} in {r['download_s']} s; "
            f"{r['stalls_over_50ms_downloading']} > 50 ms; load {' '.join(map(str, _load()))}"
        )
        print(json.dumps({**r, "cpus": os.cpu_count()}))
        return 0
    runs = 5 if args.quick else 9
    files = 30 if args.quick else 200
    tokens = 300
    load_before = _load()
    history: dict[str, object] = {}
    startup: dict[str, object] = {}
    burners: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="ember-bench-ui-") as tmp:
        if not args.busy:
            startup = measure_startup(runs, Path(tmp) / "startup")
            history = measure_history_open(40 if args.quick else 200, Path(tmp) / "history")
            history.update(measure_viewer(Path(tmp) / "viewer"))
        else:
            burners = _burners(2, 900)
        try:
            stalls = measure_stalls(tokens, files, Path(tmp) / "stalls")
        finally:
            load_after = _load()
            for burner in burners:
                burner.kill()
                burner.wait()
    results = {
        **stalls,
        **history,
        **startup,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "cpus": os.cpu_count(),
        "quick": args.quick,
        "busy": args.busy,
    }
    r = results
    rows = _stall_rows(r)
    if not args.busy:
        rows += [
            (
                "worst stall opening history",
                f"{r['stall_opening_history_ms']} ms",
                f"{r['history_mb']} MB of chats, filled in after {r['opening_history_s']} s; "
                f"empty history: {r['stall_first_paint_ms']} ms",
            ),
            (
                "source viewer opens",
                f"{r['viewer_open_ms']} ms",
                f"click -> cited page of a {r.get('viewer_pdf_pages')}-page PDF painted with "
                f"its highlight (median; first {r.get('viewer_open_first_ms')} ms); worst "
                f"stall {r.get('stall_viewer_ms')} ms; goals 300 / 50 ms",
            ),
            ("window painted, bare PySide6", f"{r['startup_bare_s']} s", f"median of {runs}"),
            ("window painted, Ember", f"{r['startup_ember_s']} s", f"median of {runs}"),
            ("start-up ratio", f"{r['startup_ratio']}x", "median of paired runs; goal <= 2x"),
            ("start-up CPU ratio", f"{r['startup_cpu_ratio']}x", "CPU seconds to first paint"),
            (
                "heavy modules at window",
                ", ".join(r["heavy_modules_at_window"]) or "none",  # type: ignore[arg-type]
                "torch, llama_cpp, faiss, ...",
            ),
        ]
    rows += [
        (
            "heavy modules in GUI process",
            ", ".join(r["heavy_modules_in_gui_process"]) or "none",  # type: ignore[arg-type]
            "after indexing and asking (llama_cpp belongs there)",
        ),
        (
            "load average (1/5/15 min)",
            " ".join(map(str, load_after)),
            f"before: {' '.join(map(str, load_before))}; {r['cpus']} CPUs"
            + ("; two CPU-bound processes beside the app" if args.busy else ""),
        ),
    ]
    width = max(len(row[0]) for row in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>14}  {note}")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support
    raise SystemExit(main())
