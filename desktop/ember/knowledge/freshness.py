"""Is an indexed file still the file that was indexed? Checked when an answer cites it.

Nothing watches the folders while Ember is closed, so a file deleted or edited since it was
indexed would still be searched and cited as it was (GPT4All #777: answers kept coming from a
deleted document). Comparing the file's size and modification time with what indexing recorded
costs one ``stat`` per cited file (microseconds), so every search checks, and a deleted or
changed file is left out of results and named, with the way to bring the index up to date.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from ember.files import shown_path
from ember.knowledge.types import StaleSource

SourceState = Literal["ok", "deleted", "changed"]


def source_state(path: str, size: int | None, mtime_ns: int | None) -> SourceState:
    """ "deleted" if ``path`` is gone (or cannot be looked at), "changed" if its size in bytes or
    modification time in nanoseconds differ from those recorded, else "ok". Nothing recorded
    (``None``) counts as unchanged."""
    try:
        st = os.stat(path)
    except OSError:
        return "deleted"
    if size is not None and st.st_size != size:
        return "changed"
    if mtime_ns is not None and st.st_mtime_ns != mtime_ns:
        return "changed"
    return "ok"


def stale_note(stale: Sequence[StaleSource]) -> str:
    """One sentence naming the files left out of a search or an answer and how to update."""
    if not stale:
        return ""
    parts = [f"{shown_path(Path(s.path).name)} ({s.state} since it was indexed)" for s in stale]
    return (
        f"Left out: {', '.join(parts)}. Update the index to bring your documents up to date "
        "(`ember docs reindex`, or Update index in the window)."
    )
