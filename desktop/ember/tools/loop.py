"""One tool call of an answer, from the model's request to the result it reads back.

:class:`StepRunner` takes each :class:`~ember.engines.base.ToolCall` the model makes: records it
as a step of the reply (committed at once, so a ``kill -9`` keeps it), asks for approval where
needed, runs the tool off the caller's thread with a time limit and the answer's cancel token,
and stores the result, capped. The model is given the result fenced like a retrieved passage
with special tokens neutralised (it is untrusted text) and never longer than the context can
hold. The :class:`~ember.assistant.Assistant` drives it between the model's rounds.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ember.cancel import CancelToken
from ember.chats.records import StepState, ToolStep
from ember.chats.store import ChatStore
from ember.engines.base import ToolCall
from ember.engines.sanitize import fence
from ember.errors import ToolError
from ember.knowledge.types import Citation
from ember.tools.types import (
    ApprovalRequest,
    Approver,
    Decision,
    StepCancels,
    Tool,
    ToolOutput,
)

NO_APPROVER = (
    "Not run: this tool needs the user's approval and no one could be asked (approve it in the "
    "window, or pass --yes to `ember ask`)."
)
DENIED = "Not run: the user denied this call. Do not call it again; answer without it."
STOPPED = "Not finished: the user stopped this call. Answer without its result."
REPEATED = (
    "You already called {name} with exactly these arguments; its result is above. "
    "Do not call it again: answer the user now."
)


class StepCancelled(Exception):
    """The answer was stopped while a step waited for approval or ran."""


class StepStopped(Exception):
    """The person stopped one running step (not the answer): see :class:`StepCancels`."""


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What one call gave the model: ``content`` (fenced, capped; the ``tool`` message) and,
    for ``search_documents``, its ``citations``; ``step`` None for a repeated call, which
    is not run again (``repeated``)."""

    content: str
    step: ToolStep | None = None
    citations: tuple[Citation, ...] = ()
    repeated: bool = False


def cap_result(
    text: str, max_chars: int, room_tokens: int | None = None, count: Callable[[str], int] = len
) -> tuple[str, bool]:
    """``text`` cut to ``max_chars`` characters and to ``room_tokens`` tokens (``count``: the
    model's token count), with a note ``[truncated: N of M characters shown]`` when cut.
    Returns the text and whether it was cut."""
    total = len(text)

    def cut(keep: int) -> str:
        return f"{text[:keep]}\n[truncated: {keep} of {total} characters shown]"

    keep = min(total, max_chars)
    shown = text if keep == total else cut(keep)
    if room_tokens is not None:
        for _ in range(12):  # shrink in proportion until it fits (a few rounds at most)
            used = count(shown)
            if used <= room_tokens or keep == 0:
                break
            keep = max(0, min(keep - 1, int(keep * room_tokens / used * 0.9)))
            shown = cut(keep)
    return shown, keep < total


def _call_key(call: ToolCall) -> str:
    return call.name + json.dumps(call.arguments, sort_keys=True, ensure_ascii=False)


def run_tool(
    tool: Tool,
    arguments: Mapping[str, Any],
    cancel: CancelToken,
    timeout_s: float,
    step_cancel: CancelToken | None = None,
) -> ToolOutput:
    """``tool.run`` on a thread of its own, given up after ``timeout_s`` (a :class:`ToolError`;
    the tool's own token is cancelled so it can stop), when ``cancel`` is set
    (:class:`StepCancelled`) or when ``step_cancel`` is (:class:`StepStopped`). Any exception
    of the tool other than ToolError becomes one."""
    inner = CancelToken()
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["output"] = tool.run(arguments, inner)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=work, name=f"tool {tool.info.name}", daemon=True)
    worker.start()
    deadline = time.monotonic() + timeout_s
    try:
        while worker.is_alive():
            if cancel.cancelled:
                raise StepCancelled
            if step_cancel is not None and step_cancel.cancelled:
                raise StepStopped
            if time.monotonic() >= deadline:
                raise ToolError(
                    f"{tool.info.name} did not finish within {timeout_s:g} s and was stopped."
                )
            worker.join(0.05)
    except BaseException:  # also Ctrl-C: the tool is told to stop, never left running
        inner.cancel()
        raise
    error = box.get("error")
    if isinstance(error, ToolError):
        raise error
    if error is not None:
        raise ToolError(f"{tool.info.name} failed: {error or type(error).__name__}")
    return box["output"]


