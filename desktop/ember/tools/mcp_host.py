"""Ember as an MCP host: the configured servers' tools, callable from any thread.

One background thread runs an asyncio loop holding one SDK ``ClientSession`` per enabled server
(stdio child processes via :mod:`ember.tools.mcp_process`, or streamable HTTP). The methods here
block their caller (never call them on the GUI thread) and never longer than the timeout:

- :meth:`McpHost.tools` starts the enabled servers on first use (and any that died since) and
  lists their tools as :class:`~ember.tools.types.Tool` objects. A server that fails to start
  gives no tools; :meth:`McpHost.status` says why, and its log ends with the reason. It is not
  tried again for ``retry_after_s`` (30 s): a use before then fails at once with the same
  message; :meth:`McpHost.restart` (Settings' Save) tries it at once.
- ``tool.run(arguments, cancel)`` calls the tool: text parts joined, other parts described,
  ``isError`` as ``is_error``. A server that cannot start, a call over ``timeout_s`` (abandoned;
  a server that then stops answering is ended and started again on next use), a server that
  died during the call, and a cancelled call are :class:`~ember.errors.ToolError` with a
  message for the person (quoting the end of the server's log where it helps).
- :meth:`McpHost.close` ends every server's process group (SIGTERM, SIGKILL after a grace
  period), also at interpreter exit, and a start in progress at once; it is idempotent.

The model sees a tool by its own name when no other configured server has listed one by that
name (nor a built-in: ``reserved``), otherwise as ``<server>_<tool>``; names are reduced to
``[A-Za-z0-9_-]``, at most 64 characters. Clashes are decided from every enabled server's tool
list as last listed, whether or not it runs now, so a name does not change when a server fails
or stops; only a server listing a new tool (or a changed mcp.json) can rename. The name that never
changes is :attr:`ToolInfo.key` (``server/tool``), which the toolbox accepts wherever a name is.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import re
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ember.errors import ToolError
from ember.tools.mcp_config import ServerConfig
from ember.tools.mcp_output import tool_output
from ember.tools.mcp_process import StderrLog, end_group, group_alive
from ember.tools.types import ToolInfo, ToolOutput

if TYPE_CHECKING:
    from ember.cancel import CancelToken
    from ember.tools.mcp_process import ServerProcess

State = Literal["stopped", "starting", "running", "failed"]
MAX_NAME = 64
PING_TIMEOUT_S = 3.0  # after a call timed out: how long the server has to answer a ping
RETRY_AFTER_S = 30.0  # a server that failed to start is not started again sooner


@dataclass(frozen=True)
class ServerStatus:
    """How one configured server is doing: ``state``, a ``message`` for the person (why it
    failed, "disabled"), how many tools it offers, where its stderr is logged (stdio servers;
    None for URL servers), its process id while it runs, and whether mcp.json disables it."""

    name: str
    state: State
    message: str = ""
    tool_count: int = 0
    log_path: Path | None = None
    pid: int | None = None
    disabled: bool = False


class McpTool:
    """One tool of one server, as the tool loop calls it (:class:`ember.tools.types.Tool`)."""

    def __init__(self, host: McpHost, info: ToolInfo) -> None:
        self._host = host
        self.info = info

    def run(self, arguments: Mapping[str, Any], cancel: CancelToken) -> ToolOutput:
        """Call the tool; see the module for what raises :class:`ToolError`."""
        if not self.info.enabled:
            raise ToolError(f"The tool {self.info.key} is switched off in Settings.")
        return self._host.call(self.info, arguments, cancel)


class _Server:
    """A configured server and what the loop knows of it (written on the loop thread only)."""

    def __init__(self, config: ServerConfig, log_dir: Path) -> None:
        self.config = config
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", config.name)[:80]
        self.log = StderrLog(log_dir / f"mcp-{safe}.log") if not config.url else None
        self.state: State = "stopped"
        self.message = "disabled" if config.disabled else ""
        self.tools: list[Any] = []  # the SDK's Tool records, as last listed (kept when it stops)
        self.retry_at = 0.0  # after a failed start: time.monotonic() before which it is not tried
        self.retry_clock = ""  # that moment as the person reads it ("14:03:22")
        self.session: Any = None
        self.child: ServerProcess | None = None
        self.stop: asyncio.Event | None = None
        self.runner: asyncio.Task[None] | None = None
        self.ready: asyncio.Event | None = None
        self.connecting = False  # the runner is starting it: a stop may cancel the runner

    def label(self) -> str:
        return f"The MCP server {self.config.name!r}"

    def log_hint(self) -> str:
        """The end of the server's log, quoted for a message ("" when it wrote nothing)."""
        last = self.log.last_lines() if self.log is not None else ""
        if not last:
            return ""
        return f" The end of its log ({self.log.path if self.log else ''}):\n{last}"

    def fail(self, message: str, logged: str, retry_after_s: float = 0.0) -> None:
        """Mark it failed with ``message``; ``logged`` (the reason without the log's own tail)
        goes into its log; ``retry_after_s`` > 0: not started again sooner."""
        self.state, self.message = "failed", message
        if self.log is not None:
            self.log.note(logged)
        if retry_after_s > 0:
            self.retry_at = time.monotonic() + retry_after_s
            later = time.localtime(time.time() + retry_after_s)
            self.retry_clock = time.strftime("%H:%M:%S", later)

    def waiting(self) -> bool:
        """Whether it failed to start and may not be tried yet."""
        return self.state == "failed" and time.monotonic() < self.retry_at

    def status_message(self) -> str:
        if self.waiting():
            return f"{self.message} (failed; retrying after {self.retry_clock}, on next use)"
        return self.message


