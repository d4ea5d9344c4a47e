"""Generation backends behind one interface, chosen by name and imported only when used."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ember.engines.base import (
    ChatMessage,
    Engine,
    Finished,
    GenerationOptions,
    Reply,
    StreamEvent,
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
    "Timings",
    "Token",
    "complete",
    "create_engine",
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
    """Everything needed to load one model on one backend."""

    backend: str
    model: str  # a GGUF path for llama.cpp; a model name for servers
    host: str | None = None  # server base URL for ollama / openai
    api_key: str | None = None
    n_ctx: int = 4096
    n_threads: int | None = None
    n_gpu_layers: int = 0
    timeout_s: float = 120.0


def create_engine(spec: EngineSpec) -> Engine:
    """Load ``spec`` on its backend; raises a domain error a person can act on."""
    module_name = BACKENDS.get(spec.backend)
    if module_name is None:
        valid = ", ".join(sorted(BACKENDS))
        raise ModelNotFound(f"Unknown backend {spec.backend!r}; choose one of: {valid}.")
    module = importlib.import_module(module_name)
    return module.load(spec)
