"""An MCP server as a child process: started in its own process group, spoken to over its
stdin/stdout (newline-delimited JSON-RPC), its stderr kept in a capped log, and the whole group
ended on the way out.

The SDK's own stdio client ends the server but not what the server started once the server
itself exits, and never tells its caller the process id; Ember needs both (a grandchild must not
outlive the app, and :meth:`McpHost.close` kills every group even when the event loop is stuck),
hence this small transport. It yields the same stream pair the SDK's ``ClientSession`` takes.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import Process

LOG_CAP_BYTES = 1_000_000  # a log over this is moved to ``.log.1`` (one old file kept)
TAIL_LINES = 12  # the last stderr lines an error message quotes
EXIT_WAIT_S = 1.0  # after stdin closes, how long the server may take to exit on its own
GRACE_S = 2.0  # after SIGTERM, how long before SIGKILL
# A message from the server longer than this (characters of JSON) ends the connection: a server
# writing without end must not fill Ember's memory. A 5 MB text result is about 11 MB of JSON.
MAX_MESSAGE_CHARS = 64 * 1024 * 1024


@dataclass
class StderrLog:
    """A server's stderr: appended to ``path`` (created owner-only, 0600: stderr can hold
    tokens; capped: rotated to ``path.1`` past :data:`LOG_CAP_BYTES`), with its last lines kept
    in memory for error messages. Ember's own notes (why a start failed) are lines starting
    ``ember:``."""

    path: Path
    cap_bytes: int = LOG_CAP_BYTES
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    _partial: str = ""

    def start(self, header: str) -> None:
        """Mark a new start in the log and forget the previous run's tail."""
        self.tail.clear()
        self._partial = ""
        stamp = datetime.now().isoformat(timespec="seconds")
        self._append(f"--- {stamp} {header} ---\n".encode())

    def write(self, data: bytes) -> None:
        """Log a chunk of the server's stderr."""
        self._append(data)
        lines = (self._partial + data.decode("utf-8", "replace")).split("\n")
        self._partial = lines.pop()[-2000:]
        self.tail.extend(line.rstrip()[:500] for line in lines if line.strip())

    def note(self, text: str) -> None:
        """Write Ember's own ``text`` (why the server failed) into the log, not into the tail."""
        self._append(f"ember: {text}\n".encode())

    def _append(self, data: bytes) -> None:
        self._rotate_if_full()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "ab") as handle:
                if sys.platform != "win32":
                    os.fchmod(handle.fileno(), 0o600)  # a log from before was 0644
                handle.write(data)
        except OSError:
            pass  # a full disk must not stop the server; the tail still holds its last words

    def last_lines(self) -> str:
        """The last lines written (and any unfinished one), newline-joined; "" when none."""
        lines = list(self.tail)
        if self._partial.strip():
            lines.append(self._partial.strip()[:500])
        return "\n".join(lines[-TAIL_LINES:])

    def _rotate_if_full(self) -> None:
        try:
            if self.path.stat().st_size > self.cap_bytes:
                os.replace(self.path, self.path.with_name(self.path.name + ".1"))
        except OSError:
            pass


@dataclass
class ServerProcess:
    """The running child: its ``process`` (``pid`` is also its process group's id)."""

    process: Process
    log: StderrLog
    stderr_closed: anyio.Event = field(default_factory=anyio.Event)
    too_big: bool = False  # it sent a message over MAX_MESSAGE_CHARS (the connection ended)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    async def settled(self, timeout_s: float = 1.0) -> int | None:
        """Wait (up to ``timeout_s``) for the process to exit and its stderr to be read; the
        exit code, or None while it still runs."""
        with anyio.move_on_after(timeout_s):
            while self.process.returncode is None:
                await anyio.sleep(0.02)
            await self.stderr_closed.wait()
        return self.process.returncode


