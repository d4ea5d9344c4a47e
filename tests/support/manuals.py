"""Real manuals no one here wrote, fetched by ``make setup`` (``scripts/fetch_manuals.sh``).

``manual("R-exts")`` is the path of R's "Writing R Extensions" (236 pages, Debian's
``r-doc-pdf``). Where the manuals were not fetched (no apt-get), a test that needs one skips;
under ``CI=true`` it fails instead, since CI runs ``make setup``, which fetches them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

MANUALS = Path(os.environ.get("EMBER_MANUALS", Path.home() / ".cache" / "ember" / "manuals"))


def manual(name: str) -> Path:
    """The path of the R manual ``name`` ("R-exts", "R-intro", "R-admin", "R-lang", "R-data",
    "R-ints", "R-FAQ"); skips the test (fails it under CI) where it was not fetched."""
    path = MANUALS / f"{name}.pdf"
    if not path.is_file():
        reason = f"{path} is missing: run `make setup` (scripts/fetch_manuals.sh)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path
