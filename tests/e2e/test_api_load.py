"""The window serving the local API under load: 32 streaming clients for 60 seconds.

An integration test (the real window in this process, its real model) with the load from
another process (``tests/support/api_load.py``: the official ``openai`` async client, 32
clients, every fourth request abandoned after two chunks). Checked: every request completes or
is cancelled by its client, none fails, none carries another's tokens, no id is reused; the
window's memory stays flat; and its event loop keeps running (the ``StallProbe`` bound of the
other responsiveness tests, whose goal is 50 ms).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ember.api.config import api_key
from ember.ui.probe import StallProbe
from ember.ui.qt import QTimer
from tests.e2e.test_app_api import free_port
from tests.e2e.test_app_responsiveness import STALL_BOUND_MS, worst_stall
from tests.support.children import REPO_ROOT, child_env
from tests.support.ui_app import close_window, deterministic_settings, open_window

pytestmark = [pytest.mark.slow, pytest.mark.integration]

CLIENTS = 32
SECONDS = 60
# Memory the window may gain between the load's first quarter (caches warm) and its end.
GROWTH_LIMIT_MB = 64


def _rss_mb() -> float:
    """This process's resident memory, in MiB (Linux /proc)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_32_streaming_clients_for_a_minute_lose_nothing_and_never_stall_the_window(qtbot) -> None:
    port = free_port()
    window = open_window(qtbot, deterministic_settings(api_enabled=True, api_port=port))
    try:
        qtbot.waitUntil(lambda: window.api.url is not None, timeout=60_000)
        memory: list[float] = [_rss_mb()]
        sampler = QTimer()
        sampler.timeout.connect(lambda: memory.append(_rss_mb()))
        sampler.start(SECONDS * 1000 // 12)
        probe = StallProbe()
        probe.start()
        load = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.api_load",
                window.api.url,
                api_key(window.core.paths),
                "--clients",
                str(CLIENTS),
                "--seconds",
                str(SECONDS),
            ],
            cwd=REPO_ROOT,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            qtbot.waitUntil(lambda: load.poll() is not None, timeout=(SECONDS + 240) * 1000)
        finally:
            if load.poll() is None:
                load.kill()
        out, err = load.communicate()
        worst = worst_stall(qtbot, probe)
        sampler.stop()
        memory.append(_rss_mb())
    finally:
        close_window(window)
    assert load.returncode == 0, err[-3000:]
    result = json.loads(out.strip().splitlines()[-1])
    print(
        f"\n{CLIENTS} clients, {result['seconds']} s: {result['completed']} completed, "
        f"{result['cancelled']} cancelled by their client; worst stall {worst:.1f} ms "
        f"({probe.over_goal} over 50 ms); memory {memory[0]:.0f} -> {memory[-1]:.0f} MiB"
    )
    assert result["failed"] == 0, result["errors"]
    assert result["mismatched"] == 0, result["errors"]
    assert result["duplicate_ids"] == []
    assert result["completed"] >= CLIENTS and result["cancelled"] > 0
    warm = memory[len(memory) // 4]
    assert max(memory[len(memory) // 4 :]) - warm < GROWTH_LIMIT_MB, memory
    assert worst < STALL_BOUND_MS
