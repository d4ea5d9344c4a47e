"""The local API served from the window: the Settings tab, the key, the status bar, quitting.

Integration tests: the real window in the test's own process (pytest-qt), a real core, the real
server on real loopback sockets, and `httpx` as the other app. The start-up import check runs
the window in a child process, whose imports are its own.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ember.api.config import key_file
from ember.config import save_settings
from ember.ui.qt import QApplication, QMessageBox
from tests.support.ui_app import close_window, deterministic_settings, find_dialog, open_window

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVE_TIMEOUT_MS = 30_000


def free_port() -> int:
    """A port nothing listens on right now (the OS's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def window(qtbot) -> Iterator[object]:
    win = open_window(qtbot, deterministic_settings())
    yield win
    close_window(win)


def _idle(window) -> bool:  # type: ignore[no-untyped-def]
    return not window.api.busy


def _key(window) -> str:  # type: ignore[no-untyped-def]
    return key_file(window.core.paths).read_text(encoding="utf-8").strip()


def _models(url: str, key: str) -> httpx.Response:
    return httpx.get(f"{url}/models", headers={"Authorization": f"Bearer {key}"}, timeout=10)


def _answers_from_ember(response: httpx.Response) -> bool:
    """An answer the API itself gave: its models list, or an error in OpenAI's shape."""
    body = response.json()
    return "data" in body or "error" in body


def _switch(qtbot, window, on: bool, port: int | None = None, host: str | None = None):  # type: ignore[no-untyped-def]
    """Change the Local API tab as a person would, and press Save; returns the dialog."""
    dialog = window.open_settings()
    section = dialog.api_section
    section.enabled.setChecked(on)
    if port is not None:
        section.port.setValue(port)
    if host is not None:
        section.host.setText(host)
    dialog.accept()
    return dialog


def test_switching_the_api_on_in_settings_serves_and_off_stops(qtbot, window) -> None:
    port = free_port()
    assert window.api.url is None and not window.api.indicator.isVisibleTo(window)
    dialog = window.open_settings()
    dialog.api_section.enabled.setChecked(True)  # ticked, not saved: the state says what comes
    assert dialog.api_section.state.text() == "Off: serves once you save."
    dialog.reject()
    _switch(qtbot, window, True, port)
    qtbot.waitUntil(lambda: window.api.url is not None and _idle(window), timeout=SERVE_TIMEOUT_MS)

    url = f"http://127.0.0.1:{port}/v1"
    assert window.api.url == url
    assert window.core.settings.api_enabled and window.core.settings.api_port == port
    assert window.api.indicator.isVisibleTo(window)
    assert window.api.indicator.text() == f"API on :{port}"
    assert url in window.api.indicator.toolTip()
    response = _models(url, _key(window))
    assert _answers_from_ember(response), response.text

    dialog = window.open_settings()  # the tab shows what is served
    section = dialog.api_section
    assert section.enabled.isChecked() and section.port.value() == port
    assert section.address.text() == url
    assert section.mcp.text().endswith(f"http://127.0.0.1:{port}/mcp")
    assert url in section.state.text()
    section.enabled.setChecked(False)  # not saved yet: still serving, and it says so
    assert section.state.text() == f"On at {url} until you save: then off."
    dialog.reject()

    _switch(qtbot, window, False)
    qtbot.waitUntil(lambda: window.api.url is None and _idle(window), timeout=SERVE_TIMEOUT_MS)
    assert not window.core.settings.api_enabled
    assert not window.api.indicator.isVisibleTo(window)
    with pytest.raises(httpx.ConnectError):
        _models(url, _key(window))


def test_the_api_key_is_shown_copied_and_replaced(qtbot, window) -> None:
    port = free_port()
    _switch(qtbot, window, True, port)
    qtbot.waitUntil(lambda: window.api.url is not None and _idle(window), timeout=SERVE_TIMEOUT_MS)
    old = _key(window)
    assert window.api.config.api_key == old

    dialog = window.open_settings()
    section = dialog.api_section
    assert section.key.text() == old and section.key.isReadOnly()
    section.copy_button.click()
    assert QApplication.clipboard().text() == old

    section.new_key_button.click()
    question = find_dialog(window, "ConfirmNewApiKey")
    assert question is not None and "stop working" in question.text()
    question.button(QMessageBox.StandardButton.Cancel).click()
    assert _key(window) == old  # declined: nothing changed

    section.new_key_button.click()
    question = find_dialog(window, "ConfirmNewApiKey")
    agree = next(b for b in question.buttons() if b.text() == "Make a new key")
    agree.click()
    new = _key(window)
    assert new != old and section.key.text() == new
    # The running server restarts with the new key.
    qtbot.waitUntil(
        lambda: (
            window.api.config is not None and window.api.config.api_key == new and _idle(window)
        ),
        timeout=SERVE_TIMEOUT_MS,
    )
    works = _models(window.api.url, new)
    assert works.status_code == 200 and works.json()["data"]
    refused = _models(window.api.url, old)  # whoever had the old key is locked out
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"
    dialog.reject()


def test_a_port_in_use_is_said_once_and_leaves_the_switch_off(qtbot, window) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        failures: list[str] = []
        window.api.failed.connect(failures.append)
        _switch(qtbot, window, True, port)
        qtbot.waitUntil(lambda: bool(failures) and _idle(window), timeout=SERVE_TIMEOUT_MS)

        error = find_dialog(window, "ErrorDialog")
        assert error is not None
        assert str(port) in error.text() and "another port" in error.text()
        assert window.api.url is None and not window.api.indicator.isVisibleTo(window)
        assert not window.core.settings.api_enabled  # saved off: not tried again at next start
        dialog = window.open_settings()
        assert not dialog.api_section.enabled.isChecked()
        dialog.reject()
        assert len(failures) == 1


def test_another_computers_address_asks_and_declining_keeps_loopback(qtbot, window) -> None:
    port = free_port()
    dialog = _switch(qtbot, window, True, port, host="0.0.0.0")
    section = dialog.api_section
    assert section.warning.isVisibleTo(section)
    question = find_dialog(window, "ConfirmApiHost")
    assert question is not None and "other computers" in question.text()
    assert dialog.isVisible()  # nothing saved while the question is open
    question.button(QMessageBox.StandardButton.Cancel).click()

    assert section.host.text() == "127.0.0.1"
    assert not section.warning.isVisibleTo(section)
    assert not window.core.settings.api_enabled and window.core.settings.api_host == "127.0.0.1"
    assert window.api.url is None

    dialog.accept()  # saved now, on this computer only
    qtbot.waitUntil(lambda: window.api.url is not None and _idle(window), timeout=SERVE_TIMEOUT_MS)
    assert window.core.settings.api_host == "127.0.0.1"
    assert window.api.url == f"http://127.0.0.1:{port}/v1"


def test_the_settings_tab_names_every_control(qtbot, window) -> None:
    dialog = window.open_settings()
    section = dialog.api_section
    controls = (
        section.enabled,
        section.host,
        section.port,
        section.key,
        section.copy_button,
        section.new_key_button,
    )
    assert all(control.accessibleName() for control in controls)
    assert "Use Ember from other apps" in section.how.text()
    dialog.reject()


def test_the_api_switched_on_serves_once_the_window_has_started(qtbot) -> None:
    port = free_port()
    window = open_window(qtbot, deterministic_settings(api_enabled=True, api_port=port))
    try:
        qtbot.waitUntil(lambda: window.api.url is not None, timeout=SERVE_TIMEOUT_MS)
        assert window.api.url == f"http://127.0.0.1:{port}/v1"
        assert window.api.config.switch_models is False  # the window's model is served
        assert _answers_from_ember(_models(window.api.url, _key(window)))
    finally:
        close_window(window)
    with pytest.raises(httpx.ConnectError):  # quitting stopped it
        _models(f"http://127.0.0.1:{port}/v1", "none")


# The window, in a child process, with the API switched on: which web modules were imported at
# its first paint, and which once it served.
CHILD = r"""
import faulthandler, json, sys
faulthandler.dump_traceback_later(85, exit=False)  # a hang shows where every thread waits
from ember.ui.app import create_application, create_window, report_first_paint, shutdown_window
from ember.ui.qt import QTimer

WEB = ("fastapi", "starlette", "uvicorn")
app = create_application()
window = create_window()
seen = {}

def painted(_report):
    seen["at_paint"] = [name for name in WEB if name in sys.modules]

def served(url):
    seen["url"] = url
    seen["serving"] = [name for name in WEB if name in sys.modules]
    QTimer.singleShot(0, window.close)

def failed(text):
    seen["failed"] = text
    QTimer.singleShot(0, window.close)

report_first_paint(window, painted)
window.api.serving.connect(served)
window.api.failed.connect(failed)
QTimer.singleShot(90_000, window.close)
window.show()
app.exec()
shutdown_window(window)
print(json.dumps(seen), flush=True)
"""


def test_the_web_stack_is_imported_after_the_first_paint(tmp_path, monkeypatch) -> None:
    port = free_port()
    monkeypatch.setenv("EMBER_HOME", str(tmp_path))
    save_settings(deterministic_settings(api_enabled=True, api_port=port))
    env = {
        **os.environ,
        "EMBER_HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "desktop"), str(REPO_ROOT)]),
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=150
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["at_paint"] == []
    assert "url" in seen, f"the API neither served nor failed: {seen}\n{done.stderr[-6000:]}"
    assert seen["url"] == f"http://127.0.0.1:{port}/v1"
    assert "fastapi" in seen["serving"] and "uvicorn" in seen["serving"]


def test_the_idle_time_of_ember_serve_is_set_in_the_local_api_tab(qtbot, window) -> None:
    dialog = window.open_settings()
    section = dialog.api_section
    assert section.idle.accessibleName()
    assert section.idle.value() == 10  # the default 600 s, shown in minutes
    section.idle.setValue(25)
    dialog.accept()
    qtbot.waitUntil(lambda: window.core.settings.api_idle_unload_s == 25 * 60, timeout=10_000)

    # A value from the file that is no whole number of minutes is kept unless changed.
    window.core.apply_settings(window.core.settings.model_copy(update={"api_idle_unload_s": 90}))
    dialog = window.open_settings()
    assert dialog.api_section.values()["api_idle_unload_s"] == 90
    dialog.api_section.idle.setValue(0)
    assert dialog.api_section.values()["api_idle_unload_s"] == 0  # never
    dialog.reject()
