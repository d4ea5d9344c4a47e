"""The documents page's "Import from GPT4All…": GPT4All's LocalDocs collections become Ember
collections with the same folders, then (when the person agrees) indexed one after another.

:class:`~ember.ui.documents_admin.DocumentsAdmin` runs :func:`run` on the knowledge worker like
any other change of the page, then hands the result to :func:`offer_index`; indexing goes
through the documents controller's queue, each collection's run showing its progress.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ember.ui import message
from ember.ui.qt import QFileDialog, QWidget

if TYPE_CHECKING:
    from ember.core import Core
    from ember.knowledge.gpt4all_import import LocalDocsCollection


def database(parent: QWidget) -> Path | None:
    """GPT4All's own LocalDocs database, else one the person picks (None: they cancelled)."""
    from ember.knowledge.gpt4all_import import find_database

    found = find_database()
    if found is not None:
        return found
    chosen, _ = QFileDialog.getOpenFileName(
        parent,
        "GPT4All's LocalDocs database",
        str(Path.home()),
        "LocalDocs database (localdocs_v*.db)",
    )
    return Path(chosen) if chosen else None


def run(core: Core, db: Path) -> list[LocalDocsCollection]:
    """*worker* Read ``db`` and make its collections, holding the writer's lock only for this
    (:meth:`Core.writing`)."""
    from ember.knowledge.gpt4all_import import import_collections, read_collections

    found = read_collections(db)
    with core.writing() as kb:
        import_collections(kb, found)
    return found


def offer_index(
    found: list[LocalDocsCollection],
    show: Callable[[str], None],
    index: Callable[..., object],
) -> None:
    """Say what was imported, ``show`` the first collection made, and ask whether to ``index``
    the collections now (``index([], name, again=True)``: their folders, see
    :meth:`~ember.knowledge.KnowledgeBase.redo`)."""
    made = [c for c in found if c.present]
    if not made:
        message.warning(
            "Import from GPT4All",
            "GPT4All's LocalDocs has no collection whose folders are on this computer."
            if found
            else "GPT4All's LocalDocs has no collections.",
        )
        return
    lost = sum(len(c.missing) for c in found)
    show(made[0].name)
    names = ", ".join(f"“{c.name}”" for c in made)

    def index_them() -> None:
        for collection in made:  # one run each, queued behind any run going on
            index([], collection.name, again=True)

    message.ask(
        message.Question(
            "ImportGpt4allQuestion",
            "Import from GPT4All",
            f"Made {len(made)} collection(s) from GPT4All's LocalDocs: {names}. "
            "Index their folders now?",
            detail=f"{lost} folder(s) not on this computer were left out." if lost else "",
            yes="Index now",
            no="Later",
            on_yes=index_them,
        )
    )
