"""Review of the chat route and its runner: clients that leave, and a server that stops while
answers stream or wait for their turn (a real server over the real embedded model)."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import httpx
import pytest

from ember.api.server import ApiServer
from ember.core import Core
from tests.support.api_serving import KEY, make_core, runner_of, serving

ESSAY = [{"role": "user", "content": "Write a very long essay about rivers."}]  # greedy: 600+
HEADERS = {"Authorization": f"Bearer {KEY}"}
SEEDED = {"temperature": 0.0, "seed": 5}  # a seeded answer starts from an empty llama.cpp context
LEAVE_AT = 150  # tokens in the context: the prompt (about 60) and some of the answer


def _wait_for(condition: object, limit_s: float = 60.0) -> bool:
    """Poll ``condition()`` until true or ``limit_s`` (generous: the suite shares a machine)."""
    tick = threading.Event()
    for _ in range(int(limit_s * 10)):
        if condition():  # type: ignore[operator]
            return True
        tick.wait(0.1)
    return False


# Tokens the engine may still make once its client is gone: the one being generated when the
# disconnect is heard, and one or two on their way through the event loop.
IN_FLIGHT = 3


def _raw_chat_request(server: ApiServer, payload: dict[str, object]) -> bytes:
    """A chat completion request as raw HTTP/1.1 bytes, for a client that hangs up midway."""
    body = json.dumps(payload).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


def test_a_client_that_leaves_a_whole_answer_mid_generation_cancels_it(core: Core) -> None:
    """Without ``stream``, the client's leaving must be heard while the model generates, and the
    engine stop within a token of it: it makes at most :data:`IN_FLIGHT` tokens more than it had
    made when the client hung up (llama.cpp's own count of the tokens in its context)."""
    llama = core.engine()._llama  # the real engine's context: prompt + tokens generated so far
    llama.reset()  # so a count above the prompt is this answer's (the request is seeded too)
    with serving(core) as server:
        runner = runner_of(server)
        before = len(runner.finished)
        request = _raw_chat_request(
            server, {"model": "embedded", "messages": ESSAY, "max_tokens": 400, **SEEDED}
        )
        with socket.create_connection(("127.0.0.1", server.port)) as client:
            client.sendall(request)
            # Leave mid-answer: past any prompt this size, well before the 400 tokens asked.
            assert _wait_for(lambda: llama.n_tokens >= LEAVE_AT, limit_s=120)
            in_context = llama.n_tokens
        assert _wait_for(lambda: len(runner.finished) > before)
        finished = runner.finished[-1]
        assert finished.reason == "cancelled"
        made_when_left = in_context - finished.timings.prompt_tokens
        assert made_when_left > 0  # the client left while the answer was being generated
        assert finished.timings.completion_tokens <= made_when_left + IN_FLIGHT


def _stop_within(server: ApiServer, timeout_s: float) -> None:
    """Stop ``server`` as quitting the window does, and check its thread really ended."""
    thread = server._thread
    assert thread is not None
    server.stop(timeout_s)
    assert not thread.is_alive()


def _stream_in_thread(server: ApiServer, events: list[str], started: threading.Event) -> None:
    body = {"model": "embedded", "messages": ESSAY, "max_tokens": 1500, "stream": True}
    try:
        with httpx.stream(
            "POST", f"{server.base_url}/chat/completions", json=body, headers=HEADERS, timeout=120
        ) as response:
            for line in response.iter_lines():
                if line:
                    events.append(line)
                    if len(events) == 2:
                        started.set()
    except httpx.HTTPError as exc:
        events.append(f"transport error: {exc!r}")
    finally:
        started.set()


def test_stopping_the_server_ends_open_streams_at_once_and_says_so(core: Core) -> None:
    """Quitting the app while another program streams: ``stop`` ends the answer at its next
    token (not after uvicorn's graceful wait, longer than the window's quit wait), and the
    client reads an error, not an answer that looks finished."""
    with serving(core) as server:
        events: list[str] = []
        started = threading.Event()
        reader = threading.Thread(target=_stream_in_thread, args=(server, events, started))
        reader.start()
        assert started.wait(120) and len(events) >= 2, events
        _stop_within(server, 3.0)  # the window's quit waits as long, then closes the core
        reader.join(60)
    assert not reader.is_alive()
    assert events[-1] != "data: [DONE]"
    last = json.loads(events[-1].removeprefix("data: "))
    assert last["error"]["code"] == "server_stopping"


def test_a_request_waiting_for_its_turn_leaves_the_queue_when_the_server_stops(
    core: Core,
) -> None:
    """A request queued behind the window's answer must not keep the server (and quitting)
    waiting for that answer: stopping gives its turn up."""
    with serving(core) as server:
        statuses: list[int] = []
        with core.turns.turn():  # the window's own answer holds the model
            asker = threading.Thread(
                target=lambda: statuses.append(
                    httpx.post(
                        f"{server.base_url}/chat/completions",
                        json={"model": "embedded", "messages": ESSAY, "max_tokens": 8},
                        headers=HEADERS,
                        timeout=120,
                    ).status_code
                )
            )
            asker.start()
            assert _wait_for(lambda: core.turns.waiting == 1)
            _stop_within(server, 3.0)
            assert core.turns.waiting == 0
        asker.join(60)
    assert statuses == [503]


def test_a_stopped_server_leaves_no_idle_timer_to_unload_the_model(tmp_path: Path) -> None:
    """The idle unload belongs to a serving server: once stopped, the core's model stays."""
    own = make_core(tmp_path)
    try:
        with serving(own, idle_unload_s=0.5) as server:
            reply = httpx.post(
                f"{server.base_url}/chat/completions",
                json={"model": "embedded", "messages": ESSAY, "max_tokens": 2},
                headers=HEADERS,
                timeout=120,
            )
            assert reply.status_code == 200
        assert own.loaded is not None
        threading.Event().wait(1.5)  # three idle times
        assert own.loaded is not None
    finally:
        own.close()


def test_the_windows_first_send_uses_the_model_an_api_request_loaded_meanwhile(
    tmp_path: Path,
) -> None:
    """The window's first Send asks ``core.engine()`` while an API request, in its turn, loads
    the model: the window must use that model, not close it and load it all over again."""
    own = make_core(tmp_path)
    try:
        got: list[object] = []
        with own.turns.turn():  # the API request's turn
            window = threading.Thread(target=lambda: got.append(own.engine()))
            window.start()
            assert _wait_for(lambda: own.turns.waiting == 1)  # the window waits to load
            loaded_by_api = own.engine()  # engine_for loads inside the turn
        window.join(120)
        assert got == [loaded_by_api]
        assert own.engine() is loaded_by_api
    finally:
        own.close()


@pytest.mark.parametrize("stream", [False, True])
def test_a_client_that_leaves_while_waiting_for_its_turn_gives_the_turn_up(
    core: Core, stream: bool
) -> None:
    """(Held on main: a regression guard.) Nobody behind it waits for a turn nobody wants."""
    with serving(core) as server:
        request = _raw_chat_request(
            server, {"model": "embedded", "messages": ESSAY, "max_tokens": 8, "stream": stream}
        )
        with core.turns.turn():  # the window's answer holds the model
            with socket.create_connection(("127.0.0.1", server.port)) as client:
                client.sendall(request)
                assert _wait_for(lambda: core.turns.waiting == 1)
            assert _wait_for(lambda: core.turns.waiting == 0)
