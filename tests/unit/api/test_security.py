"""The local API's security checks, one test per rule, against a real server on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from ember.api.config import ServeConfig, api_key, key_file
from ember.api.errors import ApiError
from ember.api.security import allowed_hosts, check_max_tokens
from ember.api.server import ApiServer, check_bind
from ember.errors import EmberError
from ember.paths import ember_paths
from tests.support.api_serving import KEY, core_in, serving

LIMIT = 4096  # this module's body limit, bytes
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    core = core_in(tmp_path_factory.mktemp("api-security"))
    with serving(core, max_body_bytes=LIMIT) as running:
        yield running
    core.close()


@pytest.fixture
def http(server: ApiServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


def assert_openai_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert set(error) == {"message", "type", "param", "code"}
    assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def raw_exchange(server: ApiServer, request: bytes, chunks: list[bytes] = ()) -> bytes:
    """Send ``request`` (head, maybe part of a body), then ``chunks`` one by one as long as the
    server reads them; return what it answered before closing."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(request)
        for chunk in chunks:
            try:
                sock.sendall(chunk)
            except OSError:  # it answered and closed: the rest is never read
                break
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        return answer


# -- the key ---------------------------------------------------------------------------------


def test_a_request_without_the_key_is_refused_with_401(http: httpx.Client) -> None:
    response = http.get("/models")
    assert_openai_error(response, 401, "invalid_api_key")
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_wrong_key_is_refused_by_the_openai_client(server: ApiServer) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key="ember-not-the-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        client.models.list()
    assert raised.value.status_code == 401
    assert raised.value.code == "invalid_api_key"


def test_the_key_is_needed_on_every_route_even_unknown_ones(http: httpx.Client) -> None:
    assert_openai_error(http.post("/embeddings", json={"input": "x"}), 401, "invalid_api_key")
    assert_openai_error(http.get("/no/such/route"), 401, "invalid_api_key")
    assert_openai_error(http.get("/models", headers={"Authorization": KEY}), 401, "invalid_api_key")


def test_the_right_key_is_let_through(http: httpx.Client) -> None:
    assert http.get("/models", headers=AUTH).status_code == 200


# -- Host (DNS rebinding) --------------------------------------------------------------------


def test_a_foreign_host_header_is_refused_even_with_the_key(
    http: httpx.Client, server: ApiServer
) -> None:
    response = http.get("/models", headers={**AUTH, "Host": f"evil.example:{server.port}"})
    assert_openai_error(response, 403, "host_not_allowed")


def test_the_right_name_on_another_port_is_refused(http: httpx.Client, server: ApiServer) -> None:
    response = http.get("/models", headers={**AUTH, "Host": f"127.0.0.1:{server.port + 1}"})
    assert_openai_error(response, 403, "host_not_allowed")


def test_every_loopback_name_of_the_bound_port_is_accepted(
    http: httpx.Client, server: ApiServer
) -> None:
    for host in ("127.0.0.1", "localhost", "LOCALHOST", "[::1]"):
        response = http.get("/models", headers={**AUTH, "Host": f"{host}:{server.port}"})
        assert response.status_code == 200, (host, response.text)


def test_a_non_loopback_bind_allows_only_its_own_address() -> None:
    config = ServeConfig(host="192.168.1.20", port=4891, api_key="k")
    assert allowed_hosts(config) == {"192.168.1.20:4891"}


# -- Origin and CORS -------------------------------------------------------------------------


def test_a_request_from_another_sites_page_is_refused(http: httpx.Client) -> None:
    response = http.get("/models", headers={**AUTH, "Origin": "https://evil.example"})
    assert_openai_error(response, 403, "origin_not_allowed")
    response = http.get("/models", headers={**AUTH, "Origin": "null"})  # sandboxed frames
    assert_openai_error(response, 403, "origin_not_allowed")


def test_the_servers_own_origin_is_accepted(http: httpx.Client, server: ApiServer) -> None:
    own = f"http://127.0.0.1:{server.port}"
    assert http.get("/models", headers={**AUTH, "Origin": own}).status_code == 200


def test_a_cors_preflight_is_refused_without_cors_headers(http: httpx.Client) -> None:
    response = http.options(
        "/chat/completions",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert_openai_error(response, 403, "cors_not_allowed")


def test_no_response_carries_cors_headers(http: httpx.Client) -> None:
    for response in (
        http.get("/models", headers=AUTH),
        http.get("/models"),
        http.post("/embeddings", headers=AUTH, content=b"{bad"),
    ):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]


# -- request size ----------------------------------------------------------------------------


def test_a_body_declared_too_large_is_refused_before_it_is_sent(server: ApiServer) -> None:
    head = (
        f"POST /v1/embeddings HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {100 * LIMIT}\r\n\r\n"
    ).encode()
    answer = raw_exchange(server, head)  # not one byte of the body is sent
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b'"request_too_large"' in answer


def test_a_chunked_upload_is_cut_off_once_it_passes_the_limit(server: ApiServer) -> None:
    head = (
        f"POST /v1/embeddings HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    piece = b"x" * 1024
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    # More than the limit, and never the last (empty) chunk: only a cut-off answers at all.
    answer = raw_exchange(server, head, [chunk] * (LIMIT // len(piece) + 2))
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b'"request_too_large"' in answer


def test_a_chunked_upload_within_the_limit_is_read(http: httpx.Client) -> None:
    def body() -> Iterator[bytes]:  # a generator: httpx sends it chunked
        yield b'{"input": "kettle",'
        yield b' "model": "no-such-model"}'

    headers = {**AUTH, "Content-Type": "application/json"}
    response = http.post("/embeddings", headers=headers, content=body())
    assert_openai_error(response, 404, "model_not_found")  # the route read the whole body


def test_max_tokens_over_the_limit_is_a_400_with_the_numbers() -> None:
    config = ServeConfig(api_key="k", max_tokens_limit=512)
    check_max_tokens(None, config)
    check_max_tokens(512, config)
    with pytest.raises(ApiError) as raised:
        check_max_tokens(513, config)
    assert raised.value.status == 400 and raised.value.param == "max_tokens"
    assert "513" in raised.value.message and "512" in raised.value.message
    for bad in (0, -1, True):
        with pytest.raises(ApiError):
            check_max_tokens(bad, config)


# -- binding and the key file ----------------------------------------------------------------


def test_a_non_loopback_bind_is_refused_without_confirmation() -> None:
    config = ServeConfig(host="0.0.0.0", port=0, api_key=KEY)
    with pytest.raises(EmberError, match="other computers"):
        check_bind(config)
    check_bind(config, confirmed=True)  # the person said yes
    check_bind(ServeConfig(host="127.0.0.1", api_key=KEY))


def test_serving_without_a_key_is_refused() -> None:
    with pytest.raises(EmberError, match="API key"):
        check_bind(ServeConfig(host="127.0.0.1", api_key=""), confirmed=True)


def test_the_key_file_is_readable_by_its_owner_only(ember_home: Path) -> None:
    paths = ember_paths().ensure()
    key = api_key(paths)
    assert key.startswith("ember-") and len(key) > 40
    assert stat.S_IMODE(os.stat(key_file(paths)).st_mode) == 0o600
    assert api_key(paths) == key  # kept, not made anew
