"""Finding the processes a test started, by a marker on their command line."""

from __future__ import annotations

from pathlib import Path


def pids_with(marker: str) -> list[int]:
    """The processes whose command line (``/proc/<pid>/cmdline``) holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def wait_for_pids(marker: str, timeout_s: float = 30.0) -> list[int]:
    """:func:`pids_with` once it finds any, polling up to ``timeout_s`` ([] if none came)."""
    import time

    deadline = time.monotonic() + timeout_s
    while not (found := pids_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found
