"""Every tool the model may call: Ember's built-ins first, then each MCP server's.

A :class:`Toolbox` answers what the tools are (:meth:`Toolbox.infos`, for the window's tool
picker and ``ember tools list``), finds one by name (:meth:`Toolbox.get`, :meth:`Toolbox.select`)
and says whether a call must be approved first (:meth:`Toolbox.needs_approval`). MCP servers are
asked for their tools only when a non-built-in tool is wanted: a chat using the calculator starts
no server.

Wherever a tool is named (``--tools``, a chat's choice), any of these finds it, in this order:
the name the model sees (``add``, or ``arith_add`` when two servers have an ``add``); its stable
key ``server/tool`` (:attr:`ToolInfo.key`: ``arith/add``, ``built-in/calculator``), which never
changes; the server's own name for it (``add``) when exactly one tool has that name. So a choice
saved as ``add`` still finds arith's ``add`` after a second server's ``add`` renamed it, unless
both are there (then the message names both keys). A tool that is not found is a
:class:`ToolError` saying why when the sources know (a server off or not running) and naming the
nearest names ("did you mean …").
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol

from ember.config import Settings, load_settings, save_settings
from ember.errors import EmberError, ToolError
from ember.paths import Paths
from ember.tools.builtin import builtin_tools
from ember.tools.types import BUILTIN, Tool, ToolInfo

log = logging.getLogger(__name__)


class ToolSource(Protocol):
    """Where more tools come from (:class:`ember.tools.mcp_host.McpHost`)."""

    def tools(self, reserved: Collection[str] = ()) -> list[Tool]:
        """The tools it offers now (may start servers; blocks); none named as in
        ``reserved`` (the built-ins' names)."""
        ...

    def why_missing(self, name: str) -> str:
        """Why there may be no tool ``name`` (a server off or not running); "" when unknown."""
        ...


class Toolbox:
    """The built-in tools and those of ``sources``.

    ``settings``: the settings, or a function giving them as they are now (the app replaces
    its settings object when the person saves). ``retriever``: a function giving the knowledge
    base's retriever (``search_documents`` is offered only with one). ``remember``: persists a
    tool's key into ``Settings.tools_always_allowed`` (the app's settings save); without it
    "always allow" lasts as long as this toolbox.
    """

    def __init__(
        self,
        settings: Settings | Callable[[], Settings],
        *,
        retriever: Callable[[], Any] | None = None,
        sources: Sequence[ToolSource] = (),
        remember: Callable[[str], None] | None = None,
    ) -> None:
        if isinstance(settings, Settings):
            fixed = settings
            self._settings: Callable[[], Settings] = lambda: fixed
        else:
            self._settings = settings
        self.sources = list(sources)
        self._remember = remember
        self._allowed: set[str] = set()  # keys allowed from now on, before any save shows them
        self._builtins = builtin_tools(self._settings, retriever)

    def add_source(self, source: ToolSource) -> None:
        """Offer ``source``'s tools too (an MCP host made after the toolbox)."""
        self.sources.append(source)

    def builtins(self) -> list[Tool]:
        """Ember's own tools (quick; starts nothing)."""
        return list(self._builtins)

    def tools(self) -> list[Tool]:
        """*worker* Every tool: built-ins, then each source's (MCP servers start here on first
        use). A source that fails is left out (its status says why)."""
        found = self.builtins()
        for source in self.sources:
            try:
                found += source.tools(reserved={t.info.name for t in found})
            except EmberError as exc:
                log.warning("tools of %s left out: %s", type(source).__name__, exc)
        return found

    def infos(self) -> list[ToolInfo]:
        """*worker* What each tool is (see :meth:`tools`), built-ins first."""
        return [tool.info for tool in self.tools()]

    def get(self, name: str) -> Tool:
        """*worker* The tool named ``name`` (a name or key, see the module); :class:`ToolError`
        when there is none (saying why, when the sources know, and the nearest names), when it
        is ambiguous, or when the person switched it off. Built-ins are found without asking
        any server."""
        if not name.strip():
            raise ToolError("No tool was named.")
        tool = find(self._builtins, name)
        if tool is None:
            tools = self.tools()
            tool = find(tools, name)
            if tool is None:
                raise ToolError(self._missing(name, tools))
        return _usable(name, tool)

    def select(self, names: Sequence[str]) -> list[Tool]:
        """*worker* The enabled tools among ``names`` (a chat's choice: names or keys, see the
        module), in that order, each once; tools gone since (a server removed), ambiguous or
        switched off are left out. The servers are asked once (a server that does not start
        then costs one start timeout, not one per tool)."""
        wanted = list(dict.fromkeys(names))
        tools = self.builtins()
        if any(_quiet_find(tools, name) is None for name in wanted):
            tools = self.tools()
        chosen: dict[str, Tool] = {}
        for name in wanted:
            try:
                tool = _usable(name, find(tools, name))
            except ToolError as exc:
                log.info("tool left out of the chat: %s", exc)
                continue
            chosen.setdefault(tool.info.key, tool)
        return list(chosen.values())

    def _missing(self, name: str, tools: Sequence[Tool]) -> str:
        """ "There is no tool called …", with why (from the sources) and the nearest names."""
        why = " ".join(
            reason
            for source in self.sources
            if (reason := getattr(source, "why_missing", lambda _n: "")(name))
        )
        near = nearest(name, tools)
        return " ".join(
            part
            for part in (
                f"There is no tool called {name!r}.",
                why,
                f"Did you mean {' or '.join(repr(n) for n in near)}?" if near else "",
            )
            if part
        )

    def needs_approval(self, info: ToolInfo) -> bool:
        """Whether a call must be approved before it runs: always, except for the read-only
        built-ins and the tools the person always allows."""
        if info.server == BUILTIN and info.read_only:
            return False
        return (
            info.key not in self._settings().tools_always_allowed and info.key not in self._allowed
        )

    def always_allow(self, info: ToolInfo) -> None:
        """Run ``info``'s tool without asking from now on (saved with the settings)."""
        self._allowed.add(info.key)
        if self._remember is not None:
            self._remember(info.key)
            self._allowed.discard(info.key)  # the settings hold it: removed there, it asks again


def find(tools: Sequence[Tool], name: str) -> Tool | None:
    """The tool among ``tools`` that ``name`` names (see the module's order); None when none
    does. Raises :class:`ToolError` when ``name`` is a server's own tool name that two servers
    have (naming both keys)."""
    for tool in tools:
        if tool.info.name == name:
            return tool
    for tool in tools:
        if tool.info.key == name:
            return tool
    own = [t for t in tools if (t.info.remote_name or t.info.name) == name]
    if len(own) > 1:
        keys = " or ".join(repr(t.info.key) for t in own)
        raise ToolError(f"More than one MCP server has a tool {name!r}: name it as {keys}.")
    return own[0] if own else None


def _quiet_find(tools: Sequence[Tool], name: str) -> Tool | None:
    try:
        return find(tools, name)
    except ToolError:
        return None


def nearest(name: str, tools: Sequence[Tool], n: int = 3) -> list[str]:
    """The names of the ``tools`` closest to ``name`` (by name or key, ignoring case), best
    first: "Calculator" → ["calculator"]."""
    scored = []
    for tool in tools:
        score = max(
            difflib.SequenceMatcher(None, name.lower(), known.lower()).ratio()
            for known in (tool.info.name, tool.info.key)
        )
        if score >= 0.6:
            scored.append((-score, tool.info.name))
    return [found for _score, found in sorted(scored)[:n]]


def _usable(name: str, tool: Tool | None) -> Tool:
    """``tool``, or :class:`ToolError` when there is none or it is switched off."""
    if tool is None:
        raise ToolError(f"There is no tool called {name!r}.")
    if not tool.info.enabled:
        raise ToolError(f"The tool {name!r} is switched off.")
    return tool


def save_always_allowed(paths: Paths, key: str) -> None:
    """Add ``key`` to ``tools_always_allowed`` in the settings file, changing nothing else in it
    (a command's own options, such as ``--temperature``, are not saved)."""
    saved = load_settings(paths)
    if key not in saved.tools_always_allowed:
        allowed = [*saved.tools_always_allowed, key]
        save_settings(saved.model_copy(update={"tools_always_allowed": allowed}), paths)
