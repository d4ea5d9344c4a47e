"""Desktop app benchmark: event-loop stalls while streaming and indexing, and start-up time.

    python benchmarks/ui.py [--quick]

* ``stall_streaming_ms``: worst gap (beyond a 10 ms timer's period) in the GUI event loop while the
  embedded model streams ~300 tokens into the real window.
* ``stall_indexing_ms``: the same while the real window indexes a folder of notes (cold: it
  includes loading torch and the embedder on the worker).
* ``startup_ratio``: process start -> window shown, Ember vs a bare PySide6 window, both run as
  subprocesses in this run (median of several runs each); the goal is <= 2.

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

BARE_WINDOW = """
import json, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
window = QMainWindow()
window.resize(1180, 780)
window.show()
def report():
    print(json.dumps({"shown_at": time.time()}), flush=True)
    window.close()
QTimer.singleShot(0, report)
app.exec()
"""

EMBER_WINDOW = "import sys; from ember.ui.app import run_app; sys.exit(run_app([]))"


def _time_to_window(code: str, home: Path) -> float:
    env = {**os.environ, "EMBER_HOME": str(home), "EMBER_STARTUP_PROBE": "1"}
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise SystemExit(f"window process failed: {done.stderr[-2000:]}")
    line = [x for x in done.stdout.splitlines() if x.startswith("{")][-1]
    return json.loads(line)["shown_at"] - started


def measure_startup(runs: int, home: Path) -> tuple[float, float, list[str]]:
    _time_to_window(EMBER_WINDOW, home)  # first run creates the data folder and warms caches
    bare = [_time_to_window(BARE_WINDOW, home) for _ in range(runs)]
    ember = [_time_to_window(EMBER_WINDOW, home) for _ in range(runs)]
    env = {**os.environ, "EMBER_HOME": str(home), "EMBER_STARTUP_PROBE": "1"}
    probe = subprocess.run(
        [sys.executable, "-c", EMBER_WINDOW], env=env, capture_output=True, text=True, timeout=120
    )
    heavy = json.loads(probe.stdout.strip().splitlines()[-1])["heavy"]
    return statistics.median(bare), statistics.median(ember), heavy


def _wait(app, condition, timeout_s: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("benchmark step timed out")
        app.processEvents()
        time.sleep(0.002)


def measure_stalls(tokens: int, files: int, home: Path) -> dict[str, float]:
    os.environ["EMBER_HOME"] = str(home)
    from ember.config import Settings, save_settings
    from ember.ui.app import create_application, create_window, shutdown_window
    from ember.ui.probe import StallProbe

    save_settings(Settings(temperature=0.8, seed=3, max_tokens=tokens, context_size=2048))
    app = create_application()
    window = create_window()
    window.show()
    _wait(app, lambda: window.services.loaded is not None and not window.model_loading, 120)

    probe = StallProbe()
    probe.start()
    window.send("Write a long, detailed story about a lighthouse keeper and a storm.")
    _wait(app, lambda: window.generation is None, 300)
    stall_streaming = probe.stop()
    answer = [b for b in window.chat.bubbles if b.data.role == "assistant"][-1]
    streamed = answer.data.completion_tokens or 0
    tokens_per_s = answer.data.tokens_per_s or 0.0

    folder = home.parent / "notes"  # outside EMBER_HOME: Ember never indexes its own data
    folder.mkdir(exist_ok=True)
    for i in range(files):
        body = "\n\n".join(
            f"Note {i}.{j}: observation {j} on topic {i} mentions bridges, rivers and tides."
            for j in range(20)
        )
        (folder / f"note{i:03}.md").write_text(f"# Topic {i}\n\n{body}\n", encoding="utf-8")
    probe.start()
    started = time.perf_counter()
    window.index_documents([folder], "notes")
    _wait(app, lambda: window.indexing is None, 600)
    stall_indexing = probe.stop()
    index_s = time.perf_counter() - started
    result = window.last_index_result
    window.close()
    shutdown_window(window)
    return {
        "stall_streaming_ms": round(stall_streaming, 1),
        "streamed_tokens": streamed,
        "tokens_per_s": round(tokens_per_s, 1),
        "stall_indexing_ms": round(stall_indexing, 1),
        "indexed_files": result.files_indexed if result else 0,
        "indexed_chunks": result.chunks if result else 0,
        "index_s": round(index_s, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (about a minute)")
    args = parser.parse_args(argv)
    runs = 3 if args.quick else 7
    files = 12 if args.quick else 40
    with tempfile.TemporaryDirectory(prefix="ember-bench-ui-") as tmp:
        bare_s, ember_s, heavy = measure_startup(runs, Path(tmp) / "startup")
        stalls = measure_stalls(300, files, Path(tmp) / "stalls")
    results = {
        **stalls,
        "startup_bare_s": round(bare_s, 3),
        "startup_ember_s": round(ember_s, 3),
        "startup_ratio": round(ember_s / bare_s, 2),
        "heavy_modules_at_window": heavy,
        "quick": args.quick,
    }
    rows = [
        (
            "worst stall while streaming",
            f"{results['stall_streaming_ms']} ms",
            f"{results['streamed_tokens']} tokens at {results['tokens_per_s']} tok/s",
        ),
        (
            "worst stall while indexing",
            f"{results['stall_indexing_ms']} ms",
            f"{results['indexed_files']} files, {results['indexed_chunks']} chunks in "
            f"{results['index_s']} s (cold: loads the embedder)",
        ),
        ("window shown, bare PySide6", f"{results['startup_bare_s']} s", f"median of {runs}"),
        ("window shown, Ember", f"{results['startup_ember_s']} s", f"median of {runs}"),
        ("start-up ratio", f"{results['startup_ratio']}x", "goal <= 2x"),
        ("heavy modules at window", ", ".join(heavy) or "none", "torch, llama_cpp, faiss, ..."),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>12}  {note}")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
