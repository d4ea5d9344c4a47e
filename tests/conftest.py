"""Suite-wide settings: every test gets its own EMBER_HOME, Qt runs offscreen, no network."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# The embedder's ONNX export (ember.knowledge.onnx_export) is made once for every test and test
# run on this machine, not once per test's private EMBER_HOME: it is keyed by the weights' checksum.
os.environ.setdefault(
    "EMBER_ONNX_CACHE", os.path.join(tempfile.gettempdir(), f"ember-tests-onnx-{os.getuid()}")
)

_LOOPBACK_PREFIXES = ("127.", "::1", "localhost", "0:0:0:0:0:0:0:1")


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        return host.startswith(_LOOPBACK_PREFIXES) or host in ("", "0.0.0.0")
    return True  # AF_UNIX paths and the like never leave the machine


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise AssertionError(
            f"test tried to reach the network: {address!r} (Ember must stay offline)"
        )
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise AssertionError(
            f"test tried to reach the network: {address!r} (Ember must stay offline)"
        )
    return _real_connect_ex(self, address)


# A socket guard for the whole suite: any connection beyond loopback fails the test that made it.
socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def ember_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A fresh, private EMBER_HOME for every test: no test sees a user's real data."""
    home = tmp_path_factory.mktemp("ember-home")
    monkeypatch.setenv("EMBER_HOME", str(home))
    yield home
