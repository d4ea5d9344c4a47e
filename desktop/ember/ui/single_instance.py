"""One Ember per data folder: a second ``ember [PATH...]`` hands its paths to the one running.

Two windows over the same data folder would both write the same chats and index. So the first
app to start takes a lock file in the data folder (:class:`QLockFile`: a lock left by a crashed
process is noticed by its dead process id and taken over) and listens on a local socket named
for the user and the data folder (:func:`server_name`), so two different ``EMBER_HOME``\\ s run
side by side. A later start that finds the lock taken connects to that socket instead of opening
a window, sends its paths and exits: the running window comes forward and offers them for
indexing, as if they had been dropped on it.

The protocol, one exchange per connection: the second process writes one line of UTF-8 JSON,
``{"paths": ["/absolute/path", ...]}`` (an empty list for a plain ``ember``), and the first
answers ``ok`` on a line of its own once it has taken them, or ``error: WHY`` when the request
makes no sense. A socket file left by a crash is removed before listening
(:meth:`QLocalServer.removeServer`): whoever holds the lock owns the name.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ember.ui.qt import QLocalServer, QLocalSocket, QLockFile, QObject, Signal

log = logging.getLogger(__name__)

LOCK_NAME = "app.lock"  # in the data folder
CONNECT_MS = 500  # one attempt to connect
ANSWER_MS = 10_000  # the running app answers from its event loop; a busy one can take a while
WAIT_FOR_FIRST_S = 15.0  # a first start still on its way up has not listened yet
MAX_REQUEST_BYTES = 1 << 20


def server_name(data_dir: Path) -> str:
    """The local socket's name for this user and data folder (short: Unix socket paths are)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        user = "?"
    digest = hashlib.sha256(f"{user}\0{data_dir.expanduser().resolve()}".encode()).hexdigest()
    return f"ember-{digest[:20]}"


def encode_request(paths: Sequence[Path]) -> bytes:
    """One request line: ``{"paths": [absolute paths]}`` and a newline."""
    body = {"paths": [str(Path(p).absolute()) for p in paths]}
    return json.dumps(body).encode("utf-8") + b"\n"


def decode_request(line: bytes) -> list[Path]:
    """The paths of one request line; ``ValueError`` saying why when it is not one."""
    try:
        body = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a JSON request: {exc}") from None
    paths = body.get("paths") if isinstance(body, dict) else None
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ValueError('expected {"paths": [strings]}')
    if not all(Path(p).is_absolute() for p in paths):
        raise ValueError("paths must be absolute")
    return [Path(p) for p in paths]


def describe(paths: Sequence[Path]) -> str:
    """What was sent, for the person: "2 files", "1 folder", "1 file and 1 folder"."""
    folders = sum(1 for p in paths if p.is_dir())
    files = len(paths) - folders
    parts = [
        f"{n} {word}{'s' if n != 1 else ''}"
        for n, word in ((files, "file"), (folders, "folder"))
        if n
    ]
    return " and ".join(parts)


# -- the second start ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Handed:
    """How handing the paths over went: ``delivered``, or why not (``problem``)."""

    delivered: bool
    problem: str = ""


def send(name: str, paths: Sequence[Path], wait_s: float = WAIT_FOR_FIRST_S) -> Handed:
    """Give ``paths`` to the app listening on ``name``, retrying the connection for ``wait_s``
    (it may be starting); blocking, no event loop needed."""
    request = encode_request(paths)
    log.debug("handing %d path(s) to %s", len(paths), name)
    deadline = time.monotonic() + wait_s
    while True:
        socket = QLocalSocket()
        socket.connectToServer(name)
        if socket.waitForConnected(CONNECT_MS):
            break
        socket.abort()
        if time.monotonic() >= deadline:
            return Handed(False, "it does not answer")
        time.sleep(0.1)
    try:
        socket.write(request)
        if not socket.waitForBytesWritten(ANSWER_MS):
            return Handed(False, "it stopped listening")
        answer = b""
        while not answer.endswith(b"\n"):
            if not socket.waitForReadyRead(ANSWER_MS):
                return Handed(False, "it did not confirm")
            answer += bytes(socket.readAll().data())
        text = answer.decode("utf-8", "replace").strip()
        return Handed(True) if text == "ok" else Handed(False, text)
    finally:
        socket.abort()


# -- the first start -------------------------------------------------------------------------------


class Instance(QObject):
    """The running app's claim on a data folder: its lock, and the socket later starts reach.

    ``pathsReceived(list[Path])`` fires on the GUI thread for each request."""

    pathsReceived = Signal(object)

    def __init__(self, lock: QLockFile, name: str) -> None:
        super().__init__()
        self._lock = lock
        self.name = name
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)

    def listen(self) -> bool:
        """Listen on the name, removing a socket file a crashed app left; False (logged) if
        the system refuses."""
        QLocalServer.removeServer(self.name)
        if self._server.listen(self.name):
            log.debug("listening for later starts on %s", self._server.fullServerName())
            return True
        log.warning("cannot listen for later starts: %s", self._server.errorString())
        return False

    @property
    def address(self) -> str:
        """Where it listens: the socket file's path on Unix ("" before listening)."""
        return self._server.fullServerName()

    def release(self) -> None:
        """Stop listening and give the lock back (at exit)."""
        self._server.close()
        self._lock.unlock()

    def _accept(self) -> None:
        while (connection := self._server.nextPendingConnection()) is not None:
            log.debug("a later start connected")
            connection.setParent(self)
            buffer = bytearray()
            connection.readyRead.connect(lambda c=connection, b=buffer: self._read(c, b))
            connection.disconnected.connect(connection.deleteLater)
            if connection.bytesAvailable():
                self._read(connection, buffer)

    def _read(self, connection: QLocalSocket, buffer: bytearray) -> None:
        buffer += bytes(connection.readAll().data())
        if b"\n" not in buffer and len(buffer) < MAX_REQUEST_BYTES:
            return  # the rest is on its way
        line = bytes(buffer).split(b"\n", 1)[0]
        buffer.clear()
        try:
            paths: list[Path] | None = decode_request(line)
            answer = b"ok\n"
        except ValueError as exc:
            log.warning("ignored a request from another start: %s", exc)
            paths, answer = None, f"error: {exc}\n".encode()
        connection.write(answer)
        connection.flush()
        connection.disconnectFromServer()
        if paths is not None:  # answered first: what the paths open may wait for the person
            log.info("another start sent %d path(s)", len(paths))
            self.pathsReceived.emit(paths)


def claim(data_dir: Path) -> Instance | None:
    """This process's claim on ``data_dir`` (not yet listening), or None when a running app
    holds it; a lock left by a process that no longer runs is taken over."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = QLockFile(str(data_dir / LOCK_NAME))
    lock.setStaleLockTime(0)  # stale only when its process is gone, however old
    if not lock.tryLock(0):
        return None
    return Instance(lock, server_name(data_dir))


def holder(data_dir: Path) -> int | None:
    """The process id in ``data_dir``'s lock, if any (for the message when it does not answer)."""
    info = QLockFile(str(data_dir / LOCK_NAME)).getLockInfo()  # (pid, host, app); pid 0: none
    pid = int(info[0]) if info else 0
    return pid or None
