"""Serving the local API from the window: started, restarted and stopped off the GUI thread.

:class:`ApiControl` turns the settings (``api_enabled``, ``api_host``, ``api_port``) and the saved
API key into a running :class:`~ember.api.server.ApiServer` over the window's core. The server
serves the model the window has chosen (``switch_models=False``). Starting imports the web stack
(FastAPI and its server) on a worker, never before the first paint: the window calls
:meth:`ApiControl.start_if_enabled` once it is on screen.

Only one start or stop runs at a time; a change asked for meanwhile is applied when it ends.
The outcome comes back by signals (``serving(url)``, ``stopped()``, ``failed(text)``) and in a
small status-bar label ("API on :4891"). A server that cannot start (its port is taken) is
said once through :mod:`ember.ui.message`, and the switch is turned off in the saved settings.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ember.ui import message
from ember.ui.qt import QLabel, QMainWindow, QObject, Signal

if TYPE_CHECKING:
    from ember.api.config import ServeConfig
    from ember.api.server import ApiServer
    from ember.config import Settings
    from ember.core import Core
    from ember.ui.tasks import TaskManager

log = logging.getLogger(__name__)

# How long quitting waits for the server to finish its open requests, in seconds.
QUIT_WAIT_S = 3.0


@dataclass(frozen=True, slots=True)
class Target:
    """What should be served: ``host``:``port`` with the key of ``key_epoch`` (bumped on each
    rotation, so a new key restarts the server)."""

    host: str
    port: int
    key_epoch: int = 0


def address(host: str, port: int) -> str:
    """``http://HOST:PORT`` (IPv6 hosts in brackets): the API is under ``/v1``, MCP ``/mcp``."""
    host = host.strip()
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    return f"http://{shown}:{port}"


