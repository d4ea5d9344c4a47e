"""The UI's binding to :class:`ember.knowledge.KnowledgeBase` (the one module that knows its API).

Runs on workers only. The GUI process itself only reads the catalogue (SQLite, no torch): indexing
and retrieval run in a helper process (:mod:`ember.ui.knowledge_process`), because importing
torch, loading MiniLM and some FAISS calls hold the GIL long enough to freeze the window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ember.cancel import CancelToken
from ember.config import Settings
from ember.paths import Paths
from ember.ui.services import CollectionInfo, IndexResult


def available() -> bool:
    import ember.knowledge as knowledge

    return hasattr(knowledge, "KnowledgeBase")


def open_knowledge(paths: Paths, settings: Settings) -> Any:
    from ember.knowledge import KnowledgeBase

    return KnowledgeBase(paths.knowledge_dir)


def retriever(paths: Paths) -> Any:
    """The assistant's Retriever (``retrieve(question, collections) -> Grounding``), answered by
    a helper process that keeps the embedder loaded."""
    from ember.ui.knowledge_process import RetrievalProcess

    return RetrievalProcess(paths.knowledge_dir)


def collections(kb: Any) -> list[CollectionInfo]:
    failures: dict[str, list[str]] = {}
    for record in kb.documents():
        if record.state == "failed":
            failures.setdefault(record.collection, []).append(
                f"{Path(record.path).name}: {record.error or 'could not be read'}"
            )
    infos = []
    for info in kb.collections():
        errors = tuple(failures.get(info.name, ()))
        if errors:
            state = "errors"
        elif info.documents == 0:
            state = "empty"
        else:
            state = "ready"
        infos.append(CollectionInfo(info.name, info.documents, info.chunks, errors, state))
    return infos


def index(
    paths_: Paths,
    paths: Sequence[Path],
    collection: str,
    report: Callable[[object], None],
    cancel: CancelToken,
) -> IndexResult:
    """Index ``paths`` into ``collection`` in a helper process, reporting IndexProgress."""
    from ember.ui.knowledge_process import index_in_child

    return index_in_child(paths_.knowledge_dir, paths, collection, report, cancel)
