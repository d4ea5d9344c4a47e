"""A hostile reading of the local API: what a client without the key, or another user of this
computer, must not be able to do. Each test is against a real server on 127.0.0.1 (raw sockets)
or the real key file."""

from __future__ import annotations

import os
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.api.config import api_key, key_file, rotate_api_key
from ember.api.server import ApiServer
from ember.core import Core
from ember.paths import ember_paths
from tests.support.api_serving import KEY, core_in, serving

# How long a test waits for the server to close a connection before calling it open, seconds.
PATIENCE_S = 20.0


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Core]:
    made = core_in(tmp_path_factory.mktemp("api-security-review"))
    yield made
    made.close()


def closed_by_server(sock: socket.socket, trickle: bytes = b"") -> bytes | None:
    """Read until the server closes ``sock`` (sending ``trickle`` now and then, as a slow client
    does); what it sent, or None when it was still open after :data:`PATIENCE_S`."""
    answer = b""
    sock.settimeout(0.25)
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        try:
            if trickle:
                sock.sendall(trickle)
            data = sock.recv(65536)
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return answer
        if not data:
            return answer
        answer += data
    return None


def connect(server: ApiServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE_S)


def head(server: ApiServer, key: str) -> bytes:
    return (
        f"POST /v1/embeddings HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()


# -- connections a client without the key can hold ------------------------------------------


def test_a_connection_that_never_sends_a_request_is_closed(core: Core) -> None:
    with serving(core, head_timeout_s=1.0) as server, connect(server) as sock:
        assert closed_by_server(sock) == b""


def test_a_request_head_sent_byte_by_byte_forever_is_cut_off(core: Core) -> None:
    with serving(core, head_timeout_s=1.0) as server, connect(server) as sock:
        sock.sendall(f"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n".encode())
        # A header that never ends: each byte alone keeps uvicorn's keep-alive timer away.
        sock.sendall(b"X-Slow: ")
        assert closed_by_server(sock, trickle=b"a") is not None


def test_a_refused_request_closes_its_connection_instead_of_reading_an_endless_body(
    core: Core,
) -> None:
    piece = b"x" * 16
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    with serving(core) as server, connect(server) as sock:
        sock.sendall(head(server, "ember-not-the-key") + chunk)
        answer = closed_by_server(sock, trickle=chunk)
    assert answer is not None, "the server kept reading the body of a refused request"
    assert answer.startswith(b"HTTP/1.1 401 ")


def test_connections_past_the_limit_are_closed_at_once_and_the_server_recovers(
    core: Core,
) -> None:
    with serving(core, max_connections=3, head_timeout_s=120.0) as server:
        idle = [connect(server) for _ in range(3)]
        try:
            with connect(server) as extra:
                assert closed_by_server(extra) == b""
        finally:
            for sock in idle:
                sock.close()
        request = (
            f"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Authorization: Bearer {KEY}\r\nConnection: close\r\n\r\n"
        ).encode()
        for _attempt in range(100):  # the server notices the closed ones on its own time
            with connect(server) as sock:
                sock.sendall(request)
                answer = closed_by_server(sock)
            if answer:
                break
            time.sleep(0.05)
        assert answer is not None and answer.startswith(b"HTTP/1.1 200 "), answer


# -- the key file ----------------------------------------------------------------------------


def test_a_new_key_is_user_only_even_over_a_readable_leftover_tmp_file(ember_home: Path) -> None:
    paths = ember_paths().ensure()
    tmp = key_file(paths).with_name("api_key.tmp")
    tmp.write_text("left over\n", encoding="utf-8")
    tmp.chmod(0o644)
    key = rotate_api_key(paths)
    assert stat.S_IMODE(os.stat(key_file(paths)).st_mode) == 0o600
    assert key_file(paths).read_text(encoding="utf-8").strip() == key


def test_a_new_key_is_never_written_through_a_planted_symlink(
    ember_home: Path, tmp_path: Path
) -> None:
    paths = ember_paths().ensure()
    elsewhere = tmp_path / "someone-elses-file"
    elsewhere.write_text("theirs\n", encoding="utf-8")
    key_file(paths).with_name("api_key.tmp").symlink_to(elsewhere)
    key = rotate_api_key(paths)
    assert elsewhere.read_text(encoding="utf-8") == "theirs\n"
    assert not key_file(paths).is_symlink()
    assert key_file(paths).read_text(encoding="utf-8").strip() == key


def test_a_saved_key_readable_by_others_is_made_user_only_when_read(ember_home: Path) -> None:
    paths = ember_paths().ensure()
    key_file(paths).write_text("ember-copied-key\n", encoding="utf-8")
    key_file(paths).chmod(0o644)
    assert api_key(paths) == "ember-copied-key"
    assert stat.S_IMODE(os.stat(key_file(paths)).st_mode) == 0o600


# -- a wildcard bind (0.0.0.0, "every network") ---------------------------------------------


def ask_models(server: ApiServer, host: str, origin: str | None = None) -> bytes:
    """GET /v1/models over loopback with the key, as a client that addressed ``host`` sends it
    (a computer on the network sends the address it used as ``Host``)."""
    extra = f"Origin: {origin}\r\n" if origin else ""
    request = (
        f"GET /v1/models HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {KEY}\r\n"
        f"{extra}Connection: close\r\n\r\n"
    ).encode()
    with connect(server) as sock:
        sock.sendall(request)
        answer = closed_by_server(sock)
    assert answer is not None
    return answer


def test_a_wildcard_bind_answers_requests_to_its_ip_addresses(core: Core) -> None:
    with serving(core, host="0.0.0.0") as server:
        port = server.port
        for host in (f"127.0.0.1:{port}", f"192.168.1.20:{port}", f"localhost:{port}"):
            answer = ask_models(server, host)
            assert answer.startswith(b"HTTP/1.1 200 "), (host, answer[:300])
        own = ask_models(server, f"192.168.1.20:{port}", origin=f"http://192.168.1.20:{port}")
        assert own.startswith(b"HTTP/1.1 200 "), own[:300]


def test_a_wildcard_bind_still_refuses_names_other_ports_and_foreign_origins(core: Core) -> None:
    with serving(core, host="0.0.0.0") as server:
        port = server.port
        for host in (f"evil.example:{port}", f"192.168.1.20:{port + 1}", "192.168.1.20", ""):
            answer = ask_models(server, host)
            assert answer.startswith(b"HTTP/1.1 403 "), (host, answer[:300])
            assert b"host_not_allowed" in answer
        # A page served by another computer on the network may not use this one.
        answer = ask_models(server, f"192.168.1.20:{port}", origin=f"http://192.168.1.30:{port}")
        assert answer.startswith(b"HTTP/1.1 403 ") and b"origin_not_allowed" in answer


def test_mcp_on_a_wildcard_bind_answers_a_client_on_the_network(core: Core) -> None:
    body = (
        b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": '
        b'"2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}}'
    )
    with serving(core, host="0.0.0.0") as server, connect(server) as sock:
        sock.sendall(
            (
                f"POST /mcp HTTP/1.1\r\nHost: 192.168.1.20:{server.port}\r\n"
                f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
                "Accept: application/json, text/event-stream\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode()
            + body
        )
        answer = closed_by_server(sock)
    assert answer is not None and answer.startswith(b"HTTP/1.1 200 "), answer


# -- the port --------------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "nt", reason="port sharing by SO_REUSEADDR is Windows' own")
def test_no_other_program_can_bind_the_served_port_on_windows(core: Core) -> None:
    with serving(core) as server, socket.socket() as thief:
        thief.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with pytest.raises(OSError):
            thief.bind(("127.0.0.1", server.port))
