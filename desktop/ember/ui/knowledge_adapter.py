"""The UI's binding to :class:`ember.knowledge.KnowledgeBase` (the one module that knows its API).

Runs on workers only: opening the knowledge base is cheap, but the first embedding loads torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ember.config import Settings
from ember.engines.base import CancelToken
from ember.paths import Paths
from ember.ui.services import CollectionInfo, IndexProgress, IndexResult


def available() -> bool:
    import ember.knowledge as knowledge

    return hasattr(knowledge, "KnowledgeBase")


def open_knowledge(paths: Paths, settings: Settings) -> Any:
    from ember.knowledge import KnowledgeBase

    return KnowledgeBase(paths.knowledge_dir)


def retriever(kb: Any) -> Any:
    """The assistant's Retriever (``retrieve(question, collections) -> Grounding``)."""
    return kb


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
    kb: Any,
    paths: Sequence[Path],
    collection: str,
    report: Callable[[object], None],
    cancel: CancelToken,
) -> IndexResult:
    """Index ``paths`` into ``collection``, translating progress for the status bar."""

    def progress(event: Any) -> None:
        report(
            IndexProgress(
                files_done=event.files_done,
                files_total=event.files_total,
                chunks=event.chunks_done,
                eta_s=event.eta_s,
                current=event.current or "",
                failed=event.failed,
                phase=event.phase,
            )
        )

    outcome = kb.index(list(paths), collection, progress=progress, cancel=cancel)
    return IndexResult(
        collection=collection,
        files_indexed=outcome.indexed,
        files_skipped=outcome.skipped,
        chunks=outcome.chunks,
        errors=tuple((f.path, f.reason) for f in outcome.failed),
        cancelled=outcome.cancelled,
    )
