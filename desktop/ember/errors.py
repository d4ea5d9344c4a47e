"""Ember's domain exceptions.

Everything the *environment* causes and a person can act on (a missing model file, Ollama not
running, an encrypted PDF, a full disk) is an :class:`EmberError` whose message says what happened
and what to do. Anything else is a bug and is allowed to surface as such.
"""

from __future__ import annotations


class EmberError(Exception):
    """Base of every error a person can act on; ``str(err)`` is the message to show."""


class ConfigError(EmberError):
    """The settings file or a setting's value is not usable."""


class ModelLoadError(EmberError):
    """A model could not be loaded: missing, truncated, not a GGUF, or rejected by the backend."""


class ModelNotFound(EmberError):
    """A model name or path does not resolve to anything Ember knows."""


class EngineUnavailable(EmberError):
    """A generation backend cannot be reached or stopped answering properly.

    ``partial_text`` holds what was streamed before the failure, so no answer is lost.
    """

    def __init__(self, message: str, partial_text: str = "") -> None:
        super().__init__(message)
        self.partial_text = partial_text


class GenerationCancelled(EmberError):
    """Generation was stopped on request; the partial answer is kept."""


class StorageError(EmberError):
    """A database or index file is unusable (corrupt, newer schema, disk full)."""


class SchemaTooNew(StorageError):
    """A database was written by a newer Ember; it is refused, never wiped."""


class IngestError(EmberError):
    """One document could not be indexed; the message names the reason."""


class ToolError(EmberError):
    """A tool could not run: unknown or disabled, bad arguments, outside the granted folders, or
    its MCP server failed to start, hung or died. The message is what the person (and the model,
    as the tool's result) is told."""


class ModelTooLarge(ModelLoadError):
    """A model needs more memory than this machine has free, found before llama.cpp allocates;
    the message gives the estimate, what is free, and a smaller context or model to try."""


class HubError(EmberError):
    """The model hub could not answer: unreachable, a repository that does not exist, a gated or
    private repository without a token (the message says how to get access), or a bad reply."""


class DownloadError(EmberError):
    """A model download failed for good (after its retries): no space left, a checksum that does
    not match, a file the hub no longer has. The partial file is kept when it can resume and
    deleted when it cannot be trusted; the message says which and what to do."""
