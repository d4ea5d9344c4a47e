"""Sizes and durations as people read them: the one formatter of each for the window, the CLI,
the core's messages and the benchmarks.

Sizes use decimal units (1 KB = 1000 bytes, 1 GB = 10⁹ bytes), as download sites, model cards
and disk makers write them, so a model's size here matches the one on its hub page.
"""

from __future__ import annotations

_UNITS = ("KB", "MB", "GB", "TB")


def size_text(n_bytes: int | float) -> str:
    """A byte count for people: ``"0 B"``, ``"812 B"``, ``"640 KB"``, ``"12.4 MB"``,
    ``"1.9 GB"``: at most three significant figures (one decimal below 100 of a unit, none
    from 100 up); terabytes are the largest unit."""
    value = float(n_bytes)
    if abs(value) < 1000:
        return f"{value:.0f} B"
    for unit in _UNITS:
        value /= 1000
        if abs(value) < 999.5 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if abs(value) >= 99.95 else f"{value:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover (the loop returns)


def duration_text(seconds: float) -> str:
    """A duration for people, rounded to the second: ``"45 s"``, ``"3 min"`` (whole minutes,
    from 60 s), ``"1 h 12 min"`` (from an hour); a negative one reads ``"0 s"``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min"
