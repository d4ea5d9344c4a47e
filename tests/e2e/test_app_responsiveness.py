"""The window keeps answering while a long answer streams and while documents index.

The worst stall is printed (see ``benchmarks/ui.py`` for the numbers); the assertion is a very
generous bound that only a blocked event loop (work on the GUI thread) would break.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ember.ui.probe import StallProbe
from tests.support.ui_app import (
    ANSWER_TIMEOUT_MS,
    close_window,
    deterministic_settings,
    open_window,
)

pytestmark = pytest.mark.slow

# Far above the 50 ms goal: a shared 2-core CI box can pause any process for a while, but work
# done on the GUI thread (loading a model, embedding, a whole re-render per token) shows as seconds.
GENEROUS_BOUND_MS = 1500


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
    worst = probe.stop()
    answer = [b for b in window.chat.bubbles if b.data.role == "assistant"][-1]
    tokens = answer.data.completion_tokens or 0
    print(f"\nworst event-loop stall while streaming {tokens} tokens: {worst:.1f} ms")
    assert tokens > 50
    assert worst < GENEROUS_BOUND_MS


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
    worst = probe.stop()
    result = window.last_index_result
    print(f"\nworst event-loop stall while indexing {result.indexed} files: {worst:.1f} ms")
    assert result.indexed == 12
    assert worst < GENEROUS_BOUND_MS
