"""Child processes that speak framed JSON: one protocol for every helper Ember runs.

Ember runs work that could crash, hang or hold Python's GIL in child processes: the document
parser sandbox (:mod:`ember.knowledge.sandbox`) and the knowledge helper that indexes and
retrieves for the desktop app (:mod:`ember.knowledge.helper`). Both use this module.

The protocol, both ways: a *frame* is an 8-byte big-endian length, then that many bytes of UTF-8
JSON holding one object. JSON, never pickle: a child compromised by a crafted file can at worst
send back bad data, not code for the parent to run. In the child, :func:`protocol_stream` moves
the real stdout aside for frames and points file descriptor 1 at stderr, so nothing a library
prints can corrupt the stream; the parent keeps the last few KB of the child's stderr
(:meth:`ChildProcess.stderr_tail`) to say why a child died.
"""

from __future__ import annotations

import json
import os
import queue
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, BinaryIO

FRAME_HEADER = struct.Struct(">Q")
DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024
STDERR_TAIL_CHARS = 4000


class ChildDied(Exception):
    """The child closed its output, sent a malformed frame, or could not be written to."""


class EndOfInput(ChildDied):
    """The other side closed the stream cleanly, between two frames."""


def encode(message: dict[str, Any]) -> bytes:
    """One frame: header + UTF-8 JSON (lone surrogates from odd file names survive the trip)."""
    payload = json.dumps(message, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return FRAME_HEADER.pack(len(payload)) + payload


def read_frame(stream: IO[bytes], max_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> dict[str, Any]:
    """The next frame's object from ``stream``; raises :class:`ChildDied` at end of input, on a
    frame over ``max_bytes`` or on anything that is not a JSON object."""
    header = stream.read(FRAME_HEADER.size)
    if len(header) < FRAME_HEADER.size:
        raise EndOfInput("end of input")
    (size,) = FRAME_HEADER.unpack(header)
    if size > max_bytes:
        raise ChildDied(f"a frame of {size} bytes (the limit is {max_bytes})")
    payload = stream.read(size)
    if len(payload) < size:
        raise ChildDied("end of input inside a frame")
    try:
        message = json.loads(payload.decode("utf-8", "surrogatepass"))
    except (UnicodeDecodeError, ValueError):
        raise ChildDied("a frame that is not JSON") from None
    if not isinstance(message, dict):
        raise ChildDied("a frame that is not a JSON object")
    return message


# -- the parent's side -------------------------------------------------------------------------


class ChildProcess:
    """``python -m MODULE ARGS...`` with frames on stdin/stdout, read by a thread.

    ``receive`` returns the child's next message, ``None`` once it has closed its output (exited
    or died), and raises ``TimeoutError`` when nothing came in time. ``stop`` closes the child's
    input (every Ember child then exits on its own) and kills it if it lingers.
    """

    def __init__(
        self,
        module: str,
        args: Sequence[str] = (),
        *,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        env: dict[str, str] | None = None,
    ) -> None:
        import ember
        from ember.bundle import is_bundled

        env = dict(os.environ if env is None else env)
        # The child imports this very copy of Ember, whichever way the parent found it. Only for a
        # source checkout: an installed Ember is found by the child as it was by the parent, and
        # site-packages ahead of the standard library would be wrong. A frozen bundle's
        # executable runs ``-m ember.*`` itself (packaging/frozen_main.py) from its own archive.
        source_root = Path(ember.__file__).resolve().parent.parent
        if not is_bundled() and source_root.name not in ("site-packages", "dist-packages"):
            paths = (str(source_root), env.get("PYTHONPATH"))
            env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0) if sys.platform == "win32" else 0
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            close_fds=True,
            creationflags=flags,
        )
        self.max_frame_bytes = max_frame_bytes
        self.protocol_error: str | None = None  # why the reader stopped early, if it did
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._stderr = bytearray()
        self._stderr_lock = threading.Lock()
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(
                target=self._read, args=(self.process.stdout,), daemon=True, name=f"{module}-out"
            ),
            threading.Thread(
                target=self._drain, args=(self.process.stderr,), daemon=True, name=f"{module}-err"
            ),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: IO[bytes]) -> None:
        try:
            while True:
                self._messages.put(read_frame(stream, self.max_frame_bytes))
        except EndOfInput:
            pass
        except ChildDied as exc:
            # Oversized or malformed: the child can no longer be understood, and one left
            # running would block on a full pipe. Stop it now.
            self.protocol_error = str(exc)
            self.process.kill()
        except Exception as exc:  # a reader that dies silently would hang its callers
            self.protocol_error = f"{type(exc).__name__}: {exc}"
            self.process.kill()
        finally:
            self._messages.put(None)  # always: whoever waits learns that nothing more comes

    def _drain(self, stream: IO[bytes]) -> None:
        # Raw chunks, not lines: a progress bar that only writes "\r" has no lines to split on.
        read = getattr(stream, "read1", stream.read)
        try:
            while chunk := read(4096):
                with self._stderr_lock:
                    self._stderr += chunk
                    del self._stderr[:-STDERR_TAIL_CHARS]
        except (OSError, ValueError):
            pass

    def send(self, message: dict[str, Any]) -> bool:
        """Write one frame; False when the child is gone (its input closed or broken)."""
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(encode(message))
            self.process.stdin.flush()
        except (OSError, ValueError):
            return False
        return True

    def receive(self, timeout_s: float | None = None) -> dict[str, Any] | None:
        """The next message, or None once the child's output has ended; ``TimeoutError`` after
        ``timeout_s`` seconds without one."""
        try:
            return self._messages.get(timeout=timeout_s)
        except queue.Empty:
            raise TimeoutError from None

    def receive_until(self, deadline: float) -> dict[str, Any] | None:
        """:meth:`receive` until ``deadline`` (a ``time.monotonic()`` value)."""
        return self.receive(max(deadline - time.monotonic(), 0.0))

    def alive(self) -> bool:
        """Whether the child process is still running."""
        return self.process.poll() is None

    def stderr_tail(self) -> str:
        """The last few KB the child wrote on stderr (tracebacks, library noise), stripped."""
        if self.process.poll() is not None:
            for reader in self._readers[1:]:
                reader.join(0.5)  # what a child wrote just before dying
        with self._stderr_lock:
            return self._stderr.decode("utf-8", "replace").strip()

    def last_words(self) -> str:
        """Why the child stopped, for messages: a protocol error, else the last line of its
        stderr, else its exit status."""
        if self.protocol_error:
            return f"it sent {self.protocol_error}"
        tail = self.stderr_tail().splitlines()
        return tail[-1] if tail else f"exit status {self.process.poll()}"

    def exit_status(self, timeout_s: float = 5.0) -> int | None:
        """Wait up to ``timeout_s`` for the child to end; its exit status (negative: the signal
        that ended it), or None after killing one that would not end."""
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        """Kill the child at once if it still runs, reap it and close its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._close_streams()

    def stop(self, grace_s: float = 1.0) -> None:
        """Close the child's input (it exits on its own), then kill it if it lingers."""
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self._close_streams()

    def _close_streams(self) -> None:
        for reader in self._readers:  # they see end of file once the child is gone
            reader.join(2)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


# -- the child's side --------------------------------------------------------------------------


def protocol_stream() -> BinaryIO:
    """A private copy of stdout for frames; file descriptor 1 then points at stderr, so a library
    that prints can never corrupt the protocol (and what it prints reaches the parent's tail)."""
    sys.stdout.flush()
    private = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(private, "wb")


def send(stream: BinaryIO, message: dict[str, Any]) -> None:
    """Write one frame to the parent."""
    stream.write(encode(message))
    stream.flush()


def requests(stream: IO[bytes] | None = None) -> Iterator[dict[str, Any]]:
    """The parent's messages, until it closes our input (it went away, or wants us to exit)."""
    source = stream if stream is not None else sys.stdin.buffer
    while True:
        try:
            yield read_frame(source)
        except ChildDied:
            return
