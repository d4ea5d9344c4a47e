"""Indexing requests that wait: one indexing run at a time, the rest in the order asked.

A request names its files and folders, its collection and how to index them (anew, or as a
watch's run). A request for a collection that already waits with the same flags joins it (its
paths added), so a watched folder that changes ten times during a long run is indexed once
afterwards, and files added twice are read once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path


@dataclass(slots=True)
class IndexRequest:
    """One indexing run asked for: ``paths`` into ``collection``."""

    paths: list[Path]  # files and folders; with ``again`` and none: the whole collection
    collection: str
    again: bool = False  # index anew (the documents page's Re-index)
    watched: bool = False  # a watch's run: keeps the documents of a root that is gone

    def joins(self, other: IndexRequest) -> bool:
        """Whether ``other`` can be run as part of this one (same collection, same flags)."""
        return (self.collection, self.again, self.watched) == (
            other.collection,
            other.again,
            other.watched,
        )

    def join(self, other: IndexRequest) -> None:
        """Take ``other``'s paths too (a whole-collection re-index covers any of them)."""
        if self.again and (not self.paths or not other.paths):
            self.paths = []
        else:
            self.paths += [p for p in other.paths if p not in self.paths]


class IndexQueue:
    """The requests waiting for the run going on, first asked first run."""

    def __init__(self) -> None:
        self._waiting: list[IndexRequest] = []

    def __len__(self) -> int:
        return len(self._waiting)

    @property
    def waiting(self) -> tuple[IndexRequest, ...]:
        """The requests waiting, in the order they run."""
        return tuple(self._waiting)

    def put(self, request: IndexRequest) -> None:
        """Wait behind the others, or join the waiting request it fits."""
        for waiting in self._waiting:
            if waiting.joins(request):
                waiting.join(request)
                return
        self._waiting.append(request)

    def take(self, held: Collection[str] = ()) -> IndexRequest | None:
        """The first request not for a collection in ``held`` (one being removed or renamed),
        taken out of the queue; None when there is none."""
        for i, request in enumerate(self._waiting):
            if request.collection not in held:
                return self._waiting.pop(i)
        return None

    def drop(self, collection: str) -> None:
        """Forget every request for ``collection`` (it was removed)."""
        self._waiting = [r for r in self._waiting if r.collection != collection]

    def rename(self, old: str, new: str) -> None:
        """Requests for ``old`` are for ``new`` now (it was renamed)."""
        renamed: list[IndexRequest] = []
        for request in self._waiting:
            if request.collection == old:
                request.collection = new
            renamed.append(request)
        self._waiting = []
        for request in renamed:
            self.put(request)
