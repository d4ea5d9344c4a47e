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

from ember.files import sha256_file, shown_path
from ember.knowledge.store import DocumentRecord
from ember.knowledge.types import StaleSource

SourceState = Literal["ok", "deleted", "unavailable", "changed"]


# A file whose size is unchanged but whose time is newer (saved without edits, a `git checkout`,
# a sync client) is hashed when it is at most this big (~10 ms), and counts as unchanged if its
# content is; a bigger one counts as changed until it is indexed again.
_REHASH_MAX_BYTES = 8 * 1024 * 1024


def source_state(
    path: str, size: int | None, mtime_ns: int | None, content_hash: str | None = None
) -> SourceState:
    """Whether the file at ``path`` is still what was indexed.

    "deleted": it is gone from a folder that is still there. "unavailable": it cannot be looked
    at now (its folder is gone too, as when a drive is unplugged, or permission is refused).
    "changed": its size in bytes or modification time in nanoseconds differ from those recorded
    (``None``: nothing recorded, counts as unchanged), unless only the time differs and the
    content still has the recorded SHA-256 ``content_hash`` (checked up to 8 MiB). Else "ok".
    """
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return "deleted" if os.path.isdir(os.path.dirname(path)) else "unavailable"
    except OSError:
        return "unavailable"
    if size is not None and st.st_size != size:
        return "changed"
    if mtime_ns is not None and st.st_mtime_ns != mtime_ns:
        if content_hash is None or st.st_size > _REHASH_MAX_BYTES:
            return "changed"
        try:
            return "ok" if sha256_file(path) == content_hash else "changed"
        except OSError:
            return "unavailable"
    return "ok"


def listed_state(record: DocumentRecord) -> str:
    """A document's state as a list shows it: "skipped" for a file indexing passed over, and
    for a finished one whose file went or changed since, that ("deleted", ...), else its state."""
    if record.skipped:
        return "skipped"
    if record.state == "done":
        state = source_state(record.path, record.size, record.mtime_ns, record.content_hash)
        if state != "ok":
            return state
    return record.state


def stale_note(stale: Sequence[StaleSource]) -> str:
    """One sentence naming the files left out of a search or an answer and how to update."""
    if not stale:
        return ""
    parts = [f"{shown_path(Path(s.path).name)} ({s.state} since it was indexed)" for s in stale]
    return (
        f"Left out: {', '.join(parts)}. Update the index to bring your documents up to date "
        "(`ember docs reindex`, or Update index in the window)."
    )
