"""The MCP host against real servers: the test server in tests/support (over stdio and
streamable HTTP) and the real ``mcp-server-time``. Each way a server can fail is a ToolError
with a message, after which the host still works; closing leaves no process behind."""

from __future__ import annotations

import asyncio
import json
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.cancel import CancelToken
from ember.errors import ToolError
from ember.tools import mcp_process
from ember.tools.mcp_config import ServerConfig
from ember.tools.mcp_host import McpHost, McpTool
from ember.tools.mcp_process import StderrLog, process_alive
from ember.tools.types import ToolInfo
from tests.support.processes import pids_with, wait_for_pids

SERVER = str(Path(__file__).resolve().parents[2] / "support" / "mcp_tools_server.py")


def test_server(name: str, record: Path, **env: str) -> ServerConfig:
    return ServerConfig(
        name, command=sys.executable, args=(SERVER,), env={"MCP_TEST_RECORD": str(record), **env}
    )


test_server.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def calls(record: Path) -> list[dict]:
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines()]


def by_name(host: McpHost) -> dict[str, McpTool]:
    return {t.info.name: t for t in host.tools()}


@pytest.fixture
def record(tmp_path: Path) -> Path:
    return tmp_path / "calls.jsonl"


@pytest.fixture
def make_host(tmp_path: Path) -> Iterator:
    hosts: list[McpHost] = []

    def make(*servers: ServerConfig, timeout_s: float = 10.0, start_s: float = 30.0) -> McpHost:
        host = McpHost(servers, tmp_path / "logs", timeout_s=timeout_s, start_timeout_s=start_s)
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        host.close()


def test_tools_are_listed_with_their_server_and_schema(make_host, record: Path) -> None:
    host = make_host(test_server("test", record))
    tools = by_name(host)
    assert {"add", "echo", "fail", "hang", "big", "die"} <= set(tools)
    add = tools["add"].info
    assert (add.server, add.remote_name, add.key) == ("test", "add", "test/add")
    assert add.description == "Add two integers."
    assert set(add.parameters["properties"]) == {"a", "b"}
    assert all(not t.info.read_only and t.info.enabled for t in tools.values())
    (status,) = host.status()
    assert (status.state, status.tool_count) == ("running", len(tools))


def test_a_call_runs_the_tool_once_and_returns_its_text(make_host, record: Path) -> None:
    host = make_host(test_server("test", record))
    output = by_name(host)["add"].run({"a": 2, "b": 3}, CancelToken())
    assert (output.text, output.is_error) == ("5", False)
    assert [c["arguments"] for c in calls(record) if c["tool"] == "add"] == [{"a": 2, "b": 3}]


def test_the_real_time_server_tells_the_time_in_a_timezone(make_host, tmp_path: Path) -> None:
    time_server = ServerConfig(
        "time", command=sys.executable, args=("-m", "mcp_server_time", "--local-timezone", "UTC")
    )
    host = make_host(time_server)
    tools = by_name(host)
    assert {"get_current_time", "convert_time"} <= set(tools)
    output = tools["get_current_time"].run({"timezone": "Asia/Tokyo"}, CancelToken())
    assert not output.is_error
    assert json.loads(output.text)["timezone"] == "Asia/Tokyo"


def test_a_tool_that_raises_is_an_error_result_and_the_server_goes_on(make_host, record) -> None:
    host = make_host(test_server("test", record))
    tools = by_name(host)
    output = tools["fail"].run({"message": "disk on fire"}, CancelToken())
    assert output.is_error and "disk on fire" in output.text
    assert tools["echo"].run({"text": "still here"}, CancelToken()).text == "still here"


def test_content_that_is_not_text_is_described_not_dropped(make_host, record: Path) -> None:
    host = make_host(test_server("test", record))
    output = by_name(host)["picture"].run({}, CancelToken())
    assert output.text.startswith("a tiny picture\n[image (image/png")
    assert "not shown]" in output.text


