"""The local API's security checks: every request is treated as hostile until it passes them.

:class:`SecurityMiddleware` (pure ASGI, outside every route, installed by
:func:`ember.api.app.create_app`) answers, in this order:

1. **403** when the ``Host`` header is not the bound address (``HOST:PORT``; on loopback also
   ``127.0.0.1``, ``localhost`` and ``[::1]`` with the port). A web page can point a name it
   controls at 127.0.0.1 (DNS rebinding) and then talk to us as "its own" site; the Host
   header it sends still carries its own name, so checking it closes that door. Bound to every
   address (``0.0.0.0``, ``::``), the server cannot know all of its own: it answers any IP
   address with its port, and the loopback names. An IP address is safe to allow, as DNS
   rebinding needs a name; names (``mypc.local``) are refused.
2. **403** for a browser's CORS preflight (``OPTIONS`` with ``Origin``) and for any request whose
   ``Origin`` is not this server's own (``http://`` + an allowed Host, or on a wildcard bind
   ``http://`` + the request's own Host). Browsers add ``Origin``
   to cross-site requests; scripts, editors and the ``openai`` client send none. Some cross-site
   requests (a form POST) reach a server with no preflight at all, so refusing a foreign Origin
   outright, rather than only withholding CORS headers, means no web page can make this server
   do anything, even one that learnt the key. For the same reason no response ever carries an
   ``Access-Control-*`` header: they are removed on the way out.
3. **401** without ``Authorization: Bearer KEY`` (compared in constant time).
4. **413** when the body is larger than ``max_body_bytes``: at once from ``Content-Length``, or
   as soon as a chunked upload passes the limit (the rest is never read). Bodies are small (1 MiB
   at most), so the body is read here and handed to the route whole.

Errors are in OpenAI's shape (:class:`~ember.api.errors.ApiError`); each refusal closes the
connection. Routes use
:func:`check_max_tokens` for the ``max_tokens`` limit.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from ember.api.errors import ApiError, bad_request

if TYPE_CHECKING:
    from ember.api.config import ServeConfig

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def allowed_hosts(config: ServeConfig) -> frozenset[str]:
    """The ``Host`` header values this server answers (lower case, with the port)."""
    port = config.port
    host = config.host.strip("[]").lower()
    shown = f"[{host}]" if ":" in host else host
    hosts = {f"{shown}:{port}"}
    if config.loopback or config.wildcard:
        hosts |= {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
    return frozenset(hosts)


def _ip_address_with_port(host: str, port: int) -> bool:
    """Whether the Host value ``host`` is an IP address (v6 in brackets) with ``port``."""
    address, _, given = host.rpartition(":")
    if given != str(port) or (":" in address and not address.startswith("[")):
        return False
    try:
        ipaddress.ip_address(address.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    return True


def check_max_tokens(value: int | None, config: ServeConfig) -> None:
    """Raise a 400 :class:`ApiError` (param ``max_tokens``) unless ``value`` is None or a whole
    number from 1 to ``config.max_tokens_limit``."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise bad_request("max_tokens must be a whole number of at least 1.", param="max_tokens")
    if value > config.max_tokens_limit:
        raise bad_request(
            f"max_tokens is {value}; this server allows at most {config.max_tokens_limit}.",
            param="max_tokens",
            code="max_tokens_too_large",
        )


class SecurityMiddleware:
    """The checks above, around the whole application (``app.add_middleware``)."""

    def __init__(self, app: ASGIApp, config: ServeConfig) -> None:
        self.app = app
        self.config = config
        self.hosts = allowed_hosts(config)
        self.origins = frozenset(f"http://{host}" for host in self.hosts)
        self.key = config.api_key.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # websockets: nothing here speaks them
            await send({"type": "websocket.close", "code": 1008})
            return
        headers = _headers(scope)
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await _answer(send, refusal)
            return
        body = await _read_body(receive, headers, self.config.max_body_bytes)
        if isinstance(body, ApiError):
            await _answer(send, body)
            return
        if body is None:
            return  # the client went away while sending
        await self.app(scope, _replay(body, receive), _without_cors(send))

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> ApiError | None:
        """Why this request is refused before its body is read, or None."""
        host = headers.get("host", "").strip().lower()
        if host not in self.hosts and not (
            self.config.wildcard and _ip_address_with_port(host, self.config.port)
        ):
            return ApiError(
                403,
                "This server answers only requests addressed to it by its own address.",
                "permission_error",
                "host_not_allowed",
            )
        origin = headers.get("origin")
        if origin is not None and scope["method"] == "OPTIONS":
            return ApiError(
                403,
                "Cross-origin requests are not allowed (no CORS).",
                "permission_error",
                "cors_not_allowed",
            )
        if origin is not None and origin.strip().lower() not in (*self.origins, f"http://{host}"):
            return ApiError(
                403,
                "Requests from web pages of other sites are not allowed.",
                "permission_error",
                "origin_not_allowed",
            )
        scheme, _, given = headers.get("authorization", "").strip().partition(" ")
        if (
            not self.key
            or scheme.lower() != "bearer"
            or not hmac.compare_digest(given.strip().encode("utf-8"), self.key)
        ):
            return ApiError(
                401,
                "A valid API key is required (Authorization: Bearer KEY); Ember's Settings "
                "and `ember serve` say where to find it.",
                "authentication_error",
                "invalid_api_key",
            )
        return None


def _headers(scope: Scope) -> dict[str, str]:
    """Request headers by lower-case name; a repeated header keeps its first value."""
    headers: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"The request body is larger than this server accepts ({limit} bytes).",
        code="request_too_large",
    )


async def _read_body(
    receive: Receive, headers: dict[str, str], limit: int
) -> bytes | ApiError | None:
    """The whole body, a 413 once it passes ``limit`` bytes, or None when the client left."""
    length = headers.get("content-length")
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            return bad_request("Content-Length is not a number.")
        if declared > limit:
            return _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read already, then the client's own messages (a
    streaming route listens there for the client going away)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _without_cors(send: Send) -> Send:
    """A ``send`` that drops every ``Access-Control-*`` response header."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [
                (name, value)
                for name, value in message.get("headers", ())
                if not name.lower().startswith(b"access-control-")
            ]
        await send(message)

    return sending


async def _answer(send: Send, error: ApiError) -> None:
    body = json.dumps(error.body()).encode("utf-8")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
    ]
    if error.status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    # The connection ends with the refusal: the unread rest of the body is dropped, and a client
    # without the key cannot keep the socket by sending a body that never ends.
    headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
