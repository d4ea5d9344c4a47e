"""Generation backends behind one interface, chosen by name and imported only when used."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Literal

from ember.engines.base import (
    ChatMessage,
    Engine,
    Finished,
    GenerationOptions,
    Reply,
    StreamEvent,
    TemplateOverhead,
    Timings,
    Token,
    complete,
)
from ember.errors import ModelNotFound

__all__ = [
    "BACKENDS",
    "ChatMessage",
    "Engine",
    "EngineSpec",
    "Finished",
    "GenerationOptions",
    "Reply",
    "StreamEvent",
    "TemplateOverhead",
    "Timings",
    "Token",
    "complete",
    "create_engine",
    "structured_output",
]

# backend name -> module defining ``load(spec) -> Engine``. Heavy libraries (llama_cpp, ollama)
# are imported by those modules only, so choosing a backend is what pays for its import.
BACKENDS: dict[str, str] = {
    "llama.cpp": "ember.engines.llamacpp",
    "ollama": "ember.engines.ollama",
    "openai": "ember.engines.remote",
}


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """Everything needed to load one model on one backend.

    ``backend``: a key of :data:`BACKENDS`. ``model``: a GGUF path for llama.cpp, a model name
    for servers. ``host``: the server's base URL (Ollama: ``http://host:port``; OpenAI-compatible:
    ending in ``/v1``). ``api_key``: sent as a Bearer token (OpenAI-compatible only).
    ``n_ctx``: the context window asked for, in tokens; the engine's own ``n_ctx`` may be smaller
    (capped at what the model was trained on). ``n_threads``: CPU threads (``None`` = llama.cpp's
    choice). ``n_gpu_layers``: layers offloaded to a GPU (0 = CPU only, -1 = all, "auto" = as
    many as the GPU's free memory holds, see :mod:`ember.engines.fit`). ``timeout_s``: seconds a
    server may stay silent mid-answer before it counts as hung.
    """

    backend: str
    model: str
    host: str | None = None
    api_key: str | None = None
    n_ctx: int = 4096
    n_threads: int | None = None
    n_gpu_layers: int | Literal["auto"] = "auto"
    timeout_s: float = 120.0


def create_engine(spec: EngineSpec) -> Engine:
    """Load ``spec`` on its backend and return the ready :class:`Engine`.

    Imports only the chosen backend's module. Raises :class:`ModelNotFound` for an unknown
    backend or model, :class:`ember.errors.ModelLoadError` for a file llama.cpp cannot load, and
    :class:`ember.errors.EngineUnavailable` for a server that cannot be reached.
    """
    module_name = BACKENDS.get(spec.backend)
    if module_name is None:
        valid = ", ".join(sorted(BACKENDS))
        raise ModelNotFound(f"Unknown backend {spec.backend!r}; choose one of: {valid}.")
    module = importlib.import_module(module_name)
    return module.load(spec)


def structured_output(backend: str) -> bool:
    """True when ``backend``'s engine follows ``json_schema`` / ``json_object`` (its engine
    class's ``structured_output``); False for an unknown backend. Imports the backend's module,
    which is light: its heavy library loads with a model."""
    module_name = BACKENDS.get(backend)
    if module_name is None:
        return False
    module = importlib.import_module(module_name)
    return bool(getattr(module.ENGINE, "structured_output", False))
