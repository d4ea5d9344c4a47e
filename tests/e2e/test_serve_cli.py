"""``ember serve`` as a person runs it: a real subprocess, a private EMBER_HOME, a real client."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.support.children import REPO_ROOT, child_env


def ember(*args: str, home: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ember", *args],
        cwd=REPO_ROOT,
        env=child_env(EMBER_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key the developer exported must not change which key these servers use."""
    monkeypatch.delenv("EMBER_API_KEY", raising=False)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def start_serving(home: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    """``ember serve --port 0 ARGS`` started, its first stdout lines still unread."""
    return subprocess.Popen(
        [sys.executable, "-m", "ember", "serve", "--port", "0", *args],
        cwd=REPO_ROOT,
        env=child_env(EMBER_HOME=str(home), **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


@pytest.fixture
def serve(home: Path) -> Iterator[subprocess.Popen[str]]:
    """``ember serve --port 0`` running, its first stdout lines still unread."""
    process = start_serving(home)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def test_serve_answers_with_the_saved_key_and_stops_cleanly_on_ctrl_c(
    serve: subprocess.Popen[str], home: Path
) -> None:
    assert serve.stdout is not None
    first = serve.stdout.readline()
    match = re.fullmatch(r"Ember's API is at (http://127\.0\.0\.1:\d+/v1)\n", first)
    assert match, first
    second = serve.stdout.readline()
    key_path = home / "data" / "api_key"
    assert str(key_path) in second and "--show-key" in second
    key = key_path.read_text().strip()
    third = serve.stdout.readline()  # the MCP server, at the same address
    assert third.rstrip("\n").endswith(" " + match.group(1).removesuffix("/v1") + "/mcp"), third
    assert "MCP" in third
    assert key not in first + second + third  # the key itself is never printed while serving
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600

    shown = ember("serve", "--show-key", home=home)
    assert shown.returncode == 0 and shown.stdout.strip() == key

    client = openai.OpenAI(base_url=match.group(1), api_key=key, max_retries=0)
    assert "embedded" in [model.id for model in client.models.list()]
    wrong = openai.OpenAI(base_url=match.group(1), api_key="ember-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()

    serve.send_signal(signal.SIGINT)
    _out, err = serve.communicate(timeout=30)
    assert serve.returncode == 0, err
    assert "Traceback" not in err and "stopped serving" in err


def test_serve_on_an_address_others_can_reach_is_refused_without_yes(home: Path) -> None:
    done = ember("serve", "--host", "0.0.0.0", "--port", "0", home=home)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ember: ") and "other computers" in lines[0]
    assert "--yes" in lines[0]  # how to confirm
    assert done.stdout == ""  # nothing was served


@pytest.mark.parametrize("port", ["99999", "-1", "eighty"])
def test_a_port_out_of_range_is_a_usage_error_not_a_traceback(home: Path, port: str) -> None:
    done = ember("serve", "--port", port, home=home)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "OverflowError" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ember serve: error: argument --port:") and port in last, last
    assert done.stdout == ""


def test_a_short_key_is_refused_from_the_option_and_the_environment(home: Path) -> None:
    by_option = ember("serve", "--port", "0", "--api-key", "abc", home=home)
    process = subprocess.run(
        [sys.executable, "-m", "ember", "serve", "--port", "0"],
        cwd=REPO_ROOT,
        env=child_env(EMBER_HOME=str(home), EMBER_API_KEY="short-key"),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    for done, source in ((by_option, "--api-key"), (process, "EMBER_API_KEY")):
        assert done.returncode == 1 and done.stdout == ""
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ember: "), done.stderr
        assert source in lines[0] and "at least 16" in lines[0]


def test_a_port_in_use_says_another_program_holds_it_and_how_to_pick_another(
    home: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = ember("serve", "--port", str(port), home=home)
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ember: "), done.stderr
    message = lines[0]
    assert str(port) in message and "another program" in message
    assert "Ember's own window" in message and "--port" in message


def test_a_key_given_on_the_command_line_is_used_and_not_saved(home: Path) -> None:
    process = start_serving(home, "--api-key", "ember-for-this-run")
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        second = process.stdout.readline()
        base_url = first.rsplit(" ", 1)[-1].strip()
        assert "--api-key" in second and "ember-for-this-run" not in second
        client = openai.OpenAI(base_url=base_url, api_key="ember-for-this-run", max_retries=0)
        assert client.models.list().data
        assert not (home / "data" / "api_key").exists()
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_a_key_from_the_environment_is_used_kept_out_of_the_process_list_and_not_saved(
    home: Path,
) -> None:
    secret = "ember-from-the-environment"
    helped = ember("serve", "--help", home=home)
    assert helped.returncode == 0 and "EMBER_API_KEY" in helped.stdout
    assert "process list" in helped.stdout  # --api-key's help says why the variable is safer
    process = start_serving(home, EMBER_API_KEY=secret)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        second = process.stdout.readline()
        base_url = first.rsplit(" ", 1)[-1].strip()
        assert "EMBER_API_KEY" in second and secret not in first + second
        command_line = Path(f"/proc/{process.pid}/cmdline")
        if command_line.exists():  # what `ps` shows other users
            assert secret.encode() not in command_line.read_bytes()
        client = openai.OpenAI(base_url=base_url, api_key=secret, max_retries=0)
        assert client.models.list().data
        wrong = openai.OpenAI(base_url=base_url, api_key="ember-wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            wrong.models.list()
        assert not (home / "data" / "api_key").exists()
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_ctrl_c_during_an_answer_ends_it_with_an_error_event_and_exits_cleanly(
    serve: subprocess.Popen[str], home: Path
) -> None:
    """An answer streaming when the person presses Ctrl-C ends at once with an error its client
    can read (no silent cut, no ``[DONE]``), and ``ember serve`` exits 0 with no traceback."""
    import httpx

    assert serve.stdout is not None
    base = serve.stdout.readline().split()[-1]
    key = (home / "data" / "api_key").read_text().strip()
    events: list[str] = []
    body = {
        "model": "embedded",
        "stream": True,
        "max_tokens": 2000,  # about a minute of answer: far longer than the test waits
        "messages": [{"role": "user", "content": "Write a very long story about the sea."}],
    }
    with httpx.stream(
        "POST",
        base + "/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
    ) as reply:
        for line in reply.iter_lines():
            if line.startswith("data: "):
                events.append(line[6:])
                if len(events) == 3:  # streaming: now Ctrl-C
                    serve.send_signal(signal.SIGINT)
    _out, err = serve.communicate(timeout=60)
    assert events[-1] != "[DONE]"
    assert '"server_stopping"' in events[-1]
    assert len(events) < 500  # it did not run on to the end
    assert serve.returncode == 0, err
    assert "Traceback" not in err


def test_serve_unloads_the_model_after_the_idle_time_in_the_settings(home: Path) -> None:
    """``api_idle_unload_s`` (Settings → Local API) reaches ``ember serve``, which says it."""
    from ember.config import Settings, save_settings
    from ember.paths import Paths

    save_settings(
        Settings(api_idle_unload_s=90),
        Paths(home / "config", home / "data", home / "cache").ensure(),
    )
    process = start_serving(home)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()  # serving
    said = ""
    while "Press Ctrl-C" not in said:  # its last line at start (stderr: after the stdout lines)
        line = process.stderr.readline()
        assert line, "ember serve ended before saying how it unloads"
        said += line
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=30)
    assert "The model unloads after 90 s without requests" in said + err


def test_sigterm_stops_serving_as_ctrl_c_does(serve: subprocess.Popen[str]) -> None:
    """systemd and `kill` stop a server with SIGTERM: the same clean stop, exit status 0."""
    assert serve.stdout is not None
    assert serve.stdout.readline().startswith("Ember's API is at ")
    serve.send_signal(signal.SIGTERM)
    _, err = serve.communicate(timeout=30)
    assert serve.returncode == 0, err
    assert "ember: stopped serving" in err and "Traceback" not in err
