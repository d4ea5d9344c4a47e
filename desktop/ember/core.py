"""Ember's composition root: the one place the core is assembled.

:class:`Core` builds settings, the chat store, the knowledge base, the engine and the assistant.
The desktop app, every ``ember`` command, ``ember eval`` and the coming local API all start here
and nowhere else assembles these parts. No Qt and no terminal code: ``ember.ui`` and
``ember.cli`` are shells over this module.

Everything heavy (llama_cpp, torch, faiss, the embedder) is imported inside methods, on first use,
so a window can appear before any of it loads. Methods marked *worker* block (they load models,
read the disk or talk to a server) and belong on a background thread in a GUI; the rest are quick.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.core_records import CollectionState, LoadedModel, ModelChoice, PullProgress
from ember.errors import EmberError, ModelLoadError
from ember.files import shown_path
from ember.paths import Paths, ember_paths
from ember.turns import ModelTurns

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from ember.assistant import Assistant, Retriever
    from ember.cancel import CancelToken
    from ember.chats.store import ChatStore
    from ember.config import Settings
    from ember.engines.base import Engine
    from ember.knowledge import KnowledgeBase
    from ember.knowledge.ingest import IngestReport, ProgressEvent
    from ember.knowledge.listing import DocumentRow
    from ember.knowledge.retrieval import SearchResult
    from ember.tools.toolbox import Toolbox

__all__ = [
    "RELOAD_KEYS",
    "CollectionState",
    "Core",
    "LoadedModel",
    "ModelChoice",
    "PullProgress",
    "follow_remove",
    "follow_rename",
]

# Settings whose change means the model must be loaded again.
RELOAD_KEYS = ("model", "n_ctx", "threads", "gpu_layers", "ollama_host", "remotes")


class Core:
    """Ember's core, assembled once per process.

    ``chats_db`` overrides where conversations are kept (``Path(":memory:")`` keeps nothing).
    With ``knowledge_helper=True`` (the desktop app) indexing and retrieval run in a helper
    process (:mod:`ember.knowledge.helper`) so torch never holds the GUI's GIL; otherwise (the
    CLI, ``ember eval``) the knowledge base runs in this process.
    """

    def __init__(
        self,
        paths: Paths | None = None,
        settings: Settings | None = None,
        *,
        chats_db: Path | None = None,
        knowledge_helper: bool = False,
    ) -> None:
        self.paths = (paths or ember_paths()).ensure()
        self._settings = settings
        self.knowledge_helper = knowledge_helper
        self._chats_db = chats_db if chats_db is not None else self.paths.chats_db
        self._store: ChatStore | None = None
        self._assistant: Assistant | None = None
        self._open_lock = threading.Lock()
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        # Everything that streams from the loaded model takes turns on it: the window's chats,
        # the local API, the MCP server's answers. Loading or closing a model takes a turn too.
        self.turns = ModelTurns()
        self.loaded: LoadedModel | None = None
        self._knowledge: KnowledgeBase | None = None
        self._retriever: Retriever | None = None
        self._knowledge_lock = threading.Lock()
        self._toolbox: Toolbox | None = None
        self._mcp_host: Any = None  # an ember.tools.mcp_host.McpHost, made with the toolbox
        self.mcp_error: str | None = None  # why mcp.json could not be read, if it could not
        self._tools_lock = threading.Lock()

    @property
    def settings(self) -> Settings:
        """The settings, read on first use: commands that need none (``ember index``) then work
        even beside a damaged settings file. Raises :class:`ConfigError` for an invalid one."""
        if self._settings is None:
            from ember.config import load_settings  # pydantic: not on the way to a first paint

            self._settings = load_settings(self.paths)
        return self._settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        self._settings = settings

    # The chat store and the assistant open on first use: a window paints before either.

    @property
    def store(self) -> ChatStore:
        """*worker* The chat history (opened, checked and migrated on first use)."""
        with self._open_lock:
            if self._store is None:
                from ember.chats.store import ChatStore

                self._store = ChatStore(self._chats_db)
            return self._store

    @property
    def assistant(self) -> Assistant:
        """*worker* The assistant over the chat store; it loads the engine when first asked."""
        store = self.store
        with self._open_lock:
            if self._assistant is None:
                from ember.assistant import Assistant

                self._assistant = Assistant(
                    self.engine, store, self.settings, turns=self.turns, priority=True
                )
                self._assistant.retriever = self._retriever
                self._assistant.toolbox = self.toolbox
            return self._assistant

    # -- tools ----------------------------------------------------------------------------------

    @property
    def toolbox(self) -> Toolbox:
        """The tools chats may use: the built-ins and the MCP servers of ``mcp.json`` (quick:
        a server starts when one of its tools is first wanted)."""
        with self._tools_lock:
            if self._toolbox is None:
                from ember.tools.toolbox import Toolbox

                host = self._open_mcp_host()
                self._toolbox = Toolbox(
                    lambda: self.settings,
                    retriever=self.retriever,
                    sources=[host] if host is not None else [],
                    remember=self.remember_always_allowed,
                )
            return self._toolbox

    def _open_mcp_host(self) -> Any:
        from ember.errors import ConfigError
        from ember.tools.mcp_config import load_servers
        from ember.tools.mcp_host import McpHost

        try:  # a bad mcp.json leaves MCP tools out (``mcp_error`` says why), never chats
            servers = load_servers(self.paths.mcp_config)
        except ConfigError as exc:
            servers, self.mcp_error = [], str(exc)
        self._mcp_host = McpHost(servers, self.paths.logs_dir, self.settings.tool_timeout_s)
        return self._mcp_host

    @property
    def mcp_host(self) -> Any:
        """The MCP servers' host (``McpHost``); None before the toolbox is first used."""
        return self._mcp_host

    def remember_always_allowed(self, key: str) -> None:
        """Allow ``key`` (``ToolInfo.key``) always: saved, and in the settings in use now."""
        from ember.tools.toolbox import save_always_allowed

        save_always_allowed(self.paths, key)
        if key not in self.settings.tools_always_allowed:
            allowed = [*self.settings.tools_always_allowed, key]
            self.settings = self.settings.model_copy(update={"tools_always_allowed": allowed})
            if self._assistant is not None:
                self._assistant.settings = self.settings

    @contextmanager
    def request_assistant(
        self, settings: Settings, engine: Callable[[], Engine]
    ) -> Iterator[Assistant]:
        """*worker* An assistant for one request of the local API: the same answers as
        :attr:`assistant` (retrieval from the knowledge base, abstain, prompt), with this
        request's ``settings`` and ``engine`` (a function giving the engine to answer with),
        over a chat store in memory that is gone when the block ends."""
        from ember.assistant import Assistant
        from ember.chats.store import ChatStore

        store = ChatStore(Path(":memory:"))
        try:
            yield Assistant(engine, store, settings, retriever=self.retriever(), turns=self.turns)
        finally:
            store.close()

    # -- settings -------------------------------------------------------------------------------

    def apply_settings(self, settings: Settings) -> bool:
        """Validate, save and use new settings. Returns True when the model must be reloaded."""
        from ember.config import save_settings

        settings.validate()
        old = self.settings  # before saving: read afterwards, it would already be the new one
        save_settings(settings, self.paths)
        self.settings = settings
        if self._assistant is not None:
            self._assistant.settings = settings
        return any(getattr(old, k) != getattr(settings, k) for k in RELOAD_KEYS)

    def choose_model(self, key: str) -> Settings:
        """Remember ``key`` as the model to use (saved); the caller then reloads."""
        settings = self.settings.model_copy(update={"model": key})
        self.apply_settings(settings)
        return settings

    # -- models ---------------------------------------------------------------------------------

    def local_models(self) -> list[ModelChoice]:
        """The catalog's models on this computer, the user's GGUFs and the configured remote
        servers (quick: nothing loads)."""
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
        """*worker* Check a GGUF's header and add it to the user's models; raises
        :class:`ModelLoadError` for anything that is not a sound GGUF file."""
        from ember import catalog

        if path.suffix.lower() != ".gguf":
            raise ModelLoadError(
                f"{path.name} is not a .gguf file; Ember can add GGUF models only."
            )
        entry = catalog.add_user_model(path, self.paths)
        return ModelChoice(entry.name, entry.display_name, entry.backend, entry.quantization)

    def model_label(self, key: str) -> str:
        """What to call the model ``key`` in a picker or a title."""
        for choice in self.local_models():
            if choice.key == key:
                return choice.label
        return key.split(":", 1)[-1] or "Embedded model"

    def load_engine(self, key: str | None = None) -> LoadedModel:
        """*worker* Load the chosen (or configured) model, closing the previous one. ``key`` is
        anything ``ember --model`` takes; raises a domain error a person can act on."""
        from ember.catalog import resolve_model
        from ember.engines import create_engine

        choice = self.settings.model if key is None else key
        spec, _entry = resolve_model(choice, self.settings, self.paths)
        # Ahead of other programs' requests: a person switching models waits for one answer.
        with self.turns.turn(priority=True), self._engine_lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
                self.loaded = None
            engine = create_engine(spec)
            self._engine = engine
            self.loaded = LoadedModel(
                key=choice or "",
                name=engine.model_name,
                backend=engine.backend,
                n_ctx=engine.n_ctx,
                is_remote=engine.is_remote,
                notes=tuple(getattr(engine, "load_notes", ())),
            )
            return self.loaded

    def unload_engine(self) -> None:
        """*worker* Close the loaded model in its turn (after any answer running on it); the next
        use loads one again. Nothing happens when none is loaded."""
        with self.turns.turn(), self._engine_lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
                self.loaded = None

    def engine(self) -> Engine:
        """*worker* The loaded engine (loading the configured one on first use). The load waits
        for its turn; a model loaded meanwhile (an API request's) is used, not loaded again."""
        if self._engine is None:
            with self.turns.turn(priority=True):
                if self._engine is None:
                    self.load_engine()
        assert self._engine is not None
        return self._engine

    # -- knowledge ------------------------------------------------------------------------------

    def knowledge(self) -> KnowledgeBase:
        """*worker* The knowledge base (opened on first use; the embedder loads when needed)."""
        with self._knowledge_lock:
            if self._knowledge is None:
                from ember.knowledge import KnowledgeBase

                self._knowledge = KnowledgeBase(self.paths.knowledge_dir)
                if self.knowledge_helper:
                    from ember.knowledge.helper import RetrievalHelper

                    self._retriever = RetrievalHelper(self.paths.knowledge_dir)
                else:
                    self._retriever = self._knowledge
                if self._assistant is not None:
                    self._assistant.retriever = self._retriever
            return self._knowledge

    def retriever(self) -> Retriever:
        """*worker* What grounded answers retrieve with (the knowledge base, or the retrieval
        helper process in the app), opening the knowledge base on first use."""
        self.knowledge()
        assert self._retriever is not None
        return self._retriever

    def has_documents(self) -> bool:
        """Whether anything was ever indexed (quick: nothing is opened)."""
        return self.paths.knowledge_dir.exists()

    def ground_in(self, collections: Sequence[str]) -> None:
        """*worker* Answer from these collections' documents (none: answer without them)."""
        if collections:
            self.knowledge()
        self.assistant.retriever = self._retriever if collections else None

    def known_collections(self, wanted: Sequence[str] | None) -> list[str]:
        """*worker* The collections to answer from: ``wanted`` (each must exist, else an
        :class:`EmberError` lists the real ones), or every collection with documents."""
        if not wanted and not self.has_documents():
            return []
        if not self.has_documents():  # nothing indexed yet: nothing to open (or to create)
            raise EmberError(
                f"No collection called {', '.join(wanted or ())} (collections: none yet; add some "
                "with `ember index PATH`)."
            )
        collections = self.knowledge().collections()
        if not wanted:
            return [c.name for c in collections if c.chunks > 0]
        known = {c.name for c in collections}
        missing = [name for name in wanted if name not in known]
        if missing:
            names = ", ".join(sorted(known)) or "none yet; add some with `ember index PATH`"
            raise EmberError(f"No collection called {', '.join(missing)} (collections: {names}).")
        return list(wanted)

    def collections(self) -> list[CollectionState]:
        """*worker* Every collection with its counts and the files that failed to index."""
        kb = self.knowledge()
        failures: dict[str, list[str]] = {}
        unfinished: dict[str, list[int]] = {}
        skipped: dict[str, int] = {}
        for record in kb.documents():
            if record.skipped:
                skipped[record.collection] = skipped.get(record.collection, 0) + 1
            elif record.state == "failed":
                failures.setdefault(record.collection, []).append(
                    f"{shown_path(Path(record.path).name)}: {record.error or 'could not be read'}"
                )
            elif record.state == "pending":
                unfinished.setdefault(record.collection, []).append(record.chunk_count)
        return [
            CollectionState(
                info,
                tuple(failures.get(info.name, ())),
                len(unfinished.get(info.name, ())),
                sum(unfinished.get(info.name, ())),
                skipped.get(info.name, 0),
            )
            for info in kb.collections()
        ]

    def index(
        self,
        paths: Sequence[Path],
        collection: str,
        progress: Callable[[ProgressEvent], None],
        cancel: CancelToken,
        *,
        watched: bool = False,
    ) -> IngestReport:
        """*worker* Index files and folders into ``collection``, calling ``progress``; in the
        helper process when the core was built with ``knowledge_helper``. ``watched``: a
        watch's run (a missing root keeps its documents, see :meth:`KnowledgeBase.index`)."""
        if self.knowledge_helper:
            from ember.knowledge.helper import index_in_helper

            directory = self.paths.knowledge_dir
            return index_in_helper(directory, paths, collection, progress, cancel, watched=watched)
        kb = self.knowledge()
        return kb.index(paths, collection, progress=progress, cancel=cancel, watched=watched)

    def suggest_collection(self, question: str, names: Sequence[str], limit: int = 8) -> str | None:
        """*worker* The collection among ``names`` (at most ``limit`` of them are asked) whose
        documents answer ``question`` best, or None when retrieval abstains in every one: what a
        chat without documents offers before it answers from the model alone."""
        if not names or not self.has_documents():
            return None
        self.knowledge()
        retriever = self._retriever
        assert retriever is not None
        best: tuple[float, str] | None = None
        for name in list(names)[:limit]:
            grounding = retriever.retrieve(question, [name])
            if grounding.abstained or not grounding.citations:
                continue
            score = grounding.best_similarity if grounding.best_similarity is not None else 0.0
            if best is None or score > best[0]:
                best = (score, name)
        return None if best is None else best[1]

    def reindex(
        self,
        paths: Sequence[Path],
        collection: str,
        progress: Callable[[ProgressEvent], None],
        cancel: CancelToken,
    ) -> IngestReport:
        """*worker* Index ``paths`` of ``collection`` anew (none: all its documents), as
        :meth:`index` does, through :meth:`KnowledgeBase.redo`."""
        if self.knowledge_helper:
            from ember.knowledge.helper import index_in_helper

            directory = self.paths.knowledge_dir
            return index_in_helper(directory, paths, collection, progress, cancel, again=True)
        return self.knowledge().redo(paths, collection, progress=progress, cancel=cancel)

    # The documents page: listing reads the shared knowledge base; each change takes the writer's
    # lock only for itself, so the helper process that indexes can take it right after.

    @contextmanager
    def writing(self) -> Iterator[KnowledgeBase]:
        """*worker* The knowledge base for one change, holding the writer's lock only for it."""
        if not self.knowledge_helper:
            yield self.knowledge()  # this process indexes too: one object, one lock
            return
        from ember.knowledge import KnowledgeBase

        with KnowledgeBase(self.paths.knowledge_dir) as kb:
            yield kb

    def document_rows(self, collection: str) -> list[DocumentRow]:
        """*worker* ``collection``'s documents with state, reason, passages and pages."""
        return self.knowledge().document_rows(collection)

    def watched_folders(self) -> dict[str, tuple[str, ...]]:
        """*worker* The folders each collection watches, by collection name."""
        if not self.has_documents():
            return {}
        return self.knowledge().watched_folders()

    def remove_document(self, path: Path, collection: str) -> int:
        """*worker* Forget one document (or every one under a folder) of ``collection``."""
        with self.writing() as kb:
            return kb.remove(path, collection)

    def delete_collection(self, name: str) -> bool:
        """*worker* Delete a collection and its documents; False when there was none."""
        with self.writing() as kb:
            return kb.delete_collection(name)

    def rename_collection(self, old: str, new: str) -> None:
        """*worker* Rename a collection in the knowledge base (chats: :func:`follow_rename`).
        Raises :class:`StorageError` for an invalid or taken name."""
        with self.writing() as kb:
            kb.rename_collection(old, new)

    def watch_folders(self, collection: str, on: bool) -> tuple[str, ...]:
        """*worker* Start or stop watching ``collection``'s folders; returns those watched."""
        with self.writing() as kb:
            return kb.watch_folders(collection, on)

    def warm_retriever(self) -> None:
        """*worker* Start the retrieval helper and load its embedder before the first question."""
        self.knowledge()
        warm = getattr(self._retriever, "warm", None)
        if warm is not None:
            warm()

    def search(
        self, query: str, collections: Sequence[str] | None, top_k: int | None = None
    ) -> SearchResult:
        """*worker* The best ``top_k`` chunks for ``query`` in ``collections`` (every one when
        None): in the retrieval helper process when the core has one (torch never loads in the
        window's process), else with this process's knowledge base."""
        kb = self.knowledge()
        if self.knowledge_helper:
            from ember.knowledge.helper import RetrievalHelper

            assert isinstance(self._retriever, RetrievalHelper)
            return self._retriever.search(query, collections, top_k)
        return kb.search(query, collections, top_k)

    def embed(self, texts: Sequence[str]) -> tuple[np.ndarray, list[int]]:
        """*worker* ``texts`` as the embedder's normalised vectors (``(len, 384)`` float32) and
        the tokens each takes: in the retrieval helper process when the core has one (torch
        never loads in the window's process), else with this process's embedder."""
        if self.knowledge_helper:
            from ember.knowledge.helper import RetrievalHelper

            self.knowledge()
            assert isinstance(self._retriever, RetrievalHelper)
            return self._retriever.embed(texts)
        from ember.knowledge.embedder import default_embedder  # what KnowledgeBase embeds with

        embedder = self._knowledge.embedder if self._knowledge is not None else default_embedder()
        return embedder.embed(texts), embedder.count_tokens(texts)

    def ensure_retriever(self) -> None:
        """*worker* Make sure grounded chats can retrieve (opens the knowledge base)."""
        if self.assistant.retriever is None:
            self.knowledge()

    def close(self) -> None:
        """Close the MCP servers, the engine, the retrieval helper, the knowledge base and the
        chat store."""
        with self._tools_lock:  # after a toolbox being made now has its host
            if self._mcp_host is not None:
                self._mcp_host.close()
        with self._engine_lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
        if self._retriever is not None and self._retriever is not self._knowledge:
            close = getattr(self._retriever, "close", None)
            if close is not None:
                close()
        if self._knowledge is not None:
            self._knowledge.close()
        if self._store is not None:
            self._store.close()


def follow_rename(store: ChatStore, old: str, new: str) -> int:
    """*worker* Chats that answered from collection ``old`` answer from ``new``; returns how
    many changed (chats in the trash too, so an undone delete finds its documents)."""
    changed = 0
    for deleted in (False, True):
        for chat in store.conversations(deleted=deleted):
            if old in chat.collections:
                store.set_collections(chat.id, [new if c == old else c for c in chat.collections])
                changed += 1
    return changed


def follow_remove(store: ChatStore, name: str) -> int:
    """*worker* Chats that answered from collection ``name`` (removed) answer from the rest of
    their collections (none left: without documents); returns how many changed, trashed chats
    too, so neither an undone delete nor a collection made later under that name brings it
    back."""
    changed = 0
    for deleted in (False, True):
        for chat in store.conversations(deleted=deleted):
            if name in chat.collections:
                store.set_collections(chat.id, [c for c in chat.collections if c != name])
                changed += 1
    return changed
