"""The API's own listening socket: bound before uvicorn starts, and set up for small replies."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import httpx
import pytest

from ember.api.app import create_app
from ember.api.config import ServeConfig
from ember.api.server import bind
from ember.errors import EmberError
from tests.support.api_serving import KEY, core_in, serving

USER = {"role": "user", "content": "Tell me about the sea."}


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


def test_a_bug_in_a_route_answers_in_openais_shape_without_details(tmp_path: Path) -> None:
    """Anything that is not a domain error is a 500 in OpenAI's error shape (a client library
    reads it), saying where the details are: the log, never the response."""
    core = core_in(tmp_path)
    app = create_app(core, ServeConfig(port=4891, api_key=KEY))

    @app.get("/v1/broken")
    def broken() -> None:
        raise RuntimeError("secret internal detail /home/someone/private.pdf")

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:4891") as c:
            return await c.get("/v1/broken", headers={"Authorization": f"Bearer {KEY}"})

    reply = asyncio.run(ask())
    core.close()
    assert reply.status_code == 500
    error = reply.json()["error"]
    assert error["type"] == "server_error" and error["code"] == "internal_error"
    assert "log" in error["message"] and "private" not in reply.text


def test_a_bug_mid_stream_ends_the_stream_with_an_error_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream cut by a bug ends with ``data: {"error": ...}`` and no ``[DONE]``, so a client
    never takes a broken answer for a finished one."""
    from ember.api.runner import Run

    real_next = Run.next
    calls = {"n": 0}

    async def failing_next(self: Run, request: object = None) -> object:
        calls["n"] += 1
        if calls["n"] == 3:  # a bug on the way, after two tokens
            raise RuntimeError("a bug")
        return await real_next(self, request)  # type: ignore[arg-type]

    monkeypatch.setattr(Run, "next", failing_next)
    core = core_in(tmp_path)
    with serving(core) as server:
        body = {"model": "embedded", "stream": True, "max_tokens": 16, "messages": [USER]}
        with httpx.stream(
            "POST",
            server.base_url + "/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=120,
        ) as reply:
            events = [line[6:] for line in reply.iter_lines() if line.startswith("data: ")]
    core.close()
    assert events[-1] != "[DONE]"
    assert json.loads(events[-1])["error"]["code"] == "internal_error"
