"""uvicorn serving the local API on a thread of its own (``ember serve`` and the window).

The socket is bound here, before uvicorn starts, so a busy port is a clear :class:`EmberError` at
once and port 0 (tests) tells its real port. A non-loopback address is refused without an API key
(the caller asks the person to confirm first: :func:`check_bind`).

Connections are uvicorn's HTTP/1.1 (h11, whose 16 KiB limit on a request head holds whatever
else is installed) with two limits of our own (:func:`_guarded_protocol`): a request head must
arrive within ``head_timeout_s``, and at most ``max_connections`` are open at once. Without them a
client needs no key to hold sockets open forever, one file descriptor each.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import TYPE_CHECKING, Any

from ember.api.config import ServeConfig
from ember.errors import EmberError

if TYPE_CHECKING:
    import uvicorn

    from ember.core import Core


def check_bind(config: ServeConfig, confirmed: bool = False) -> None:
    """Raise :class:`EmberError` unless ``config`` may listen: a key is always required, and an
    address other people's computers can reach needs ``confirmed`` too."""
    if not config.api_key:
        raise EmberError("The local API needs an API key; none is set.")
    if not config.loopback and not confirmed:
        raise EmberError(
            f"{config.host} can be reached from other computers. Serve on 127.0.0.1, or confirm "
            "that you want other computers to reach Ember (they still need the API key)."
        )


def bind(config: ServeConfig) -> socket.socket:
    """A listening socket on ``config.host``:``config.port``; raises :class:`EmberError` when the
    address is taken or not this computer's."""
    family = socket.AF_INET6 if ":" in config.host.strip("[]") else socket.AF_INET
    # IPPROTO_TCP named, not left 0: asyncio sets TCP_NODELAY on accepted connections only when
    # the protocol says TCP, and without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if os.name == "nt":  # there SO_REUSEADDR would let another program bind our port too
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((config.host.strip("[]"), config.port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise EmberError(
            f"Cannot listen on {config.host}:{config.port}: {exc.strerror or exc}. "
            "Choose another port (ember serve --port N, or in Settings)."
        ) from exc
    sock.set_inheritable(True)
    return sock


def _guarded_protocol(config: ServeConfig) -> type[Any]:
    """uvicorn's h11 protocol, closing a connection whose first request head has not come
    within ``config.head_timeout_s``, and any connection past ``config.max_connections``. (Only
    a client with the key keeps a connection past its first request: every refusal closes it.)"""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > config.max_connections:
                transport.close()
                return
            self.loop.call_later(config.head_timeout_s, self._head_late)

        def _head_late(self) -> None:
            if self.cycle is None and not self.transport.is_closing():
                self.transport.close()  # no request head yet: nothing to answer

    return GuardedH11Protocol


class ApiServer:
    """The API over ``core`` on its own socket. :meth:`start` serves on a background thread;
    :meth:`stop` ends it (``ember serve`` calls it on Ctrl-C)."""

    def __init__(self, core: Core, config: ServeConfig) -> None:
        self.core = core
        self.config = config
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port listened on (the real one when the config asked for port 0)."""
        return self._socket.getsockname()[1] if self._socket is not None else self.config.port

    @property
    def serving(self) -> bool:
        """Whether the background thread of :meth:`start` still serves."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/v1``, what an OpenAI client's ``base_url`` is set to."""
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"http://{host}:{self.port}/v1"

    def _prepare(self) -> uvicorn.Server:
        import uvicorn

        from ember.api.app import create_app

        self._socket = bind(self.config)
        if self.config.port == 0:  # the Host check must know the real port
            from dataclasses import replace

            self.config = replace(self.config, port=self.port)
        app = create_app(self.core, self.config)
        uv_config = uvicorn.Config(
            app,
            http=_guarded_protocol(self.config),
            log_level="warning",
            access_log=False,
            lifespan="on",  # runs the MCP session manager (see ember.api.mcp_server)
            server_header=False,
            date_header=False,
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(uv_config)
        return self._server

    def _end_open_work(self) -> None:
        """Cancel every answer being generated or waiting for its turn (the API's and MCP's):
        each ends at its next token with an error its client can read, so the server stops at
        once instead of waiting for answers nobody will finish."""
        if self._server is None:
            return
        state = self._server.config.app.state
        runner = getattr(state, "runner", None)
        if runner is not None:
            runner.close()
        answers = getattr(state, "mcp_answers", None)
        if answers is not None:
            answers.cancel_all()

    def start(self) -> None:
        """Serve on a background thread; returns once the server accepts connections."""
        server = self._prepare()
        sock = self._socket
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="ember-api", daemon=True
        )
        self._thread.start()
        while not server.started and self._thread.is_alive():
            threading.Event().wait(0.01)
        if not server.started:
            raise EmberError("The local API stopped while starting; see the log for why.")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop serving (open answers are cancelled at their next token, requests waiting for
        their turn leave the queue) and close the socket."""
        if self._server is not None:
            self._end_open_work()  # before uvicorn waits for the open requests to end
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
