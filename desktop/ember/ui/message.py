"""What the person is told: errors, notices and questions, through one bridge.

Modelled on qutebrowser's ``message`` module: controllers and jobs' callbacks call
:func:`error`, :func:`warning`, :func:`info` or :func:`ask` without knowing about the window;
the window connects :data:`global_bridge` to its status bar and dialogs. A message sent while
no window is attached is dropped (errors and warnings are logged).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ember.ui.qt import QObject, Signal

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Question:
    """A yes/no question; ``on_yes`` runs on the GUI thread when the person agrees.

    ``name`` is the dialog's objectName (tests and style sheets find it by it); ``yes`` names
    the agreeing button (``"open"``, ``"ok"`` or the button's own text); ``no``, when given, is
    the declining button's text (else "Cancel"), and ``on_no`` runs when the person declines or
    closes the question."""

    name: str
    title: str
    text: str
    detail: str = ""
    yes: str = "ok"
    on_yes: Callable[[], None] | None = None
    no: str = ""
    on_no: Callable[[], None] | None = None


class MessageBridge(QObject):
    """Signals the window listens to; every call comes from the GUI thread."""

    # title, text: a window-modal dialog that does not block the event loop
    error_shown = Signal(str, str)
    warning_shown = Signal(str, str)
    # text, milliseconds (0: until replaced or cleared): the status bar
    info_shown = Signal(str, int)
    cleared = Signal()
    asked = Signal(object)  # a Question


global_bridge = MessageBridge()


def error(title: str, text: str) -> None:
    """Tell the person something failed (a dialog titled ``title``)."""
    log.info("error shown: %s: %s", title, text)
    global_bridge.error_shown.emit(title, text)


def warning(title: str, text: str) -> None:
    """Tell the person something they should know before going on (a dialog)."""
    log.info("warning shown: %s: %s", title, text)
    global_bridge.warning_shown.emit(title, text)


def info(text: str, ms: int = 5000) -> None:
    """A passing notice in the status bar for ``ms`` milliseconds (0: until replaced)."""
    global_bridge.info_shown.emit(text, ms)


def clear() -> None:
    """Remove the status bar's notice (e.g. "Checking…" once the check failed)."""
    global_bridge.cleared.emit()


def ask(question: Question) -> None:
    """Ask a yes/no question without blocking; ``question.on_yes`` runs if they agree."""
    global_bridge.asked.emit(question)
