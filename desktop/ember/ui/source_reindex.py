"""The source viewer's "Re-index": index a cited file that changed since it was indexed again,
through the window's own indexing path (the path the answer's "Update index" link takes:
:meth:`ember.ui.documents.Documents.update_index`, with progress in the status bar).

A citation names its file, not its collection, so the collections holding the file are looked
up first on the knowledge worker; the chat's own collections come first among them. A file no
collection holds any more is said so.
"""

from __future__ import annotations

from typing import Any

from ember.files import shown_path
from ember.ui import message


def collections_holding(core: Any, path: str, preferred: tuple[str, ...] = ()) -> list[str]:
    """*worker* The collections whose documents include ``path``, those of ``preferred`` (the
    chat's) first; [] when nothing was ever indexed."""
    if not core.has_documents():
        return []
    found = sorted({r.collection for r in core.knowledge().documents() if r.path == path})
    return sorted(found, key=lambda name: name not in preferred)


def reindex_source(window: Any, path: str) -> None:
    """Index ``path`` again in the first collection that holds it (the chat's, where it does)."""
    from ember.knowledge.types import StaleSource

    preferred = tuple(window.conversations.collections)

    def indexed_in(names: list[str]) -> None:
        if not names:
            message.info(f"{shown_path(path)} is in no collection any more: add it to cite it.")
            return
        window.documents.update_index((StaleSource(path, "changed", names[0]),))

    window.tasks.run_on(
        window.tasks.knowledge,
        "find the source's collection",
        lambda _report: collections_holding(window.core, path, preferred),
        on_done=indexed_in,
        on_error=lambda error: message.error(
            "Could not index again", f"{shown_path(path)} could not be indexed again: {error}"
        ),
    )