class ApiControl(QObject):
    """The window's local API: what the settings ask for, served on a worker thread.

    ``url`` is the base URL (``http://127.0.0.1:4891/v1``) while serving, else None.
    """

    serving = Signal(str)  # the base URL, once the server accepts connections
    stopped = Signal()
    failed = Signal(str)  # why it could not start (shown to the person once)

    def __init__(self, core: Core, tasks: TaskManager, window: QMainWindow) -> None:
        super().__init__(window)
        self.core = core
        self.tasks = tasks
        self.url: str | None = None
        self.indicator = QLabel("", window)
        self.indicator.setObjectName("ApiStatus")
        self.indicator.setAccessibleName("Local API status")
        self.indicator.hide()
        window.statusBar().addPermanentWidget(self.indicator)
        self._wanted: Target | None = None  # what the settings ask for (None: off)
        self._running: Target | None = None  # what the last finished job left serving
        self._busy = False  # a start or stop job is on its way
        self._key_epoch = 0
        self._closing = False
        # The server object is touched only under this lock: by the jobs and by shutdown.
        self._lock = threading.Lock()
        self._server: ApiServer | None = None

    # -- what the window and the settings call ---------------------------------------------------

    def start_if_enabled(self) -> None:
        """Serve if the settings say so (the window calls this after its first paint)."""
        self.apply(self.core.settings)

    def apply(self, settings: Settings) -> None:
        """Serve as ``settings`` ask (saved settings): start, restart on a new address, or stop."""
        wanted = None
        if settings.api_enabled:
            wanted = Target(settings.api_host.strip(), settings.api_port, self._key_epoch)
        self._wanted = wanted
        self._next()

    @property
    def busy(self) -> bool:
        """True while a start or stop is on its way."""
        return self._busy

    @property
    def config(self) -> ServeConfig | None:
        """What the running server was started with (its key included), or None."""
        server = self._server
        return server.config if server is not None else None

    def key(self) -> str:
        """The saved API key (made on first use). Raises :class:`~ember.errors.ConfigError`."""
        from ember.api.config import api_key

        return api_key(self.core.paths)

    def rotate_key(self) -> str:
        """Save a new API key and return it; a running server restarts with it (the old key
        stops working). Raises :class:`~ember.errors.ConfigError` when it cannot be saved."""
        from ember.api.config import rotate_api_key

        key = rotate_api_key(self.core.paths)
        self._key_epoch += 1
        if self._wanted is not None:
            self._wanted = Target(self._wanted.host, self._wanted.port, self._key_epoch)
            self._next()
        return key

    def shutdown(self, timeout_s: float = QUIT_WAIT_S) -> bool:
        """Stop serving for good (the app quits), waiting at most about ``timeout_s`` seconds
        in all. Returns False when a request may still be running inside the core (the caller
        must not close the core under it)."""
        self._closing = True
        self._wanted = None
        if not self._lock.acquire(timeout=timeout_s):  # a start is still on its way
            log.warning("the local API was still starting at quit; not waiting for it")
            return False
        try:
            server, self._server = self._server, None
            if server is not None:
                server.stop(timeout_s)
        finally:
            self._lock.release()
        return not _serving_threads()

    # -- the jobs --------------------------------------------------------------------------------

    def _next(self) -> None:
        """Start the job that brings the server to what is wanted, unless one runs or none is
        needed."""
        if self._busy or self._closing or self._wanted == self._running:
            return
        target = self._wanted
        self._busy = True
        self.tasks.run_background(
            "api-serve" if target is not None else "api-stop",
            lambda _report: self._serve(target),
            on_done=lambda url: self._done(target, url),
            on_error=self._failed,
        )

    def _serve(self, target: Target | None) -> str | None:
        """*worker* Stop what is serving, then serve ``target`` (None: nothing); returns the
        base URL served, or None. Raises :class:`~ember.errors.EmberError` when it cannot."""
        with self._lock:
            if self._server is not None:
                self._server.stop()
                self._server = None
            if target is None or self._closing:
                return None
            from ember.api.config import ServeConfig, api_key
            from ember.api.server import ApiServer, check_bind

            config = ServeConfig(
                host=target.host,
                port=target.port,
                api_key=api_key(self.core.paths),
                switch_models=False,
            )
            check_bind(config, confirmed=True)  # Settings asked before saving another address
            server = ApiServer(self.core, config)
            try:
                server.start()
            except BaseException:
                server.stop(1.0)
                raise
            self._server = server
            log.info("serving the local API at %s", server.base_url)
            return server.base_url

    def _done(self, target: Target | None, url: str | None) -> None:
        self._busy = False
        self._running = target if url is not None else None
        self._show(url)
        self._next()

    def _failed(self, error: BaseException) -> None:
        from ember.errors import EmberError

        self._busy = False
        self._running = None
        self._wanted = None
        self._show(None)
        text = str(error) if isinstance(error, EmberError) else repr(error)
        if not isinstance(error, EmberError):
            log.error("the local API failed to start: %r", error)
        self._switch_off()
        self.failed.emit(text)
        message.error(
            "The local API could not start",
            f"{text}\n\nIf another program (or `ember serve`) uses this port, choose another "
            "port in Settings → Local API and switch the API on again.",
        )

    def _switch_off(self) -> None:
        """Save ``api_enabled = False``: the switch shows what is served, and the error is not
        repeated at every start."""
        from ember.errors import EmberError

        settings = self.core.settings
        if not settings.api_enabled:
            return
        try:
            self.core.apply_settings(settings.model_copy(update={"api_enabled": False}))
        except EmberError as exc:
            log.warning("could not save the local API switched off: %s", exc)

    def _show(self, url: str | None) -> None:
        changed = url != self.url
        self.url = url
        if url is None:
            self.indicator.hide()
            if changed:
                self.stopped.emit()
            return
        port = url.rsplit(":", 1)[1].split("/", 1)[0]
        self.indicator.setText(f"API on :{port}")
        self.indicator.setToolTip(
            f"Other apps can use Ember at {url} with the API key (Settings → Local API). "
            f"MCP clients: {url.removesuffix('/v1')}/mcp"
        )
        self.indicator.show()
        if changed:
            self.serving.emit(url)


def _serving_threads() -> bool:
    """True while a server thread (named ``ember-api`` by ApiServer) is still alive."""
    return any(t.name == "ember-api" and t.is_alive() for t in threading.enumerate())
