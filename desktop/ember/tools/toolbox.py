"""Every tool the model may call: Ember's built-ins first, then each MCP server's.

A :class:`Toolbox` answers what the tools are (:meth:`Toolbox.infos`, for the window's tool
picker and ``ember tools list``), finds one by the name the model calls it (:meth:`Toolbox.get`)
and says whether a call must be approved first (:meth:`Toolbox.needs_approval`). MCP servers are
asked for their tools only when a non-built-in tool is wanted: a chat using the calculator starts
no server.
"""

from __future__ import annotations

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
        """*worker* The tool the model calls ``name``; :class:`ToolError` when there is none or
        the person switched it off. Built-ins are found without asking any server."""
        tool = next((t for t in self._builtins if t.info.name == name), None)
        if tool is None:
            tool = next((t for t in self.tools() if t.info.name == name), None)
        return _usable(name, tool)

    def select(self, names: Sequence[str]) -> list[Tool]:
        """*worker* The enabled tools among ``names`` (a chat's choice), in that order; names of
        tools gone since (a server removed) are left out. The servers are asked once (a server
        that does not start then costs one start timeout, not one per tool)."""
        wanted = list(dict.fromkeys(names))
        found = {t.info.name: t for t in self._builtins}
        if any(name not in found for name in wanted):
            found = {t.info.name: t for t in self.tools()}
        chosen = []
        for name in wanted:
            try:
                chosen.append(_usable(name, found.get(name)))
            except ToolError as exc:
                log.info("tool left out of the chat: %s", exc)
        return chosen

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
