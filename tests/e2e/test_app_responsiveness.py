"""The window keeps answering while a long answer streams and while documents index.

Integration tests: the real window in this process (pytest-qt), the real model and embedder.

A heartbeat timer on the GUI thread (``StallProbe``, every 10 ms) measures the worst gap between
its ticks: the longest the event loop went without running. The goal is 50 ms (what a person
notices; ``benchmarks/ui.py`` measures against it). The assertion is ``STALL_BOUND_MS``: a busy
2-core machine stays well under it, work done on the GUI thread (a model load, an embedding, a
re-render of the whole answer per token) does not, and the first test below proves that a
blocked loop breaks it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ember.ui.probe import StallProbe
from ember.ui.qt import QTimer
from tests.support.ui_app import (
    ANSWER_TIMEOUT_MS,
    close_window,
    deterministic_settings,
    open_window,
)

pytestmark = [pytest.mark.slow, pytest.mark.integration]

# Five times the 50 ms goal: the scheduler of a shared 2-core box pauses a process for tens of
# milliseconds (61 and 73 ms measured at load 2-3), never for a quarter of a second; GUI-thread
# work shows as hundreds of milliseconds or seconds.
STALL_BOUND_MS = 250


def worst_stall(qtbot, probe: StallProbe) -> float:  # type: ignore[no-untyped-def]
    """Stop ``probe`` and return its worst stall in ms, after two more ticks: a stall that has
    just ended is only measured by the tick that follows it."""
    ticks = probe.ticks
    qtbot.waitUntil(lambda: probe.ticks >= ticks + 2, timeout=5000)
    return probe.stop()


def test_the_probe_sees_a_blocked_event_loop(qtbot) -> None:
    """The measure itself: 400 ms of work on the GUI thread is a 400 ms stall, over the bound."""
    probe = StallProbe()
    probe.start()
    blocked: list[bool] = []
    QTimer.singleShot(50, lambda: (time.sleep(0.4), blocked.append(True)))
    qtbot.waitUntil(lambda: bool(blocked), timeout=5000)
    worst = worst_stall(qtbot, probe)
    assert 390 <= worst < 2000
    assert worst > STALL_BOUND_MS


@pytest.fixture
def window(qtbot):
    win = open_window(qtbot, deterministic_settings(max_tokens=300, temperature=0.8))
    yield win
    close_window(win)


def test_streaming_a_long_answer_leaves_the_window_responsive(qtbot, window) -> None:
    probe = StallProbe()
    probe.start()
    window.send("Write a long, detailed story about a lighthouse keeper and a storm.")
    # 300 tokens take ~5 s on an idle machine, but a CI box shared with other jobs can be 20x
    # slower; a timeout here would leave a worker generating into the next test.
    qtbot.waitUntil(lambda: window.generation is None, timeout=3 * ANSWER_TIMEOUT_MS)
    worst = worst_stall(qtbot, probe)
    answer = [b for b in window.chat.bubbles if b.data.role == "assistant"][-1]
    tokens = answer.data.completion_tokens or 0
    print(f"\nworst event-loop stall while streaming {tokens} tokens: {worst:.1f} ms")
    assert tokens > 50
    assert worst < STALL_BOUND_MS


def test_indexing_files_leaves_the_window_responsive(qtbot, window, tmp_path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(12):
        body = "\n\n".join(
            f"Note {i}.{j}: the {j}th observation about topic {i} mentions bridges, rivers and tides."
            for j in range(20)
        )
        (folder / f"note{i:02}.md").write_text(f"# Topic {i}\n\n{body}\n", encoding="utf-8")
    probe = StallProbe()
    probe.start()
    window.index_documents([Path(folder)], "notes")
    qtbot.waitUntil(lambda: window.indexing is None, timeout=240_000)
    worst = worst_stall(qtbot, probe)
    result = window.last_index_result
    print(f"\nworst event-loop stall while indexing {result.indexed} files: {worst:.1f} ms")
    assert result.indexed == 12
    assert worst < STALL_BOUND_MS
