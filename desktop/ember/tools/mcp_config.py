"""The MCP servers the person configured: the ``mcpServers`` JSON of Claude Desktop and Cursor.

``mcp.json`` in the config folder (:attr:`ember.paths.Paths.mcp_config`)::

    {"mcpServers": {
        "time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
        "notes": {"url": "http://127.0.0.1:8765/mcp", "headers": {"Authorization": "Bearer …"},
                  "disabledTools": ["delete_note"]},
        "old": {"command": "old-server", "disabled": true}}}

A server is either started as a child process speaking MCP over stdio (``command``, ``args``,
``env``) or reached over streamable HTTP (``url``, ``headers``). ``disabled`` keeps it configured
but never started; ``disabledTools`` names tools (the server's own names) the model never sees.
A ``type`` key, as some clients write, is accepted when it agrees ("stdio", "http",
"streamable-http"); SSE-only servers are refused with a message. Keys Ember does not know (Cline's
``autoApprove``, ``timeout``, ``type``…) are kept in :attr:`ServerConfig.extra` and written back
when the file is saved, as are the file's other top-level keys.

A non-empty file must hold an ``"mcpServers"`` object: a file without one (VS Code's
``{"servers": …}``, a misspelt key) is a mistake, never "no servers" (saving it would drop every
server). Empty text and ``{}`` are no servers.

Every problem is a :class:`~ember.errors.ConfigError` naming the file and the server.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ember.errors import ConfigError

_STDIO_TYPES = {"stdio"}
_HTTP_TYPES = {"http", "streamable-http", "streamable_http", "streamableHttp"}
# The keys Ember reads (and writes back from the fields); any other key of an entry is kept as is.
_KNOWN_KEYS = ("command", "args", "env", "url", "headers", "disabled", "disabledTools")
_EXAMPLE = '{"mcpServers": {"NAME": {"command": "…", "args": […]}}}'


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class ServerConfig:
    """One entry of ``mcpServers``: ``name`` is its key. Exactly one of ``command`` (stdio) and
    ``url`` (streamable HTTP) is set."""

    name: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=_empty, hash=False)
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=_empty, hash=False)
    disabled: bool = False
    disabled_tools: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=_empty, hash=False)
    """The entry's keys Ember does not use (``autoApprove``, ``timeout``, ``type``…), kept for
    other apps sharing the file; written back after Ember's own keys."""

    @property
    def transport(self) -> str:
        """ "stdio" or "http"."""
        return "http" if self.url else "stdio"

    def to_json(self) -> dict[str, Any]:
        """The entry as ``mcpServers`` holds it (defaults left out)."""
        entry: dict[str, Any] = {}
        if self.url:
            entry["url"] = self.url
            if self.headers:
                entry["headers"] = dict(self.headers)
        else:
            entry["command"] = self.command
            if self.args:
                entry["args"] = list(self.args)
            if self.env:
                entry["env"] = dict(self.env)
        if self.disabled:
            entry["disabled"] = True
        if self.disabled_tools:
            entry["disabledTools"] = list(self.disabled_tools)
        for key, value in self.extra.items():
            if key not in _KNOWN_KEYS:
                entry[key] = value
        return entry