class McpHost:
    """The MCP servers of ``servers`` (see the module). ``log_dir`` gets ``mcp-<server>.log``;
    ``timeout_s`` bounds each call; ``start_timeout_s`` a server's start (default: the larger
    of ``timeout_s`` and 30 s, as a first ``npx``/``uvx`` start may fetch packages);
    ``retry_after_s``: how long a server that failed to start is left before it is tried again
    (on the next use after that)."""

    def __init__(
        self,
        servers: Sequence[ServerConfig],
        log_dir: Path,
        timeout_s: float = 60.0,
        *,
        start_timeout_s: float | None = None,
        retry_after_s: float = RETRY_AFTER_S,
    ) -> None:
        self.log_dir = log_dir
        self.retry_after_s = retry_after_s
        self.timeout_s = timeout_s
        self.start_timeout_s = start_timeout_s or max(timeout_s, 30.0)
        self._servers = [_Server(c, log_dir) for c in servers]
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._groups: set[int] = set()  # process groups started and not yet seen ended
        self._closed = False
        atexit.register(self.close)

    # -- the sync facade ------------------------------------------------------------------

    def tools(self, reserved: Collection[str] = ()) -> list[McpTool]:
        """Every tool of every enabled server, starting servers not running (first use, or
        died since; not one that failed to start within ``retry_after_s``). Names avoid
        ``reserved`` (the built-ins' names; see the module for the naming rule). Blocks up to
        the start timeout; a server that fails is left out (see :meth:`status`)."""
        if self._closed:
            return []
        self._wait(self._submit(self._start_all()), self.start_timeout_s + 15)
        return self._tool_objects(reserved)

    def status(self) -> list[ServerStatus]:
        """Each configured server's state, in configuration order."""
        return [
            ServerStatus(
                name=s.config.name,
                state=s.state,
                message=s.status_message(),
                tool_count=len(s.tools) if s.state == "running" else 0,
                log_path=s.log.path if s.log is not None else None,
                pid=s.child.pid if s.child is not None and s.state == "running" else None,
                disabled=s.config.disabled,
            )
            for s in self._servers
        ]

    def restart(self, servers: Sequence[ServerConfig]) -> None:
        """Stop every server and take ``servers`` as the configuration; they start again on
        the next :meth:`tools` or call (one that failed is tried again at once). A server of the
        same name and settings keeps its last tool list, so names stay as they were."""
        if self._closed:
            return
        if self._loop is not None:
            self._wait(self._submit(self._stop_all()), 3 * 5.0 + 5)
        self._end_groups()
        listed = {s.config: s.tools for s in self._servers}
        self._servers = [_Server(c, self.log_dir) for c in servers]
        for server in self._servers:
            server.tools = list(listed.get(server.config, []))

    def close(self) -> None:
        """End every server and its process group and stop the loop thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.close)
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(self._stop_all(), loop).result(15)
            except (concurrent.futures.TimeoutError, RuntimeError):
                pass  # a stuck loop: the groups are ended below all the same
        self._end_groups()
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)

    def call(self, info: ToolInfo, arguments: Mapping[str, Any], cancel: CancelToken) -> ToolOutput:
        """Call ``info``'s tool with ``arguments``; blocks up to the start and call timeouts or
        until ``cancel``. Raises :class:`ToolError` (see the module)."""
        if self._closed:
            raise ToolError("Ember's MCP servers are shut down (Ember is closing).")
        server = next((s for s in self._servers if s.config.name == info.server), None)
        if server is None:
            raise ToolError(f"No MCP server named {info.server!r} is configured any more.")
        if server.config.disabled:
            raise ToolError(f"{server.label()} is switched off in Settings.")
        future = self._submit(self._call(server, info, dict(arguments), cancel))
        return self._wait(future, self.start_timeout_s + 2 * self.timeout_s + 20)

    # -- the loop thread --------------------------------------------------------------------

    def _submit(self, coroutine: Any) -> concurrent.futures.Future[Any]:
        """Run ``coroutine`` on the loop thread (started on first use). Raises
        :class:`ToolError` once :meth:`close` has begun: a caller that passed its own check
        just before must not start a loop (and servers) nothing would ever end."""
        with self._lock:
            if self._closed:
                coroutine.close()
                raise ToolError("Ember's MCP servers are shut down (Ember is closing).")
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._run_loop, args=(self._loop,), name="mcp-host", daemon=True
                )
                self._thread.start()
            loop = self._loop
        return asyncio.run_coroutine_threadsafe(coroutine, loop)

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    def _wait(self, future: concurrent.futures.Future[Any], timeout_s: float) -> Any:
        """The future's result; a :class:`ToolError` after ``timeout_s`` (a safety net)."""
        try:
            return future.result(timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise ToolError("Ember's MCP host did not answer in time.") from None
        except concurrent.futures.CancelledError:
            raise ToolError("The MCP call was stopped (Ember is closing).") from None

    def _end_groups(self) -> None:
        for pgid in list(self._groups):
            end_group(pgid)
            self._groups.discard(pgid)

    async def _start_all(self) -> None:
        enabled = [s for s in self._servers if not s.config.disabled and not s.waiting()]
        await asyncio.gather(*(self._ensure(s) for s in enabled), return_exceptions=True)

    async def _stop_all(self) -> None:
        await asyncio.gather(*(self._stop(s) for s in self._servers), return_exceptions=True)

    async def _stop(self, server: _Server) -> None:
        if server.stop is not None:
            server.stop.set()
        if server.runner is not None:
            # a hung start never looks at ``stop``; one already failing is left to end its group
            if server.connecting and not server.runner.cancelling():
                server.runner.cancel()
            await asyncio.wait({server.runner}, timeout=10)

    async def _ensure(self, server: _Server) -> Any:
        """The server's session, starting it if it is not running (or waiting for a start in
        progress). Raises :class:`ToolError` when it does not start (at once, with the last
        failure, while a failed start is not to be retried yet)."""
        if server.waiting():
            raise ToolError(server.status_message())
        if server.state == "running" and server.session is not None:
            if server.child is None or server.child.returncode is None:
                return server.session
            await self._stop(server)  # it died since: the runner records why, then restart
        if server.runner is None or server.runner.done():
            if server.runner is not None:
                await asyncio.wait({server.runner})
            server.ready = asyncio.Event()
            server.stop = asyncio.Event()
            server.state, server.message = "starting", ""
            server.runner = asyncio.get_running_loop().create_task(self._serve(server))
        assert server.ready is not None
        await server.ready.wait()
        if server.state != "running" or server.session is None:
            raise ToolError(server.message or f"{server.label()} did not start.")
        return server.session

    async def _serve(self, server: _Server) -> None:
        """Run one connection: start, list tools, then hold it until stopped or the process
        exits. Leaves ``state``/``message`` saying how it ended."""
        from contextlib import AsyncExitStack

        import anyio

        assert server.ready is not None and server.stop is not None
        try:
            async with AsyncExitStack() as stack:
                server.connecting = True
                try:
                    read, write = await self._connect(server, stack)
                    session = await stack.enter_async_context(_client_session(read, write))
                    with anyio.fail_after(self.start_timeout_s):
                        await session.initialize()
                        server.tools = await _list_tools(session)
                finally:
                    server.connecting = False
                server.session, server.state = session, "running"
                server.ready.set()
                while True:
                    if server.child is not None and server.child.returncode is not None:
                        code = await server.child.settled()
                        said = f"{server.label()} exited (exit code {code}); it starts again on next use."
                        server.fail(f"{said}{server.log_hint()}", said)
                        break
                    if server.stop.is_set():
                        break
                    with anyio.move_on_after(0.2):
                        await server.stop.wait()
                server.session = None
                if server.state == "running":
                    server.state, server.message = "stopped", ""
        except asyncio.CancelledError:  # stopped while starting (restart, quit)
            server.state, server.message = "stopped", ""
            raise
        except Exception as exc:  # the SDK and the transports raise many kinds
            started = server.state != "starting"  # it ran: died since, not a failed start
            if server.child is not None:
                await server.child.settled(1.0)
            hint = server.log_hint()
            server.fail(
                self._start_failure(server, _leaf(exc), hint),
                self._start_failure(server, _leaf(exc), ""),
                0.0 if started else self.retry_after_s,
            )
        finally:
            server.session = None
            if server.child is not None and not group_alive(server.child.pid):
                self._groups.discard(server.child.pid)  # else close/restart end it
            server.ready.set()

    def _start_failure(self, server: _Server, exc: BaseException, hint: str) -> str:
        """Why ``server`` did not start, for the person; ``hint``: the end of its log."""
        config = server.config
        if isinstance(exc, FileNotFoundError):
            return (
                f"{server.label()} could not start: the command {config.command!r} was not "
                "found. Check the path in the MCP settings (an absolute path is safest)."
            )
        if isinstance(exc, PermissionError):
            return f"{server.label()} could not start: {config.command!r} is not executable."
        if isinstance(exc, TimeoutError):
            return (
                f"{server.label()} did not finish starting within {self.start_timeout_s:g} s.{hint}"
            )
        code = server.child.returncode if server.child is not None else None
        if code is not None:
            how = f"exited while starting (exit code {code})"
        elif config.url:
            how = f"could not be reached at {config.url}"
        else:
            how = "failed to start"
        return f"{server.label()} {how}: {_describe(exc)}.{hint}"

    async def _connect(self, server: _Server, stack: Any) -> tuple[Any, Any]:
        """The stream pair to ``server``: its child process's pipes, or the HTTP transport."""
        config = server.config
        if config.url:
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            client = await stack.enter_async_context(
                create_mcp_http_client(headers=dict(config.headers) or None)
            )
            read, write = await stack.enter_async_context(
                streamable_http_client(config.url, http_client=client)
            )
            return read, write
        from mcp.client.stdio import get_default_environment

        from ember.tools.mcp_process import stdio_transport

        assert server.log is not None
        server.log.start(f"starting {config.command} {' '.join(config.args)}".strip())
        env = get_default_environment() | dict(config.env)
        read, write, child = await stack.enter_async_context(
            stdio_transport(config.command, list(config.args), env, server.log, self._groups.add)
        )
        server.child = child
        return read, write

    async def _call(
        self, server: _Server, info: ToolInfo, arguments: dict[str, Any], cancel: CancelToken
    ) -> ToolOutput:
        import anyio

        session = await self._ensure(server)
        name = info.remote_name or info.name
        outcome: list[Any] = []

        async def watch_cancel(scope: anyio.CancelScope) -> None:
            while not cancel.cancelled:
                await anyio.sleep(0.05)
            outcome.append("cancelled")
            scope.cancel()

        async with anyio.create_task_group() as group:
            group.start_soon(watch_cancel, group.cancel_scope)
            with anyio.move_on_after(self.timeout_s) as timer:
                try:
                    outcome.append(await session.call_tool(name, arguments))
                except Exception as exc:  # turned into a message below
                    outcome.append(exc)
            if timer.cancelled_caught:
                outcome.append("timeout")
            group.cancel_scope.cancel()
        result = outcome[0] if outcome else "cancelled"
        label = f"the tool {name!r} of the MCP server {server.config.name!r}"
        if result == "cancelled":
            raise ToolError(f"The call to {label} was cancelled.")
        if result == "timeout":
            await self._check_alive(server)
            raise ToolError(
                f"{label[0].upper()}{label[1:]} did not answer within {self.timeout_s:g} s; the call was abandoned."
                + ("" if server.state == "running" else " " + server.message)
            )
        if isinstance(result, Exception):
            child = server.child
            if child is not None and child.too_big:
                await self._stop(server)
                raise ToolError(
                    f"{label[0].upper()}{label[1:]} sent a result too large to read; the call "
                    "was abandoned and the server starts again on next use."
                )
            if child is not None and (await child.settled(1.0)) is not None:
                await self._stop(server)
                raise ToolError(
                    f"{server.label()} exited during the call to {name!r} (exit code "
                    f"{child.returncode}); it starts again on next use.{server.log_hint()}"
                )
            await self._check_alive(server)  # a dropped connection reconnects on next use
            extra = "" if server.state == "running" else " " + server.message
            raise ToolError(f"Calling {label} failed: {_describe(result)}.{extra}")
        return tool_output(result)

    async def _check_alive(self, server: _Server) -> None:
        """After a call timed out or failed: a server that does not answer a ping is ended (it
        starts again on next use)."""
        import anyio

        session = server.session
        if session is None:
            return
        try:
            with anyio.fail_after(min(PING_TIMEOUT_S, self.timeout_s)):
                await session.send_ping()
        except Exception:  # any failure: it is not answering
            await self._stop(server)
            server.state = "failed"
            server.message = (
                f"{server.label()} stopped answering and was ended; it starts again on next use."
            )

    def _tool_objects(self, reserved: Collection[str]) -> list[McpTool]:
        """Tool objects for the running servers, with the names the model sees: decided over
        every enabled server's last tool list, so they do not depend on which servers run."""
        listed = [(s, t) for s in self._servers if not s.config.disabled for t in s.tools]
        counts: dict[str, int] = {}
        for _server, tool in listed:
            key = _safe_name(tool.name)
            counts[key] = counts.get(key, 0) + 1
        taken = set(reserved)
        tools: list[McpTool] = []
        for server, tool in listed:
            name = _safe_name(tool.name)
            if counts[name] > 1 or name in taken:
                name = _safe_name(f"{server.config.name}_{tool.name}")
            base, n = name, 2
            while name in taken:
                suffix = f"_{n}"
                name, n = base[: MAX_NAME - len(suffix)] + suffix, n + 1
            taken.add(name)
            info = ToolInfo(
                name=name,
                description=(tool.description or tool.title or "").strip(),
                parameters=dict(tool.input_schema or {"type": "object", "properties": {}}),
                server=server.config.name,
                remote_name=tool.name,
                read_only=False,  # an MCP tool is always approved first (or always allowed)
                enabled=tool.name not in server.config.disabled_tools,
            )
            if server.state == "running":
                tools.append(McpTool(self, info))
        return tools

    def why_missing(self, name: str) -> str:
        """Why there may be no tool ``name`` (a name or a ``server/tool`` key), for a message:
        the server named, or that listed it, is off or not running (with its message), or the
        servers that did not start; "" when no server explains it."""
        server_name, _, tool_name = name.rpartition("/")
        named = [s for s in self._servers if s.config.name == server_name]
        if named:
            (server,) = named
            if server.config.disabled:
                return f"{server.label()} is switched off (disabled in mcp.json)."
            if server.state == "running":
                known = ", ".join(t.name for t in server.tools) or "none"
                return f"{server.label()} has no tool {tool_name!r} (its tools: {known})."
            return server.status_message() or f"{server.label()} is not running."

        def listed(server: _Server) -> bool:
            prefix = f"{server.config.name}_"
            return any(
                name in (t.name, _safe_name(t.name), _safe_name(prefix + t.name))
                for t in server.tools
            )

        had = [s for s in self._servers if s.state != "running" and listed(s)]
        if had:
            return " ".join(
                f"It is a tool of the MCP server {s.config.name!r}, which is not running. {s.status_message()}".strip()
                for s in had
            )
        return " ".join(s.status_message() for s in self._servers if s.state == "failed")


def _client_session(read: Any, write: Any) -> Any:
    from mcp.client.session import ClientSession
    from mcp_types import Implementation

    from ember import __version__

    return ClientSession(read, write, client_info=Implementation(name="ember", version=__version__))


async def _list_tools(session: Any) -> list[Any]:
    """Every tool the server lists, following pagination."""
    from mcp_types import PaginatedRequestParams

    tools: list[Any] = []
    cursor: str | None = None
    for _page in range(100):
        params = PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:MAX_NAME] or "tool"


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _describe(exc: BaseException) -> str:
    """An exception as a short phrase (the SDK's errors carry their message)."""
    exc = _leaf(exc)
    text = str(exc).strip().rstrip(".")
    return text or type(exc).__name__
