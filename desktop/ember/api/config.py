"""What a local API server starts with, and its API key.

The key is generated on first start (``secrets``, 256 bits) and kept in ``api_key`` in the data
folder, readable by the user only (mode 0600); Settings shows it and can rotate it. A key given on
the command line (``ember serve --api-key``) is used for that run and not saved.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ember.errors import ConfigError
from ember.paths import Paths

KEY_PREFIX = "ember-"
# A request body larger than this is refused (413) before it is read in full: 1 MiB holds a
# prompt of ~250k tokens, more than any model Ember runs reads at once.
MAX_BODY_BYTES = 1024 * 1024
# The most tokens one answer may ask for (``max_tokens``); more is a 400.
MAX_TOKENS_LIMIT = 32768
# Seconds a connection may take to send its request head; a client that sends nothing, or a
# byte now and then, is cut off rather than holding a socket (and a file descriptor) forever.
HEAD_TIMEOUT_S = 10.0
# Open connections at most; more are closed at once, so clients without the key cannot use up
# the process's file descriptors (the window's own files need them). 32 streaming clients and
# MCP sessions fit well within.
MAX_CONNECTIONS = 128


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """How a server listens and what it allows.

    ``host``/``port``: the address to bind (port 0 = any free port, for tests). ``api_key``: the
    bearer token every request must carry. ``switch_models``: a request may load another model
    (``ember serve``); False in the window, where the person's choice of model rules.
    ``idle_unload_s``: seconds without requests before the model is unloaded (0 = never; only
    with ``switch_models``). ``max_body_bytes``/``max_tokens_limit``: request limits.
    ``head_timeout_s``/``max_connections``: connection limits (see their constants).
    """

    host: str = "127.0.0.1"
    port: int = 4891
    api_key: str = ""
    switch_models: bool = True
    idle_unload_s: float = 600.0
    max_body_bytes: int = MAX_BODY_BYTES
    max_tokens_limit: int = MAX_TOKENS_LIMIT
    head_timeout_s: float = HEAD_TIMEOUT_S
    max_connections: int = MAX_CONNECTIONS

    @property
    def loopback(self) -> bool:
        """Whether ``host`` is this computer only (127.0.0.0/8, ::1 or ``localhost``)."""
        return is_loopback(self.host)

    @property
    def wildcard(self) -> bool:
        """Whether ``host`` is every address of this computer (``0.0.0.0`` or ``::``)."""
        return self.host.strip().strip("[]") in ("0.0.0.0", "::")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses; False for anything else (0.0.0.0)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def key_file(paths: Paths) -> Path:
    """Where the API key is kept: ``api_key`` in the data folder."""
    return paths.data_dir / "api_key"


def api_key(paths: Paths) -> str:
    """The saved API key, made (and saved, user-only) on first use; a key file others may read
    (copied in, say) is made user-only.

    Raises :class:`ConfigError` when the file cannot be read or written.
    """
    path = key_file(paths)
    try:
        key = path.read_text(encoding="utf-8").strip()
        if key and os.name == "posix" and path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except FileNotFoundError:
        key = ""
    except OSError as exc:
        raise ConfigError(f"Cannot read the API key in {path}: {exc.strerror or exc}.") from exc
    return key or rotate_api_key(paths)


def rotate_api_key(paths: Paths) -> str:
    """Make a new API key, save it (mode 0600) and return it; the old key stops working once
    the server is restarted with the new one."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    path = key_file(paths)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        # A fresh file: a leftover (its mode kept by O_CREAT) or a planted symlink is removed.
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(key + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"Cannot save the API key in {path}: {exc.strerror or exc}.") from exc
    return key