class StepRunner:
    """Runs one answer's tool calls, recording each as a step of reply ``message_id``.

    ``tools``: the tools the chat allows, by name; ``needs_approval`` / ``always_allow``: the
    toolbox's; ``approve``: asks the person (None: every call that needs approval is denied,
    the model is told why); ``extra_tokens``: the model's special tokens to neutralise;
    ``cited``: the reply's sources so far (a grounded answer's): ``search_documents`` results
    are numbered on from them, and :attr:`cited` collects every source the reply may cite.
    """

    def __init__(
        self,
        store: ChatStore,
        message_id: int,
        tools: Mapping[str, Tool],
        *,
        needs_approval: Callable[[Any], bool],
        always_allow: Callable[[Any], None],
        approve: Approver | None,
        cancel: CancelToken,
        timeout_s: float,
        max_chars: int,
        extra_tokens: tuple[str, ...] = (),
        cited: Sequence[Citation] = (),
    ) -> None:
        self.store = store
        self.message_id = message_id
        self.tools = dict(tools)
        self.needs_approval = needs_approval
        self.always_allow = always_allow
        self.approve = approve
        self.cancel = cancel
        self.timeout_s = timeout_s
        self.max_chars = max_chars
        self.extra_tokens = extra_tokens
        self.cited = list(cited)
        self._seen: set[str] = set()
        # Where the person can stop one running step (the window's approver carries one).
        self.step_cancels: StepCancels | None = getattr(approve, "step_cancels", None)

    def run(
        self,
        call: ToolCall,
        text_offset: int,
        room_tokens: int | None = None,
        count: Callable[[str], int] = len,
    ) -> Generator[ToolStep, None, CallOutcome]:
        """Record, approve, run and store ``call``, yielding the step each time it changes;
        returns what the model reads. ``room_tokens``: the most tokens the result may take in
        the context. Raises :class:`StepCancelled` when the answer is stopped meanwhile (the
        step is then stored 'cancelled')."""
        key = _call_key(call)
        if key in self._seen:
            return CallOutcome(REPEATED.format(name=call.name), repeated=True)
        self._seen.add(key)
        tool = self.tools.get(call.name)
        arguments = json.dumps(call.arguments, ensure_ascii=False)
        server = tool.info.server if tool is not None else ""
        ask = tool is not None and self.needs_approval(tool.info)
        step = self.store.add_step(
            self.message_id,
            tool=call.name,
            arguments=arguments,
            state="approval" if ask else "running",
            call_id=call.id,
            server=server,
            text_offset=text_offset,
            decision=None if ask else "auto",
        )
        try:
            return (yield from self._approve_and_run(step, call, tool, ask, count, room_tokens))
        except StepCancelled:
            raise  # stored 'cancelled' already
        except BaseException as exc:
            # Ctrl-C at the terminal's prompt, the caller closing the answer's iterator, a
            # store error: the step must not be left 'approval' or 'running' for ever.
            self._abandon(step.id, exc)
            raise

    def _approve_and_run(
        self,
        step: ToolStep,
        call: ToolCall,
        tool: Tool | None,
        ask: bool,
        count: Callable[[str], int],
        room_tokens: int | None,
    ) -> Generator[ToolStep, None, CallOutcome]:
        """:meth:`run` once the step is recorded. A step that runs can be stopped through
        :attr:`step_cancels` from the moment it is shown running."""
        stops = self.step_cancels
        try:
            step_cancel = stops.begin(step.id) if stops is not None and not ask else None
            yield step
            if tool is None:
                allowed = ", ".join(self.tools) or "none"
                message = f"There is no tool called {call.name!r} here (tools: {allowed})."
                return (
                    yield from self._end(step, "error", message, count, room_tokens, error=True)
                )
            if ask:
                decision: Decision = "deny"
                if self.approve is not None:
                    decision = self.approve(ApprovalRequest(call, tool.info), self.cancel)
                if decision == "cancelled" or self.cancel.cancelled:
                    yield self._close(step, "cancelled", decision="cancelled")
                    raise StepCancelled
                if decision == "deny":
                    note = DENIED if self.approve is not None else NO_APPROVER
                    return (yield from self._end(step, "denied", note, count, room_tokens, "deny"))
                if decision == "always":
                    self.always_allow(tool.info)
                step = self.store.update_step(step.id, state="running", decision=decision)
                step_cancel = stops.begin(step.id) if stops is not None else None
                yield step
            try:
                output = run_tool(tool, call.arguments, self.cancel, self.timeout_s, step_cancel)
            except StepCancelled:
                yield self._close(step, "cancelled")
                raise
            except StepStopped:
                return (yield from self._end(step, "cancelled", STOPPED, count, room_tokens))
            except ToolError as exc:
                return (
                    yield from self._end(step, "error", str(exc), count, room_tokens, error=True)
                )
        finally:
            if stops is not None:
                stops.end(step.id)
        text, citations = self._number(output.text, output.citations)
        state: StepState = "error" if output.is_error else "done"
        return (
            yield from self._end(
                step, state, text, count, room_tokens, error=output.is_error, citations=citations
            )
        )

    def _number(
        self, text: str, citations: tuple[Citation, ...]
    ) -> tuple[str, tuple[Citation, ...]]:
        """Number a search's sources on from those the reply has (``[1]`` becomes ``[4]`` after
        three), in the text's source labels and the citations alike."""
        offset = len(self.cited)
        if citations and offset:
            text = re.sub(r"(?m)^\[(\d+)\]", lambda m: f"[{int(m.group(1)) + offset}]", text)
            citations = tuple(replace(c, n=c.n + offset) for c in citations)
        self.cited += citations
        return text, citations

    def _abandon(self, step_id: int, exc: BaseException) -> None:
        """End a step left open by ``exc``: 'cancelled' when the person stopped it, else
        'error'. Never raises (the caller re-raises ``exc``)."""
        try:
            step = self.store.step(step_id)
            if step.state not in ("approval", "running"):
                return
            if isinstance(exc, GeneratorExit | KeyboardInterrupt):
                self._close(step, "cancelled")
            else:
                self._close(step, "error", error=str(exc) or type(exc).__name__)
        except Exception:  # the store itself failing: the next open marks it 'interrupted'
            pass

    def _close(self, step: ToolStep, state: StepState, **changes: Any) -> ToolStep:
        return self.store.update_step(step.id, state=state, finished=time.time(), **changes)

    def _end(
        self,
        step: ToolStep,
        state: StepState,
        text: str,
        count: Callable[[str], int],
        room_tokens: int | None,
        decision: str | None = None,
        *,
        error: bool = False,
        citations: tuple[Citation, ...] = (),
    ) -> Generator[ToolStep, None, CallOutcome]:
        """Store the step's end and return the model's view of its result."""
        # The fence and the label take a few tokens of the room too.
        room = None if room_tokens is None else max(0, room_tokens - 16)
        shown, truncated = cap_result(text, self.max_chars, room, count)
        changes: dict[str, Any] = {"result": shown, "truncated": truncated}
        if decision is not None:
            changes["decision"] = decision
        if error:
            changes["error"] = text[: self.max_chars]
        if citations:
            changes["citations"] = citations
        step = self._close(step, state, **changes)
        yield step
        content = fence(shown, self.extra_tokens)
        if error:
            content = f"Error:\n{content}"
        return CallOutcome(content, step, citations)
