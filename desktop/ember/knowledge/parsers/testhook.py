"""A parser that misbehaves on request, so tests can prove the sandbox contains real failures.

It is reachable only when ``EMBER_PARSER_TEST_HOOKS=1`` is set (see ``detect.sniff``) and it runs
in the sandbox's child process like the PDF parser. The file's first line says what to do:

``EMBER-TEST-PARSER hang [READY]`` sleeps forever (after creating the file READY, if given);
``abort`` calls ``os.abort()``; ``segfault`` kills itself with SIGSEGV; ``alloc <MB>`` allocates
that much memory; ``sleep <s>`` sleeps and then succeeds; ``handshake READY`` creates READY and
succeeds once the test has removed it (a barrier: the test acts while the parser is mid-file);
``echo`` succeeds with the rest of the file as text.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from ember.errors import IngestError
from ember.knowledge.detect import TEST_HOOK_ENV
from ember.knowledge.types import ParsedDocument, Section


def parse(path: Path) -> ParsedDocument:
    """Do what the file's first line asks (see the module docstring), then return the rest as one
    section.

    Raises :class:`IngestError` unless ``EMBER_PARSER_TEST_HOOKS=1``.
    """
    if os.environ.get(TEST_HOOK_ENV) != "1":
        raise IngestError("test parser hooks are disabled")
    first, _, rest = Path(path).read_text("utf-8").partition("\n")
    command, *args = first.split()[1:]
    if command == "hang":
        if args:
            Path(args[0]).touch()
        while True:
            time.sleep(3600)
    if command == "abort":
        os.abort()
    if command == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    if command == "alloc":
        hog = bytearray(int(args[0]) * 1024 * 1024)
        hog[::4096] = b"x" * len(hog[::4096])
    if command == "sleep":
        time.sleep(float(args[0]))
    if command == "handshake":
        ready = Path(args[0])
        ready.touch()
        deadline = time.monotonic() + 60  # the sandbox's own timeout normally ends it first
        while ready.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    return ParsedDocument(str(path), "test-hook", (Section(rest.strip() or command),))
