"""The UI's one binding to Ember's core: chats, the assistant, models and the knowledge base.

No Qt here. Everything heavy (llama_cpp, torch, faiss, the embedder) is imported inside methods
that run on a worker, never at import time, so the window appears before any of it loads.
Methods marked *worker* block and must be called from a background job; the rest are quick.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.config import Settings, load_settings, save_settings
from ember.errors import EmberError, ModelLoadError
from ember.paths import Paths, ember_paths

if TYPE_CHECKING:
    from ember.assistant import Assistant
    from ember.chats.store import ChatStore
    from ember.cancel import CancelToken
from ember.engines.base import Engine


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """One entry of the model picker; ``key`` is what ``Settings.model`` stores."""

    key: str
    label: str
    backend: str
    detail: str = ""
    available: bool = True


@dataclass(frozen=True, slots=True)
class LoadedModel:
    key: str
    name: str
    backend: str
    context_length: int
    # The engine's own verdict: True when prompts leave this computer (a server not on loopback).
    is_remote: bool = False


@dataclass(frozen=True, slots=True)
class PullProgress:
    status: str
    completed: int
    total: int


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    """A knowledge collection as the sidebar shows it."""

    name: str
    documents: int = 0
    chunks: int = 0
    errors: tuple[str, ...] = ()
    state: str = "ready"  # "ready", "indexing", "errors", "empty"


@dataclass(frozen=True, slots=True)
class IndexProgress:
    """Progress of one indexing run, for the progress bar (files, chunks, ETA)."""

    files_done: int
    files_total: int
    chunks: int
    eta_s: float | None
    current: str = ""
    failed: int = 0
    phase: str = "indexing"  # "discovering", "indexing", "saving", "done"


@dataclass(frozen=True, slots=True)
class IndexResult:
    collection: str
    files_indexed: int
    files_skipped: int
    chunks: int
    errors: tuple[tuple[str, str], ...]
    cancelled: bool = False
    # Indexed, with something to know: a document cut at the chunk cap, bytes replaced...
    warnings: tuple[tuple[str, str], ...] = ()


class Services:
    """The core, assembled once per window: settings, chat store, engine, assistant, knowledge."""

    def __init__(self, paths: Paths | None = None, settings: Settings | None = None) -> None:
        self.paths = (paths or ember_paths()).ensure()
        self.settings = settings if settings is not None else load_settings(self.paths)
        self._store: ChatStore | None = None
        self._assistant: Assistant | None = None
        self._open_lock = threading.Lock()
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self.loaded: LoadedModel | None = None
        self._knowledge: Any = None
        self._retriever: Any = None
        self._knowledge_lock = threading.Lock()

    # The chat store and the assistant open on first use: the window paints before either
    # (their imports and the database are not needed to show it).

    @property
    def store(self) -> ChatStore:
        with self._open_lock:
            if self._store is None:
                from ember.chats.store import ChatStore

                self._store = ChatStore(self.paths.chats_db)
            return self._store

    @property
    def assistant(self) -> Assistant:
        store = self.store
        with self._open_lock:
            if self._assistant is None:
                from ember.assistant import Assistant

                self._assistant = Assistant(self._require_engine, store, self.settings)
                self._assistant.retriever = self._retriever
            return self._assistant

    # -- settings -------------------------------------------------------------------------------

    def apply_settings(self, settings: Settings) -> bool:
        """Validate, save and use new settings. Returns True when the model must be reloaded."""
        settings.validate()
        save_settings(settings, self.paths)
        old = self.settings
        self.settings = settings
        if self._assistant is not None:
            self._assistant.settings = settings
        reload_keys = ("model", "n_ctx", "threads", "gpu_layers", "ollama_host", "remotes")
        return any(getattr(old, k) != getattr(settings, k) for k in reload_keys)

    def choose_model(self, key: str) -> Settings:
        """Remember ``key`` as the model to use (saved); the caller then reloads."""
        settings = self.settings.model_copy(update={"model": key})
        self.apply_settings(settings)
        return settings

    # -- models ---------------------------------------------------------------------------------

    def local_models(self) -> list[ModelChoice]:
        """The catalog's models on this computer plus the user's GGUFs (quick: no model loads)."""
        from ember import catalog

        choices = []
        for entry in catalog.all_models(self.paths):
            if not entry.available:
                continue
            key = "" if entry.embedded else entry.name
            detail = " · ".join(x for x in (entry.parameters, entry.quantization) if x)
            choices.append(ModelChoice(key, entry.display_name, entry.backend, detail))
        for remote in self.settings.remotes:
            choices.append(
                ModelChoice(f"remote:{remote.name}", f"{remote.name} ({remote.model})", remote.kind)
            )
        return choices

    def ollama_models(self) -> list[ModelChoice]:
        """*worker* Models served by Ollama, or [] when no server answers (that is normal)."""
        try:
            from ember.engines import ollama as ollama_engine

            host = self.settings.ollama_host
            if not ollama_engine.is_reachable(host):
                return []
            return [
                ModelChoice(f"ollama:{m.name}", m.name, "ollama", "Ollama")
                for m in ollama_engine.list_models(host)
            ]
        except (EmberError, ImportError, AttributeError, OSError):
            return []

    def pull_ollama(self, name: str, cancel: CancelToken) -> Iterator[PullProgress]:
        """*worker* Pull ``name`` into the Ollama server, yielding progress until done."""
        from ember.engines import ollama as ollama_engine

        # The engine checks the token between progress lines and closes the HTTP stream.
        for progress in ollama_engine.pull(self.settings.ollama_host, name, cancel=cancel):
            if cancel.cancelled:
                return
            yield PullProgress(
                str(progress.status or ""), int(progress.completed or 0), int(progress.total or 0)
            )

    def add_gguf(self, path: Path) -> ModelChoice:
        """*worker* Check a GGUF's header and add it to the user's models."""
        from ember import catalog

        if path.suffix.lower() != ".gguf":
            raise ModelLoadError(
                f"{path.name} is not a .gguf file; Ember can add GGUF models only."
            )
        entry = catalog.add_user_model(path, self.paths)
        return ModelChoice(entry.name, entry.display_name, entry.backend, entry.quantization)

    def model_label(self, key: str) -> str:
        for choice in self.local_models():
            if choice.key == key:
                return choice.label
        return key.split(":", 1)[-1] or "Embedded model"

    def load_engine(self, key: str | None = None) -> LoadedModel:
        """*engine worker* Load the chosen (or configured) model, closing the previous one."""
        from ember.catalog import resolve_model
        from ember.engines import create_engine

        choice = self.settings.model if key is None else key
        spec, _entry = resolve_model(choice, self.settings, self.paths)
        with self._engine_lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
                self.loaded = None
            engine = create_engine(spec)
            self._engine = engine
            self.loaded = LoadedModel(
                key=choice,
                name=engine.model_name,
                backend=engine.backend,
                context_length=engine.context_length,
                is_remote=bool(getattr(engine, "is_remote", False)),
            )
            return self.loaded

    def _require_engine(self) -> Engine:
        """*engine worker* The loaded engine (loading the configured one on first use)."""
        if self._engine is None:
            self.load_engine()
        assert self._engine is not None
        return self._engine

    def close(self) -> None:
        with self._engine_lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
        if self._retriever is not None:
            self._retriever.close()
        kb = self._knowledge
        if kb is not None and hasattr(kb, "close"):
            kb.close()
        if self._store is not None:
            self._store.close()

    # -- knowledge ------------------------------------------------------------------------------

    def knowledge(self) -> Any:
        """*worker* The knowledge base (opened on first use: it loads the embedder lazily)."""
        with self._knowledge_lock:
            if self._knowledge is None:
                from ember.ui import knowledge_adapter

                self._knowledge = knowledge_adapter.open_knowledge(self.paths, self.settings)
                self._retriever = knowledge_adapter.retriever(self.paths)
                self.assistant.retriever = self._retriever
            return self._knowledge

    def knowledge_available(self) -> bool:
        from ember.ui import knowledge_adapter

        return knowledge_adapter.available()

    def collections(self) -> list[CollectionInfo]:
        """*worker* Collections with their counts and last errors."""
        from ember.ui import knowledge_adapter

        if not knowledge_adapter.available():
            return []
        return knowledge_adapter.collections(self.knowledge())

    def index(
        self,
        paths: Sequence[Path],
        collection: str,
        report: Any,
        cancel: CancelToken,
    ) -> IndexResult:
        """*knowledge worker* Index files/folders into ``collection``, reporting IndexProgress."""
        from ember.ui import knowledge_adapter

        return knowledge_adapter.index(self.paths, paths, collection, report, cancel)

    def warm_retriever(self) -> None:
        """*worker* Start the retrieval helper and load its embedder ahead of the first question."""
        self.knowledge()
        if self._retriever is not None:
            self._retriever.warm()

    def ensure_retriever(self) -> None:
        """*engine worker* Make sure grounded chats can retrieve (opens the knowledge base)."""
        from ember.ui import knowledge_adapter

        if self.assistant.retriever is None and knowledge_adapter.available():
            self.knowledge()
