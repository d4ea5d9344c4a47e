"""The app as a person starts it: a separate ``python -m ember`` process, driven and read from outside.

Modelled on qutebrowser's end-to-end tests: the test starts the real program (a private
``EMBER_HOME``, offscreen Qt, ``EMBER_LOG_LEVEL=debug`` so it logs what it does on stderr), waits
for lines in that log, drives the program the ways a person or the desktop can (paths on the
command line, SIGTERM), and then asserts on what it logged, how it exited and what it left on
disk. Nothing of the app runs in the test's process.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parents[2]

# "2026-11-30 11:10:58,845 DEBUG ember.ui.app: shown: MainWindow 'Ember'" (see ember.ui.app).
_LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) (?P<logger>[\w.]+): (?P<message>.*)$"
)

# Lines the app may write to stderr that are not its log and not a problem. Each says why.
EXPECTED_NOISE = (
    # Qt's offscreen platform plugin cannot honour window-manager hints; harmless off a display.
    re.compile(r"^This plugin does not support propagateSizeHints\(\)$"),
    # The same plugin has no window stacking: a window brought forward (a later ``ember PATH``)
    # cannot be raised off a display.
    re.compile(r"^This plugin does not support raise\(\)$"),
)


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of the app's stderr: a log record (level, logger, message) or anything else
    (``level`` None: Qt's own messages, a traceback)."""

    raw: str
    level: str | None = None
    logger: str | None = None
    message: str = ""

    @classmethod
    def parse(cls, raw: str) -> LogLine:
        match = _LOG_LINE.match(raw)
        if match is None:
            return cls(raw, message=raw)
        return cls(raw, match["level"], match["logger"], match["message"])

    @property
    def unexpected(self) -> bool:
        """A warning or error from the app, or a line that is neither its log nor known noise."""
        if self.level is not None:
            return self.level in ("WARNING", "ERROR", "CRITICAL")
        return not any(pattern.match(self.raw) for pattern in EXPECTED_NOISE)


class AppProcess:
    """``python -m ember ARGS`` with ``home`` as its EMBER_HOME; use as a context manager (the
    process is killed on the way out if a test left it running)."""

    def __init__(self, home: Path, args: Sequence[str] = (), env: dict[str, str] | None = None):
        self.home = home
        self.args = list(args)
        self.env = {
            **os.environ,
            "EMBER_HOME": str(home),
            "EMBER_LOG_LEVEL": "debug",
            "QT_QPA_PLATFORM": "offscreen",
            "PYTHONPATH": os.pathsep.join([str(REPO / "desktop"), str(REPO)]),
            **(env or {}),
        }
        self.lines: list[LogLine] = []
        self._changed = threading.Condition()
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    # -- running -------------------------------------------------------------------------------

    def start(self) -> AppProcess:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "ember", *self.args],
            cwd=REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._reader = threading.Thread(target=self._read, name="app-stderr", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        for raw in self._process.stderr:
            with self._changed:
                self.lines.append(LogLine.parse(raw.rstrip("\n")))
                self._changed.notify_all()
        self._process.stderr.close()
        with self._changed:  # end of output: the process has exited or closed stderr
            self._changed.notify_all()

    @property
    def pid(self) -> int:
        assert self._process is not None, "start() first"
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def wait_for(self, pattern: str, timeout_s: float = 60.0) -> LogLine:
        """The first log message of Ember's own loggers matching the regex ``pattern``, waiting
        for it up to ``timeout_s``; fails the test (with the log) if it does not come."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                for line in self.lines:
                    if (
                        line.logger
                        and line.logger.startswith("ember")
                        and regex.search(line.message)
                    ):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (not self.running and not self._reader_alive()):
                    raise AssertionError(
                        f"the app did not log /{pattern}/ within {timeout_s} s "
                        f"(running: {self.running}); its log:\n{self.log_text()}"
                    )
                self._changed.wait(min(left, 0.5))

    def _reader_alive(self) -> bool:
        return self._reader is not None and self._reader.is_alive()

    def terminate(self, timeout_s: float = 30.0) -> int:
        """Send SIGTERM (as a session logout or ``kill`` does) and return the exit status."""
        assert self._process is not None, "start() first"
        self._process.send_signal(signal.SIGTERM)
        return self.wait(timeout_s)

    def wait(self, timeout_s: float = 30.0) -> int:
        """Wait for the process to exit (and its output to be read); returns the exit status."""
        assert self._process is not None, "start() first"
        try:
            status = self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the app did not exit within {timeout_s} s; its log:\n{self.log_text()}"
            ) from None
        if self._reader is not None:
            self._reader.join(timeout=10)
        return status

    def kill(self) -> None:
        """Kill the process if it still runs, and wait for its output to end."""
        if self.running:
            assert self._process is not None
            self._process.kill()
            self._process.wait(10)
        if self._reader is not None:
            self._reader.join(timeout=10)

    def __enter__(self) -> AppProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.kill()

    # -- reading ------------------------------------------------------------------------------

    def log_text(self) -> str:
        with self._changed:
            return "\n".join(line.raw for line in self.lines) or "(nothing)"

    def unexpected_lines(self) -> list[str]:
        """Warnings, errors, tracebacks and any other line that is not known noise."""
        with self._changed:
            return [line.raw for line in self.lines if line.unexpected]


def processes_using(home: Path) -> list[int]:
    """Ids of the processes (other than this one) whose environment names ``home`` as their
    EMBER_HOME: what an app run left behind (helpers, parser workers) once it has exited."""
    needle = f"EMBER_HOME={home}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if needle in environ:
            found.append(int(entry.name))
    return found
