"""HTTP pieces shared by the server backends (Ollama, OpenAI-compatible): line limits, loopback."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx

log = logging.getLogger("ember.engines")

# One streamed line (an NDJSON object or an SSE event) or one JSON body. Real ones are < 64 KB;
# the limit keeps a broken or hostile server from filling memory with a line that never ends.
MAX_LINE_BYTES = 8 * 1024 * 1024


class OversizedLine(Exception):
    """A server sent more than :data:`MAX_LINE_BYTES` without a newline."""


class _LineLimitedStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    def __iter__(self) -> Iterator[bytes]:
        since_newline = 0
        for chunk in self._inner:
            newline = chunk.rfind(b"\n")
            since_newline = len(chunk) - newline - 1 if newline >= 0 else since_newline + len(chunk)
            if since_newline > self._limit:
                raise OversizedLine(f"a line longer than {self._limit} bytes")
            yield chunk

    def close(self) -> None:
        self._inner.close()


class LineLimitTransport(httpx.HTTPTransport):
    """An ``httpx`` transport whose responses raise :class:`OversizedLine` past the limit."""

    def __init__(self, limit: int = MAX_LINE_BYTES, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._limit = limit

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; reading the response body raises :class:`OversizedLine` once a line
        exceeds the limit (bytes)."""
        response = super().handle_request(request)
        stream = response.stream
        assert isinstance(stream, httpx.SyncByteStream)
        response.stream = _LineLimitedStream(stream, self._limit)
        return response


def http_timeout(timeout_s: float) -> httpx.Timeout:
    """Connect fast (a local server answers at once); wait ``timeout_s`` between streamed bytes."""
    return httpx.Timeout(timeout_s, connect=min(5.0, timeout_s))


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this computer (127.0.0.0/8, ::1 or localhost)."""
    host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def warn_if_remote(url: str, what: str) -> bool:
    """Log that chats will leave this computer when ``url`` is not loopback; returns that fact."""
    remote = not is_loopback_url(url)
    if remote:
        log.warning(
            "%s at %s is not on this computer: your messages and documents are sent to it.",
            what,
            url,
        )
    return remote
