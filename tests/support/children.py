"""Running test helpers as child processes of the suite (same interpreter, this checkout)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python running test helpers from this checkout."""
    # desktop/ too: an editable install may point at another checkout of ember.
    path = os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "desktop")])
    return {**os.environ, "PYTHONPATH": path, **extra}


def python(*args: str, timeout: float = 120, **extra_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=child_env(**extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
