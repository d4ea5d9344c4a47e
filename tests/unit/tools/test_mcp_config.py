"""The mcpServers file: what Claude Desktop and Cursor write parses; every mistake is a message
naming the file and the server."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from ember.errors import ConfigError
from ember.tools.mcp_config import ServerConfig, load_servers, parse_servers, save_servers

CLAUDE_DESKTOP = """{
  "mcpServers": {
    "time": {"command": "uvx", "args": ["mcp-server-time", "--local-timezone", "UTC"],
             "env": {"TZ": "UTC"}},
    "notes": {"url": "https://notes.example/mcp", "headers": {"Authorization": "Bearer k"},
              "disabledTools": ["delete_note"]},
    "old": {"command": "/opt/old-server", "disabled": true}
  },
  "globalShortcut": "Ctrl+Space"
}"""


def test_a_claude_desktop_file_parses_in_order(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(CLAUDE_DESKTOP, encoding="utf-8")
    time, notes, old = load_servers(path)
    assert (time.name, time.command, time.args) == (
        "time",
        "uvx",
        ("mcp-server-time", "--local-timezone", "UTC"),
    )
    assert dict(time.env) == {"TZ": "UTC"} and time.transport == "stdio"
    assert (notes.url, dict(notes.headers), notes.transport) == (
        "https://notes.example/mcp",
        {"Authorization": "Bearer k"},
        "http",
    )
    assert notes.disabled_tools == ("delete_note",) and not notes.disabled
    assert old.disabled and old.command == "/opt/old-server"


def test_a_missing_file_is_no_servers(tmp_path: Path) -> None:
    assert load_servers(tmp_path / "absent.json") == []


def test_empty_text_and_an_empty_object_are_no_servers() -> None:
    assert parse_servers("  \n", "the editor") == []
    assert parse_servers("{}", "the editor") == []


VS_CODE = '{"servers": {"arith": {"type": "stdio", "command": "python", "args": ["a.py"]}}}'


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (VS_CODE, 'VS Code\'s mcp.json: rename the key to "mcpServers"'),
        (
            '{"mcpservers": {"a": {"command": "x"}}}',
            'Did you mean "mcpServers" (found "mcpservers")',
        ),
        ('{",,mcpServers": {"a": {"command": "x"}}}', 'found ",,mcpServers"'),
        ('{"other": 1}', 'it has "other"'),
        ('{"mcpServers": null}', '"mcpServers" must be an object'),
        ('{"mcpServers": "time"}', "not the text 'time'"),
    ],
)
def test_a_file_without_an_mcp_servers_object_is_a_mistake_not_no_servers(
    tmp_path: Path, text: str, said: str
) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_servers(path)
    message = str(err.value)
    assert str(path) in message and said in message
    assert '{"mcpServers": {"NAME": {"command"' in message  # what is expected


def test_saving_never_turns_a_wrong_text_into_an_empty_server_list(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(VS_CODE, encoding="utf-8")
    with pytest.raises(ConfigError, match='no "mcpServers" object'):
        save_servers(path, [], text=VS_CODE)
    assert path.read_text(encoding="utf-8") == VS_CODE
    # Without the text, the file's own keys stay: its servers are not lost.
    save_servers(path, [ServerConfig("b", command="y")])
    assert json.loads(path.read_text(encoding="utf-8"))["servers"]["arith"]["command"] == "python"


CLINE = """{
  "mcpServers": {
    "arith": {"command": "python", "args": ["a.py"], "autoApprove": ["add"], "timeout": 30,
              "type": "stdio", "disabled": false}
  },
  "$comment": "shared with Cline"
}"""


def test_saving_keeps_keys_ember_does_not_know_and_the_edited_texts_top_level_keys(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mcp.json"
    path.write_text('{"mcpServers": {}, "old": true}', encoding="utf-8")
    (arith,) = parse_servers(CLINE, "the editor")
    save_servers(path, [replace(arith, disabled_tools=("sub",))], text=CLINE)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["$comment"] == "shared with Cline" and "old" not in document
    assert document["mcpServers"]["arith"] == {
        "command": "python",
        "args": ["a.py"],
        "disabledTools": ["sub"],
        "autoApprove": ["add"],
        "timeout": 30,
        "type": "stdio",
    }
    assert load_servers(path)[0].extra == {"autoApprove": ["add"], "timeout": 30, "type": "stdio"}
    assert '"args": ["a.py"]' in path.read_text(encoding="utf-8")  # a short list stays on a line


def test_text_that_is_not_json_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text('{"mcpServers": {\n  "a": {"command": "x",}\n}}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mcp\.json is not valid JSON \(line 2") as err:
        load_servers(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({}, 'needs a "command"'),
        ({"command": "a", "url": "http://h/mcp"}, "both a command and a url"),
        ({"command": 5}, '"command" must be a string, not the number 5'),
        ({"command": "a", "args": "--x"}, '"args" must be a list of strings'),
        ({"command": "a", "args": ["--port", 80]}, '"args" must be a list of strings'),
        ({"command": "a", "env": {"PORT": 80}}, "\"env\" value 'PORT' must be a string"),
        ({"command": "a", "env": ["A=1"]}, '"env" must be an object of strings'),
        ({"command": "a", "disabled": "yes"}, '"disabled" must be true or false'),
        ({"command": "a", "disabledTools": "rm"}, '"disabledTools" must be a list of strings'),
        ({"url": "notes.example/mcp"}, "must start with http:// or https://"),
        ({"url": "http://h/sse", "type": "sse"}, "old SSE transport"),
        ({"command": "a", "type": "http"}, '"type": "http", which does not fit its command'),
        ({"url": "http://h/mcp", "args": ["x"]}, '"args" belongs to command servers'),
        ({"command": "a", "headers": {"A": "b"}}, '"headers" belongs to url servers'),
        ("uvx thing", "must be an object with a command or a url, not the text"),
    ],
)
def test_each_mistake_names_the_file_and_the_server(entry: object, problem: str) -> None:
    text = json.dumps({"mcpServers": {"broken": entry}})
    with pytest.raises(ConfigError) as err:
        parse_servers(text, "/home/me/mcp.json")
    message = str(err.value)
    assert "/home/me/mcp.json" in message and "'broken'" in message
    assert problem in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[1, 2]", "must hold a JSON object"),
        ('{"mcpServers": ["a"]}', '"mcpServers" must be an object'),
        ('{"mcpServers": {"": {"command": "a"}}}', "an MCP server has an empty name"),
    ],
)
def test_a_wrong_shape_names_the_file(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as err:
        parse_servers(text, "settings editor")
    assert "settings editor" in str(err.value)


def test_saved_servers_load_back_and_other_keys_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(CLAUDE_DESKTOP, encoding="utf-8")
    servers = load_servers(path)
    changed = [*servers[:2], ServerConfig("new", command="node", args=("server.js",))]
    save_servers(path, changed)
    assert load_servers(path) == changed
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["globalShortcut"] == "Ctrl+Space"
    assert document["mcpServers"]["new"] == {"command": "node", "args": ["server.js"]}
    assert document["mcpServers"]["notes"]["disabledTools"] == ["delete_note"]


def test_the_saved_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "config" / "mcp.json"
    save_servers(path, [ServerConfig("s", command="x", env={"API_KEY": "secret"})])
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def test_two_servers_with_one_name_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    with pytest.raises(ConfigError, match="Two MCP servers are named 'a'"):
        save_servers(path, [ServerConfig("a", command="x"), ServerConfig("a", command="y")])
    assert not path.exists()


def test_a_server_may_not_pass_for_embers_own_tools() -> None:
    # Its tools' keys would read "built-in/read_file": always allowed with Ember's read_file.
    text = json.dumps({"mcpServers": {"built-in": {"command": "fake-read-file"}}})
    with pytest.raises(ConfigError, match=r"'built-in'.*Ember's own tools"):
        parse_servers(text, "mcp.json")