def load_servers(path: Path) -> list[ServerConfig]:
    """The servers in the file at ``path``, in file order; ``[]`` when it does not exist.

    Raises :class:`ConfigError` naming the file and the problem when it cannot be read or is
    not a valid ``mcpServers`` file.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The MCP server file {path} cannot be read: {exc}") from None
    return parse_servers(text, str(path))


def parse_servers(text: str, source: str) -> list[ServerConfig]:
    """The servers in ``text`` (``source`` names it in messages: a path, "the editor").

    Empty text and ``{}`` are no servers. Raises :class:`ConfigError` for text that is not JSON,
    not an object, has no ``"mcpServers"`` object (saying what it has instead), or holds a
    server entry that is not usable.
    """
    if not text.strip():
        return []
    servers = _servers_object(_document(text, source), source)
    return [_server(name, entry, source) for name, entry in servers.items()]


def save_servers(path: Path, servers: Sequence[ServerConfig], text: str | None = None) -> None:
    """Write ``servers`` to ``path`` as ``{"mcpServers": {...}}``, atomically (owner-only: env
    and headers may hold keys), two-space indented with short lists on one line.

    ``text``: the text being saved (the Settings editor's), whose other top-level keys are
    kept; it must be a valid servers text (:func:`parse_servers`). Without it, the other
    top-level keys of a readable existing file are kept. Each server's unknown keys come from
    :attr:`ServerConfig.extra`.

    Raises :class:`ConfigError` for two servers with one name or a ``text`` that is not a
    servers text (nothing is written), :class:`OSError` when the disk refuses.
    """
    from ember.files import write_atomically

    names = [s.name for s in servers]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"Two MCP servers are named {twice[0]!r}; each needs its own name.")
    document: dict[str, Any] = {}
    if text is not None:
        if text.strip():
            document = _document(text, "the text to save")
            _servers_object(document, "the text to save")
    else:
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(existing, dict):
                document = existing
        except (OSError, ValueError):
            pass
    document["mcpServers"] = {s.name: s.to_json() for s in servers}
    write_atomically(path, dumps(document) + "\n", mode=0o600)


def dumps(value: Any, indent: str = "") -> str:
    """``value`` as JSON indented by two spaces, with a list or object of plain values kept on
    one line when it fits (``"args": ["-y", "server"]``), as people write mcp.json by hand."""
    flat = json.dumps(value, ensure_ascii=False)
    plain = not isinstance(value, dict | list) or all(
        not isinstance(v, dict | list)
        for v in (value.values() if isinstance(value, dict) else value)
    )
    if (plain and len(indent) + len(flat) <= 90) or not value:
        return flat
    inner = indent + "  "
    if isinstance(value, list):
        items = [inner + dumps(v, inner) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    items = [
        f"{inner}{json.dumps(k, ensure_ascii=False)}: {dumps(v, inner)}" for k, v in value.items()
    ]
    return "{\n" + ",\n".join(items) + "\n" + indent + "}"


def _servers_object(data: dict[str, Any], source: str) -> dict[str, Any]:
    """The ``"mcpServers"`` object of ``data`` (``{}`` for ``{}``); :class:`ConfigError` saying
    what is there instead when there is none."""
    if not data:
        return {}
    if "mcpServers" not in data:
        found = ", ".join(json.dumps(k, ensure_ascii=False) for k in list(data)[:5])
        if "servers" in data:
            hint = (
                ' "servers" is the format of VS Code\'s mcp.json: rename the key to "mcpServers" '
                "(the format of Claude Desktop and Cursor)."
            )
        else:
            near = difflib.get_close_matches(
                "mcpservers", [k.lower() for k in data if isinstance(k, str)], n=1, cutoff=0.6
            )
            key = next((k for k in data if near and k.lower() == near[0]), None)
            hint = (
                f' Did you mean "mcpServers" (found {json.dumps(key, ensure_ascii=False)})?'
                if key is not None
                else ""
            )
        raise ConfigError(
            f'{source} has no "mcpServers" object (it has {found}); expected {_EXAMPLE}.{hint}'
        )
    servers = data["mcpServers"]
    if not isinstance(servers, dict):
        raise ConfigError(
            f'In {source}: "mcpServers" must be an object mapping server names to their '
            f"settings, not {_kind(servers)}; expected {_EXAMPLE}."
        )
    return servers


def _document(text: str, source: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            f'{source} must hold a JSON object like {{"mcpServers": {{...}}}}, not {_kind(data)}.'
        )
    return data


def _server(name: str, entry: object, source: str) -> ServerConfig:
    where = f"In {source}, MCP server {name!r}"
    if not name.strip():
        raise ConfigError(f"In {source}, an MCP server has an empty name.")
    if name == "built-in":  # ember.tools.types.BUILTIN: its tools would pass for Ember's own
        raise ConfigError(f'{where}: "built-in" names Ember\'s own tools; pick another name.')
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be an object with a command or a url, not {_kind(entry)}.")
    command = _text(entry, "command", where)
    url = _text(entry, "url", where)
    kind = entry.get("type")
    if command and url:
        raise ConfigError(f"{where} has both a command and a url; keep one.")
    if not command and not url:
        raise ConfigError(
            f'{where} needs a "command" (a program speaking MCP over stdio) or a "url" '
            "(a streamable-HTTP endpoint)."
        )
    if kind is not None:
        if kind == "sse":
            raise ConfigError(
                f"{where} uses the old SSE transport, which Ember does not support; give the "
                "server's streamable-HTTP url instead."
            )
        expected = _STDIO_TYPES if command else _HTTP_TYPES
        if kind not in expected:
            raise ConfigError(
                f'{where} has "type": {json.dumps(kind)}, which does not fit its '
                f"{'command' if command else 'url'} (expected {' or '.join(sorted(expected))})."
            )
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: the url must start with http:// or https:// (got {url!r}).")
    if not command:  # stdio-only keys on an HTTP server are mistakes worth naming
        for key in ("args", "env"):
            if key in entry:
                raise ConfigError(f'{where} has a url; "{key}" belongs to command servers.')
    elif "headers" in entry:
        raise ConfigError(f'{where} has a command; "headers" belongs to url servers.')
    disabled = entry.get("disabled", False)
    if not isinstance(disabled, bool):
        raise ConfigError(f'{where}: "disabled" must be true or false, not {_kind(disabled)}.')
    return ServerConfig(
        name=name,
        command=command,
        args=_strings(entry, "args", where),
        env=MappingProxyType(_string_map(entry, "env", where)),
        url=url,
        headers=MappingProxyType(_string_map(entry, "headers", where)),
        disabled=disabled,
        disabled_tools=_strings(entry, "disabledTools", where),
        extra=MappingProxyType({k: v for k, v in entry.items() if k not in _KNOWN_KEYS}),
    )


def _text(entry: Mapping[str, object], key: str, where: str) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str):
        raise ConfigError(f'{where}: "{key}" must be a string, not {_kind(value)}.')
    return value.strip()


def _strings(entry: Mapping[str, object], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{where}: "{key}" must be a list of strings, not {_kind(value)}.')
    return tuple(value)


def _string_map(entry: Mapping[str, object], key: str, where: str) -> dict[str, str]:
    value = entry.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f'{where}: "{key}" must be an object of strings, not {_kind(value)}.')
    for k, v in value.items():
        if not isinstance(v, str):
            raise ConfigError(
                f'{where}: "{key}" value {k!r} must be a string, not {_kind(v)} '
                "(write numbers and true/false in quotes)."
            )
    return dict(value)


def _kind(value: object) -> str:
    """How a JSON value reads in a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
