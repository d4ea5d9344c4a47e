"""Open the real window's Tools ▾ menu on each screen the offscreen platform was given (run with
``QT_QPA_PLATFORM=offscreen:configfile=SCREENS.json``, EMBER_HOME set, mcp.json written).

For each screen: a window filling it, then Tools ▾ opened as a click opens it (Qt places it and
waits inside it), first before the tools were ever listed, then again. Each opening prints one
JSON line: the screen's free area and the menu's geometry (x, y, width, height) once the tools
are in it, and how many tools it lists. Used by tests/unit/ui/test_tool_window.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from PySide6.QtCore import QEventLoop

from ember.ui.app import create_application, create_window, shutdown_window
from ember.ui.qt import QApplication, QTimer

TIMEOUT_S = 60.0


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Run the event loop until ``condition`` holds (TimeoutError after TIMEOUT_S)."""
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited too long for {what}")
        loop = QEventLoop()
        QTimer.singleShot(20, loop.quit)
        loop.exec()


def rect(r: object) -> list[int]:
    return [r.x(), r.y(), r.width(), r.height()]  # type: ignore[attr-defined]


def open_menu(window: object, screen: object) -> dict[str, object]:
    tools = window.chat_tools  # type: ignore[attr-defined]
    seen: dict[str, object] = {}

    def inside() -> None:
        try:
            wait_until(tools.menu.isVisible, "the menu to open")
            wait_until(lambda: "add" in [i.name for i in tools.infos], "the tools")
            wait_until(lambda: not getattr(tools, "_listing_now", False), "the refresh")
            seen["menu"] = rect(tools.menu.geometry())
            seen["tools"] = sum(1 for a in tools.menu.actions() if a.isCheckable())
        except Exception as exc:  # (reported, not raised inside Qt's menu loop)
            seen["error"] = repr(exc) + repr([a.text() for a in tools.menu.actions()])
        finally:
            tools.menu.close()

    QTimer.singleShot(0, inside)
    tools.button.showMenu()  # what a click on the button does; returns when the menu closes
    seen["screen"] = rect(screen.availableGeometry())  # type: ignore[attr-defined]
    return seen


def main() -> None:
    app = create_application()
    for screen in QApplication.screens():
        window = create_window(start_background=False)
        window.setGeometry(screen.availableGeometry())  # type: ignore[attr-defined]
        window.show()  # type: ignore[attr-defined]
        window.activateWindow()  # type: ignore[attr-defined]
        wait_until(lambda w=window: w.started, "the window to start")  # type: ignore[misc]
        for _time in range(2):
            print(json.dumps(open_menu(window, screen)), flush=True)
        window.close()  # type: ignore[attr-defined]
        shutdown_window(window)
    del app


if __name__ == "__main__":
    main()
