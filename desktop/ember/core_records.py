"""The records :class:`~ember.core.Core` hands out: models to pick, the loaded model, pull
progress and collection states (re-exported by :mod:`ember.core`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ember.knowledge.store import CollectionInfo


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """One model a person can pick; ``key`` is what ``Settings.model`` stores."""

    key: str
    label: str
    backend: str
    detail: str = ""
    available: bool = True


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """The model now loaded: its key, the engine's name for it, backend and context window."""

    key: str
    name: str
    backend: str
    n_ctx: int  # tokens
    # The engine's own verdict: True when prompts leave this computer (a server not on loopback).
    is_remote: bool = False
    # What a person should know about the load: a lowered context, a fallback from GPU to CPU.
    notes: tuple[str, ...] = ()

    @property
    def builtin(self) -> bool:
        """True for the embedded default model (SmolLM2 135M): tiny, its answers often weak."""
        return self.key == ""


@dataclass(frozen=True, slots=True)
class PullProgress:
    """One progress line of an Ollama pull: ``completed`` of ``total`` bytes (0 when unknown)."""

    status: str
    completed: int
    total: int


@dataclass(frozen=True, slots=True)
class CollectionState:
    """A collection as the knowledge base counts it, with the files that failed to index and
    those not finished yet (``unfinished`` documents, whose ``unfinished_passages`` are recorded
    and partly embedded, but not searchable until an indexing run finishes them)."""

    info: CollectionInfo
    failures: tuple[str, ...] = ()  # "file.pdf: reason", one per failed document
    unfinished: int = 0
    unfinished_passages: int = 0
    skipped: int = 0  # files indexing passed over (a binary file, an empty one), listed as such

    @property
    def name(self) -> str:
        """The collection's name."""
        return self.info.name

    @property
    def state(self) -> str:
        """ "unfinished" when an indexing run stopped before the end, "errors" when a file
        failed, "empty" with no documents, else "ready"."""
        if self.unfinished:
            return "unfinished"
        if self.failures:
            return "errors"
        return "empty" if self.info.documents == 0 else "ready"
