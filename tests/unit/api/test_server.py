"""The API's own listening socket: bound before uvicorn starts, and set up for small replies."""

from __future__ import annotations

import socket

import pytest

from ember.api.config import ServeConfig
from ember.api.server import bind
from ember.errors import EmberError


def test_the_socket_says_tcp_so_replies_are_not_held_back_by_nagle() -> None:
    """asyncio turns Nagle's algorithm off (TCP_NODELAY) on accepted connections only when the
    listening socket's protocol is TCP; with protocol 0 every reply waited ~40 ms for the
    client's delayed ACK (measured: 44 ms per request instead of 0.6)."""
    sock = bind(ServeConfig(port=0, api_key="k"))
    try:
        assert sock.proto == socket.IPPROTO_TCP
        client = socket.create_connection(sock.getsockname()[:2])
        accepted, _ = sock.accept()
        with client, accepted:
            assert accepted.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_a_port_in_use_is_a_clear_error_at_once() -> None:
    taken = bind(ServeConfig(port=0, api_key="k"))
    try:
        port = taken.getsockname()[1]
        with pytest.raises(EmberError, match=f"127.0.0.1:{port}.*another port"):
            bind(ServeConfig(port=port, api_key="k"))
    finally:
        taken.close()
