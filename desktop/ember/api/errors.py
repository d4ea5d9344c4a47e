"""Errors of the local API, in OpenAI's shape, and the one translation of domain errors.

Every error response is ``{"error": {"message", "type", "param", "code"}}`` with the status an
OpenAI client expects: 400 bad request, 401 missing or wrong key, 403 refused host, 404 unknown
model or route, 413 body too large, 503 the engine cannot answer. A client library raises its own
typed exception from the status (``openai.NotFoundError`` for 404 and so on).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ember.errors import (
    ConfigError,
    EmberError,
    EngineUnavailable,
    ModelLoadError,
    ModelNotFound,
)


@dataclass(slots=True)
class ApiError(Exception):
    """An error answered to the client: HTTP ``status`` and OpenAI's fields."""

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None

    def __str__(self) -> str:
        return self.message

    def body(self) -> dict[str, Any]:
        """The JSON body: ``{"error": {...}}``."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    """400: the request itself is wrong (JSON, a field's value, a prompt too long)."""
    return ApiError(400, message, "invalid_request_error", code, param)


def from_domain(exc: EmberError) -> ApiError:
    """The API's answer to a domain error raised while serving a request."""
    from ember.engines.context import PromptTooLong

    if isinstance(exc, PromptTooLong):
        return ApiError(400, str(exc), "invalid_request_error", "context_length_exceeded")
    if isinstance(exc, ModelNotFound):
        return ApiError(404, str(exc), "invalid_request_error", "model_not_found", "model")
    if isinstance(exc, (EngineUnavailable, ModelLoadError)):
        return ApiError(503, str(exc), "server_error", "engine_unavailable")
    if isinstance(exc, ConfigError):
        return ApiError(500, str(exc), "server_error", "config_error")
    return ApiError(400, str(exc), "invalid_request_error")


def internal_error() -> ApiError:
    """500 for a bug (anything that is not a domain error): the message gives no details, which
    stay in Ember's log."""
    return ApiError(
        500,
        "Ember hit an unexpected error answering this request; its log has the details.",
        "server_error",
        "internal_error",
    )
