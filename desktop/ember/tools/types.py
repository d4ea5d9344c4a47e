"""The shapes tools, the tool loop, the chat store and the front ends share.

A :class:`Tool` is something the model can call: a built-in (``server`` is :data:`BUILTIN`) or
one tool of an MCP server (``server`` is the server's name in ``mcpServers``). Before it runs, an
:class:`Approver` decides (the window's card, the terminal's prompt, or a pre-approval); what it
returns is a :class:`ToolOutput`, untrusted text the loop fences and caps before the model
reads it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ember.cancel import CancelToken
from ember.engines.base import ToolCall, ToolDefinition
from ember.knowledge.types import Citation

BUILTIN = "built-in"  # the ``server`` of Ember's own tools

# How a call was let through or stopped: "auto" (a read-only built-in, or always allowed before),
# "allow_once", "always" (allowed now and from now on), "deny" (the person said no), "cancelled"
# (the answer was stopped while the question was open).
Decision = Literal["auto", "allow_once", "always", "deny", "cancelled"]


@dataclass(frozen=True, slots=True)
class ToolInfo:
    """What a tool is, for the model, the approval card and ``ember tools list``.

    ``name``: what the model calls it (unique across all servers); ``remote_name``: the MCP
    server's own name for it ("" for built-ins); ``parameters``: JSON Schema object;
    ``read_only``: may be auto-approved (only the built-ins ``search_documents``, ``calculator``
    and ``current_datetime``); ``enabled``: the person has not switched it off.
    """

    name: str
    description: str
    parameters: Mapping[str, Any] = field(default_factory=dict, hash=False)
    server: str = BUILTIN
    remote_name: str = ""
    read_only: bool = False
    enabled: bool = True

    @property
    def key(self) -> str:
        """``server/tool``: how "always allow" and "disabled" name it in settings."""
        return f"{self.server}/{self.remote_name or self.name}"

    def definition(self) -> ToolDefinition:
        """The engine-side definition the model sees."""
        return ToolDefinition.of(self.name, self.description, dict(self.parameters))


@dataclass(frozen=True, slots=True)
class ToolOutput:
    """What one call returned: ``text`` (untrusted; the loop caps and fences it), whether it is
    an error the model should be told about (``is_error``), and, for ``search_documents``, the
    passages it found as citations (rendered like a grounded answer's sources)."""

    text: str
    is_error: bool = False
    citations: tuple[Citation, ...] = ()


class Tool(Protocol):
    """A callable tool. ``run`` blocks (call it off the GUI thread), must return soon after
    ``cancel`` is set, and raises :class:`ember.errors.ToolError` for a failure the person can
    act on (a server that died, a path outside the granted folders)."""

    info: ToolInfo

    def run(self, arguments: Mapping[str, Any], cancel: CancelToken) -> ToolOutput: ...


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """A call waiting for a decision: the model's ``call`` and the ``tool`` it names."""

    call: ToolCall
    tool: ToolInfo


class Approver(Protocol):
    """Decides on one call; may block (a dialog, a terminal prompt) until the person answers or
    ``cancel`` is set (then it returns "cancelled"). Never called for auto-approved tools.

    An approver may also carry ``step_cancels`` (a :class:`StepCancels`): the person who
    approves calls can then stop one running call without stopping the answer (the window's
    Cancel on a running step)."""

    def __call__(self, request: ApprovalRequest, cancel: CancelToken) -> Decision: ...


class StepCancels:
    """The cancel tokens of the tool steps running now, by step id (thread-safe): the tool
    loop registers each running step (:meth:`begin`, :meth:`end`); the person stops one with
    :meth:`cancel`. A stopped step ends 'cancelled' and the model is told, and the answer goes
    on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[int, CancelToken] = {}

    def begin(self, step_id: int) -> CancelToken:
        """The token of step ``step_id``, which starts running now."""
        with self._lock:
            token = self._tokens[step_id] = CancelToken()
            return token

    def end(self, step_id: int) -> None:
        """Step ``step_id`` is over (its token is forgotten)."""
        with self._lock:
            self._tokens.pop(step_id, None)

    def cancel(self, step_id: int) -> bool:
        """Stop step ``step_id``; False when it is not running (waiting for approval, done)."""
        with self._lock:
            token = self._tokens.get(step_id)
        if token is None:
            return False
        token.cancel()
        return True