@asynccontextmanager
async def stdio_transport(
    command: str,
    args: list[str],
    env: Mapping[str, str],
    log: StderrLog,
    on_spawn: Callable[[int], None],
) -> AsyncIterator[tuple[Any, Any, ServerProcess]]:
    """Start ``command args`` in a new session (its own process group) and yield ``(read,
    write, child)``: the stream pair for ``ClientSession`` and the child. ``on_spawn(pid)`` is
    called as soon as the process exists. On exit the group is ended: stdin closed, then
    SIGTERM to the group after :data:`EXIT_WAIT_S`, SIGKILL after :data:`GRACE_S`.

    Raises :class:`OSError` (``FileNotFoundError`` for an unknown command) when it cannot start.
    """
    import mcp_types
    from anyio.streams.text import TextReceiveStream
    from mcp.shared.message import SessionMessage

    process = await anyio.open_process(
        [command, *args],
        env=dict(env),
        stdin=-1,
        stdout=-1,
        stderr=-1,
        start_new_session=True,
    )
    on_spawn(process.pid)
    child = ServerProcess(process, log)
    read_send, read_receive = anyio.create_memory_object_stream[Any](0)
    write_send, write_receive = anyio.create_memory_object_stream[Any](0)

    def parse(line: str) -> Any:
        try:
            return SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(line))
        except ValueError as exc:
            return exc

    async def read_stdout() -> None:
        assert process.stdout is not None
        with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            async with read_send:
                pending: list[str] = []  # pieces of a long line (a 5 MB result is one line)
                size = 0  # characters in pending
                async for chunk in TextReceiveStream(process.stdout, errors="replace"):
                    *complete, rest = chunk.split("\n")
                    for piece in complete:
                        line = "".join(pending) + piece
                        pending, size = [], 0
                        if line.strip():
                            await read_send.send(parse(line))
                    if rest:
                        pending.append(rest)
                        size += len(rest)
                    if size > MAX_MESSAGE_CHARS:
                        child.too_big = True
                        mb = MAX_MESSAGE_CHARS // (1024 * 1024)
                        log.write(f"ember: a message over {mb} MB; connection closed\n".encode())
                        return  # the session sees the end of the connection

    async def write_stdin() -> None:
        assert process.stdin is not None
        try:
            async with write_receive:
                async for message in write_receive:
                    json = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    await process.stdin.send((json + "\n").encode("utf-8"))
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            await read_send.aclose()  # the session sees the end instead of waiting forever

    async def read_stderr() -> None:
        assert process.stderr is not None
        try:
            with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
                async for chunk in process.stderr:
                    log.write(chunk)
        finally:
            child.stderr_closed.set()

    async with anyio.create_task_group() as group:
        group.start_soon(read_stdout)
        group.start_soon(write_stdin)
        group.start_soon(read_stderr)
        try:
            yield read_receive, write_send, child
        finally:
            with anyio.CancelScope(shield=True):
                await _end(process)
                for stream in (read_receive, write_send, read_send, write_receive):
                    await stream.aclose()
            group.cancel_scope.cancel()


async def _end(process: Process) -> None:
    """Close stdin, let the server exit on its own briefly, then end its whole group."""
    if process.stdin is not None:
        with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            await process.stdin.aclose()
    with anyio.move_on_after(EXIT_WAIT_S):
        while process.returncode is None:
            await anyio.sleep(0.02)
    pgid = process.pid
    signal_group(pgid, signal.SIGTERM)  # also when the leader left: its children may not have
    with anyio.move_on_after(GRACE_S):
        while group_alive(pgid):
            await anyio.sleep(0.02)
    if group_alive(pgid):
        signal_group(pgid, signal.SIGKILL)
    with anyio.move_on_after(1.0):
        while process.returncode is None:
            await anyio.sleep(0.02)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                await stream.aclose()
    transport = getattr(getattr(process, "_process", None), "_transport", None)
    close = getattr(transport, "close", None)
    if callable(close):  # else asyncio warns about it at garbage collection
        with suppress(PermissionError):
            close()


def end_group(pgid: int, grace_s: float = GRACE_S) -> None:
    """Synchronously end the process group ``pgid``: SIGTERM, then SIGKILL after ``grace_s``.
    A group already gone is fine."""
    if not group_alive(pgid):
        return
    signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if group_alive(pgid):
        signal_group(pgid, signal.SIGKILL)


def signal_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to every process of group ``pgid``; nothing when the group is gone."""
    if sys.platform == "win32":  # pragma: no cover - no process groups there
        with suppress(OSError):
            os.kill(pgid, signal.SIGTERM)
        return
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still runs (zombies, which wait only to be reaped,
    do not count: a container's init may never reap an orphan)."""
    if sys.platform == "win32":  # pragma: no cover
        return process_alive(pgid)
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not)."""
    fields = _stat_fields(pid)
    if fields is not None:
        return fields[0] != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not Path("/proc").is_dir()  # /proc exists but had no entry: gone


def _stat_fields(pid: int) -> list[str] | None:
    """``/proc/<pid>/stat`` after the command name: state, ppid, pgrp, …; None when absent."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()