def test_five_megabytes_of_text_come_back_whole(make_host, record: Path) -> None:
    host = make_host(test_server("test", record))
    output = by_name(host)["big"].run({"megabytes": 5}, CancelToken())
    line = "0123456789" * 10 + "\n"
    size = 5 * 1024 * 1024
    assert output.text == (line * (size // len(line) + 1))[: size - 3] + "END"


def test_a_missing_command_is_a_clear_failure_and_other_servers_still_work(
    make_host, record: Path
) -> None:
    host = make_host(
        ServerConfig("ghost", command="/no/such/mcp-server"), test_server("test", record)
    )
    tools = by_name(host)
    assert {t.info.server for t in tools.values()} == {"test"}
    ghost, test = host.status()
    assert ghost.state == "failed" and test.state == "running"
    assert "'/no/such/mcp-server' was not found" in ghost.message
    with pytest.raises(ToolError, match="was not found"):
        host.call(ToolInfo("thing", "", server="ghost", remote_name="thing"), {}, CancelToken())


def test_a_server_that_exits_at_start_quotes_the_end_of_its_log(
    make_host, record, tmp_path
) -> None:
    host = make_host(test_server("broken", record, MCP_TEST_FAIL_START="API_KEY is not set"))
    assert host.tools() == []
    (status,) = host.status()
    assert status.state == "failed"
    assert "exited while starting (exit code 2)" in status.message
    assert "test server: API_KEY is not set" in status.message
    assert status.log_path == tmp_path / "logs" / "mcp-broken.log"
    assert "API_KEY is not set" in status.log_path.read_text()


def test_a_hanging_call_times_out_and_the_server_keeps_serving(make_host, record: Path) -> None:
    host = make_host(test_server("test", record), timeout_s=1)
    tools = by_name(host)
    pid = host.status()[0].pid
    with pytest.raises(
        ToolError, match="'hang' of the MCP server 'test' did not answer within 1 s"
    ):
        tools["hang"].run({}, CancelToken())
    assert tools["add"].run({"a": 1, "b": 1}, CancelToken()).text == "2"
    assert host.status()[0].pid == pid  # it answered a ping: not restarted


def test_a_frozen_server_is_ended_and_started_again_on_next_use(make_host, record: Path) -> None:
    host = make_host(test_server("test", record), timeout_s=1)
    tools = by_name(host)
    frozen = host.status()[0].pid
    with pytest.raises(ToolError, match="stopped answering and was ended"):
        tools["freeze"].run({}, CancelToken())
    assert not process_alive(frozen)
    assert tools["add"].run({"a": 1, "b": 2}, CancelToken()).text == "3"
    assert host.status()[0].pid not in (None, frozen)


def test_a_server_that_dies_mid_call_is_an_error_then_restarts(make_host, record: Path) -> None:
    host = make_host(test_server("test", record))
    tools = by_name(host)
    with pytest.raises(ToolError, match=r"exited during the call to 'die' \(exit code 3\)") as err:
        tools["die"].run({}, CancelToken())
    assert "dying on purpose" in str(err.value)
    assert tools["add"].run({"a": 20, "b": 22}, CancelToken()).text == "42"
    assert len({c["pid"] for c in calls(record) if c["tool"] == "start"}) == 2


def test_a_cancelled_call_returns_at_once_as_an_error(make_host, record: Path) -> None:
    host = make_host(test_server("test", record))
    tools = by_name(host)
    cancel = CancelToken()

    def cancel_once_running() -> None:
        while not any(c["tool"] == "hang" for c in calls(record)):
            time.sleep(0.02)
        cancel.cancel()

    threading.Thread(target=cancel_once_running, daemon=True).start()
    with pytest.raises(ToolError, match="was cancelled"):
        tools["hang"].run({}, cancel)
    assert tools["echo"].run({"text": "ok"}, CancelToken()).text == "ok"


def test_a_disabled_server_is_never_started(make_host, record: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.jsonl"
    host = make_host(
        test_server("test", record),
        ServerConfig(**{**_fields(test_server("off", other)), "disabled": True}),
    )
    assert {t.info.server for t in host.tools()} == {"test"}
    off = host.status()[1]
    assert (off.state, off.message, off.pid) == ("stopped", "disabled", None)
    assert calls(other) == []
    with pytest.raises(ToolError, match="switched off"):
        host.call(ToolInfo("add", "", server="off", remote_name="add"), {}, CancelToken())


def test_a_disabled_tool_is_listed_as_disabled_and_never_runs(make_host, record: Path) -> None:
    config = ServerConfig(**{**_fields(test_server("test", record)), "disabled_tools": ("echo",)})
    host = make_host(config)
    tools = by_name(host)
    assert not tools["echo"].info.enabled and tools["add"].info.enabled
    with pytest.raises(ToolError, match="switched off"):
        tools["echo"].run({"text": "x"}, CancelToken())
    assert [c for c in calls(record) if c["tool"] == "echo"] == []


def test_names_that_clash_get_their_server_in_front(make_host, record, tmp_path) -> None:
    host = make_host(test_server("one", record), test_server("two.b", tmp_path / "b.jsonl"))
    names = {t.info.name: t.info for t in host.tools(reserved={"calculator"})}
    assert {"one_add", "two_b_add"} <= set(names)
    assert (names["two_b_add"].server, names["two_b_add"].remote_name) == ("two.b", "add")
    assert names["two_b_add"].key == "two.b/add"
    assert by_name(host)["one_add"].run({"a": 1, "b": 0}, CancelToken()).text == "1"


def test_a_name_of_a_built_in_is_not_reused(make_host, record: Path) -> None:
    host = make_host(test_server("test", record))
    names = {t.info.name for t in host.tools(reserved={"echo"})}
    assert "test_echo" in names and "echo" not in names


def test_close_ends_the_server_and_what_it_started(make_host, record: Path) -> None:
    host = make_host(test_server("test", record))
    child = int(by_name(host)["spawn_child"].run({}, CancelToken()).text)
    server = host.status()[0].pid
    assert server is not None and process_alive(server) and process_alive(child)
    host.close()
    assert not process_alive(server) and not process_alive(child)
    host.close()  # twice is fine
    assert host.tools() == []


def test_restart_takes_the_new_servers(make_host, record: Path, tmp_path: Path) -> None:
    host = make_host(test_server("old", record))
    old_pid = by_name(host) and host.status()[0].pid
    host.restart([test_server("new", tmp_path / "new.jsonl")])
    assert old_pid is not None and not process_alive(old_pid)
    assert {t.info.server for t in host.tools()} == {"new"}


def test_the_server_log_keeps_its_stderr(make_host, record: Path) -> None:
    host = make_host(test_server("test", record))
    host.tools()
    log = host.status()[0].log_path
    assert log is not None and "test server: starting" in log.read_text()


def test_a_server_that_never_answers_at_start_is_given_up(make_host, tmp_path: Path) -> None:
    silent = ServerConfig("silent", command="sleep", args=("300",))
    host = make_host(silent, start_s=1)
    assert host.tools() == []
    (status,) = host.status()
    assert status.state == "failed"
    assert "'silent' did not finish starting within 1 s" in status.message


def test_close_during_a_start_that_hangs_ends_it_at_once(make_host, tmp_path: Path) -> None:
    marker = str(tmp_path / "hangs-at-start")
    silent = ServerConfig(
        "silent", command=sys.executable, args=("-c", "import time; time.sleep(3600)", marker)
    )
    host = make_host(silent, start_s=120)
    listed: list[object] = []
    caller = threading.Thread(target=lambda: listed.append(host.tools()))
    caller.start()
    assert wait_for_pids(marker) and host.status()[0].state == "starting"
    began = time.monotonic()
    host.close()
    caller.join(10)
    assert listed == [[]]
    assert time.monotonic() - began < 8  # not the 10 s a stop waits for a runner that ignores it
    assert host.status()[0].state == "stopped"
    assert not [pid for pid in pids_with(marker) if process_alive(pid)]


def test_close_while_a_failed_start_is_ending_its_server_leaves_no_process(
    make_host, tmp_path: Path
) -> None:
    """The start gives up after 1 s; the server ignores SIGTERM, so ending it takes seconds
    (stdin closed, 1 s, SIGTERM, 2 s, SIGKILL). Closing the host meanwhile must not cut that
    short and leave the server behind."""
    marker = str(tmp_path / "ignores-sigterm")
    stubborn = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(3600)"
    )
    server = ServerConfig("stubborn", command=sys.executable, args=("-c", stubborn, marker))
    host = make_host(server, start_s=1)
    caller = threading.Thread(target=host.tools)
    caller.start()
    [pid] = wait_for_pids(marker)
    time.sleep(1.5)  # the start has failed; its server is being ended
    host.close()
    caller.join(10)
    assert not process_alive(pid)


def test_a_log_over_its_cap_is_moved_aside(tmp_path: Path) -> None:
    log = StderrLog(tmp_path / "mcp-x.log", cap_bytes=100)
    log.write(b"a" * 150 + b"\n")
    log.write(b"second run\n")
    assert (tmp_path / "mcp-x.log").read_text() == "second run\n"
    assert (tmp_path / "mcp-x.log.1").read_text() == "a" * 150 + "\n"
    assert log.last_lines().endswith("second run")


@pytest.fixture
def http_server(record: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**__import__("os").environ, "MCP_TEST_RECORD": str(record)}
    process = subprocess.Popen(
        [sys.executable, SERVER, "--http", str(port)], env=env, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


def test_a_streamable_http_server_is_listed_and_called(make_host, http_server: str) -> None:
    host = make_host(ServerConfig("web", url=http_server, headers={"X-Client": "ember-test"}))
    tools = by_name(host)
    assert tools["add"].info.server == "web"
    assert tools["add"].run({"a": 40, "b": 2}, CancelToken()).text == "42"
    (status,) = host.status()
    assert (status.state, status.log_path, status.pid) == ("running", None, None)


def test_an_unreachable_url_is_a_clear_failure(make_host) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    host = make_host(ServerConfig("web", url=f"http://127.0.0.1:{port}/mcp"), start_s=3)
    assert host.tools() == []
    (status,) = host.status()
    assert status.state == "failed"
    assert f"could not be reached at http://127.0.0.1:{port}/mcp" in status.message


def _fields(config: ServerConfig) -> dict:
    from dataclasses import fields

    return {f.name: getattr(config, f.name) for f in fields(config)}


def test_close_during_a_call_ends_the_call_and_the_server(make_host, record: Path) -> None:
    host = make_host(test_server("test", record), timeout_s=60)
    tools = by_name(host)
    server = host.status()[0].pid
    outcome: list[BaseException | str] = []

    def call_hang() -> None:
        try:
            outcome.append(tools["hang"].run({}, CancelToken()).text)
        except BaseException as exc:  # handed to the test's thread
            outcome.append(exc)

    caller = threading.Thread(target=call_hang)
    caller.start()
    while not any(c["tool"] == "hang" for c in calls(record)):
        time.sleep(0.02)
    host.close()  # the app quits while the call runs
    caller.join(30)
    assert not caller.is_alive()
    assert isinstance(outcome[0], ToolError)
    assert server is not None and not process_alive(server)
    assert not any(t.name == "mcp-host" for t in threading.enumerate())


def test_nothing_starts_once_the_host_is_closed(make_host, record: Path) -> None:
    host = make_host(test_server("test", record))
    host.close()
    with pytest.raises(ToolError, match="shut down"):
        host._submit(asyncio.sleep(0))  # a call that passed its own check just before close
    assert not any(t.name == "mcp-host" for t in threading.enumerate())
    assert calls(record) == []


def test_a_result_too_large_to_read_is_a_clear_error_and_the_server_restarts(
    make_host, record: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mcp_process, "MAX_MESSAGE_CHARS", 1024 * 1024)
    host = make_host(test_server("test", record))
    tools = by_name(host)
    with pytest.raises(ToolError, match="'big' of the MCP server 'test' sent a result too large"):
        tools["big"].run({"megabytes": 2}, CancelToken())
    assert tools["add"].run({"a": 2, "b": 3}, CancelToken()).text == "5"


def breakable_server(name: str, tmp_path: Path) -> tuple[ServerConfig, Path]:
    """The test server behind a wrapper that exits with code 1 (and a reason on stderr) at start
    once the returned flag file exists: a server that ran, then stops starting."""
    flag = tmp_path / f"{name}.broken"
    wrapper = tmp_path / f"{name}_wrapper.py"
    wrapper.write_text(
        "import os, runpy, sys\n"
        f"if os.path.exists({str(flag)!r}):\n"
        "    sys.exit('wrapper: the server is broken now')\n"
        f"sys.argv = [{SERVER!r}]\n"
        f"runpy.run_path({SERVER!r}, run_name='__main__')\n"
    )
    config = ServerConfig(
        name,
        command=sys.executable,
        args=(str(wrapper),),
        env={"MCP_TEST_RECORD": str(tmp_path / f"{name}.jsonl")},
    )
    return config, flag


def starts_logged(log: Path) -> int:
    return sum(1 for line in log.read_text().splitlines() if line.startswith("--- "))


def test_a_failed_server_does_not_rename_the_others_and_waits_before_a_retry(
    record: Path, tmp_path: Path
) -> None:
    two, broken = breakable_server("two", tmp_path)
    host = McpHost([test_server("one", record), two], tmp_path / "logs", retry_after_s=600)
    try:
        assert {"one_add", "two_add"} <= set(by_name(host))
        broken.touch()
        with pytest.raises(ToolError, match="exited during the call"):
            by_name(host)["two_die"].run({}, CancelToken())
        names = by_name(host)  # "two" fails to start again now
        assert "one_add" in names and "add" not in names  # the name did not change
        assert {t.info.server for t in names.values()} == {"one"}
        status = host.status()[1]
        assert status.state == "failed" and "exit code 1" in status.message
        assert "failed; retrying after" in status.message
        log = status.log_path
        assert log is not None
        text = log.read_text()
        assert "ember: The MCP server 'two' exited while starting (exit code 1)" in text
        assert "wrapper: the server is broken now" in text
        tried = starts_logged(log)
        host.tools()
        with pytest.raises(ToolError, match="retrying after"):
            host.call(ToolInfo("two_add", "", server="two", remote_name="add"), {}, CancelToken())
        assert starts_logged(log) == tried  # not retried within retry_after_s
        host.restart([test_server("one", record), two])  # Settings' Save: tried at once
        host.tools()
        assert starts_logged(log) == tried + 1
        assert "one_add" in by_name(host)  # the tool list kept across the restart
    finally:
        host.close()


def test_a_missing_commands_reason_is_in_its_log_and_logs_are_owner_only(
    make_host, record: Path
) -> None:
    host = make_host(ServerConfig("ghost", command="/no/such/mcp-server"), test_server("t", record))
    host.tools()
    ghost, test = host.status()
    assert ghost.log_path is not None and test.log_path is not None
    assert "ember: The MCP server 'ghost' could not start" in ghost.log_path.read_text()
    assert "'/no/such/mcp-server' was not found" in ghost.log_path.read_text()
    for log in (ghost.log_path, test.log_path):
        assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_a_tool_is_found_by_its_key_and_a_clashing_plain_name_by_the_one_server_left(
    record: Path, tmp_path: Path
) -> None:
    from ember.config import Settings
    from ember.tools.toolbox import Toolbox

    two, broken = breakable_server("two", tmp_path)
    host = McpHost([test_server("one", record), two], tmp_path / "logs", retry_after_s=600)
    try:
        toolbox = Toolbox(Settings(), sources=[host])
        assert toolbox.get("two/add").info.name == "two_add"
        assert toolbox.get("one/add").run({"a": 2, "b": 3}, CancelToken()).text == "5"
        with pytest.raises(ToolError, match="'one/add' or 'two/add'"):
            toolbox.get("add")  # both servers have it
        assert [t.info.key for t in toolbox.select(["add", "one/add", "calculator"])] == [
            "one/add",
            "built-in/calculator",
        ]
        broken.touch()
        with pytest.raises(ToolError):
            toolbox.get("two_die").run({}, CancelToken())
        # A choice saved as "add": only one server offers it now, so it is found.
        assert toolbox.get("add").info.key == "one/add"
        with pytest.raises(
            ToolError,
            match=r"no tool called 'two/add'\. The MCP server 'two' exited while starting \(exit code 1",
        ):
            toolbox.get("two/add")
        with pytest.raises(
            ToolError, match="It is a tool of the MCP server 'two', which is not running"
        ):
            toolbox.get("two_echo")
    finally:
        host.close()
