"""Models on servers in the app: Ollama's models in the picker, and remote endpoints in settings.

The Ollama server is the test stand-in that speaks Ollama's real HTTP protocol and generates with
the real embedded GGUF.

Integration tests: the real window runs inside the test's own process (pytest-qt), so
they can reach into its widgets. The app as a person starts it, a separate `ember`
process, is tested in tests/e2e/test_app_process.py.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from ember.catalog import default_model
from ember.config import RemoteEndpoint
from tests.support.ollama_server import OllamaTestServer
from tests.support.ui_app import (
    MODEL_LOAD_TIMEOUT_MS,
    close_window,
    deterministic_settings,
    find_dialog,
    open_window,
    send_and_wait,
)

pytestmark = [pytest.mark.slow, pytest.mark.integration]

OLLAMA_KEY = "ollama:smollm2:135m"


@pytest.fixture(scope="module")
def ollama():
    with OllamaTestServer(Path(default_model().path)) as server:
        yield server


@pytest.fixture
def window(qtbot, ollama):
    win = open_window(qtbot, deterministic_settings(ollama_host=ollama.url, max_tokens=16))
    yield win
    close_window(win)


def _picker_keys(window) -> list[str]:  # type: ignore[no-untyped-def]
    picker = window.model_picker
    return [picker.itemData(i) for i in range(picker.count())]


def test_the_model_picker_lists_the_models_an_ollama_server_offers(qtbot, window) -> None:
    qtbot.waitUntil(lambda: OLLAMA_KEY in _picker_keys(window), timeout=10_000)
    index = _picker_keys(window).index(OLLAMA_KEY)
    assert window.model_picker.itemText(index) == "smollm2:135m"


def test_an_ollama_model_picked_in_the_window_streams_the_answer(qtbot, window, ollama) -> None:
    qtbot.waitUntil(lambda: OLLAMA_KEY in _picker_keys(window), timeout=10_000)
    window.model_picker.setCurrentIndex(_picker_keys(window).index(OLLAMA_KEY))
    window.model_picker.activated.emit(window.model_picker.currentIndex())
    qtbot.waitUntil(
        lambda: (
            window.core.loaded is not None
            and window.core.loaded.backend == "ollama"
            and not window.model_loading
        ),
        timeout=MODEL_LOAD_TIMEOUT_MS,
    )
    assert window.offline_pill.text() == "OFFLINE"  # the server is on this computer

    send_and_wait(qtbot, window, "Say hello.")
    answer = [b for b in window.chat.bubbles if b.data.role == "assistant"][-1]
    assert answer.data.state == "done" and answer.data.text.strip()
    assert any(path == "/api/chat" for _method, path, _body in ollama.requests)


def test_a_remote_server_can_be_added_in_settings(qtbot, window) -> None:
    dialog = window.open_settings()
    servers = dialog.remote_servers
    servers.kind.setCurrentIndex(servers.kind.findData("openai"))
    servers.name.setText("work")
    servers.url.setText("http://127.0.0.1:8000/v1")
    servers.model.setText("qwen2.5")
    assert not servers.warning.isVisibleTo(servers)  # loopback: nothing leaves the computer
    servers.add_button.click()
    dialog.accept()

    assert window.core.settings.remotes == [
        RemoteEndpoint("work", "openai", "http://127.0.0.1:8000/v1", "qwen2.5")
    ]
    assert "remote:work" in _picker_keys(window)


def test_a_remote_server_elsewhere_is_flagged_before_it_is_added(qtbot, window) -> None:
    dialog = window.open_settings()
    servers = dialog.remote_servers
    servers.url.setText("https://gpu-box.example.com:11434")
    assert servers.warning.isVisibleTo(servers)
    assert "leaves this computer" in servers.warning.text()
    servers.kind.setCurrentIndex(servers.kind.findData("ollama"))
    servers.name.setText("gpu-box")
    servers.model.setText("llama3.2")
    servers.add_button.click()
    assert "(leaves this computer)" in servers.list.item(0).text()
    dialog.reject()
    assert window.core.settings.remotes == []  # nothing saved without Save


def test_a_remote_server_without_a_model_is_not_added(qtbot, window) -> None:
    dialog = window.open_settings()
    servers = dialog.remote_servers
    servers.name.setText("half")
    servers.url.setText("http://127.0.0.1:8000/v1")
    servers.add_button.click()
    assert servers.remotes == []
    assert "needs a name, a URL and a model" in servers.problem.text()
    dialog.reject()


# -- pulling a model into Ollama -----------------------------------------------------------------

PULLABLE = "tinyllama:latest"  # what the stand-in server's "registry" offers


def test_a_pulled_model_shows_progress_and_joins_the_picker(qtbot, window, ollama) -> None:
    fractions: list[int] = []
    window.pull_bar.valueChanged.connect(fractions.append)
    handle = window.pull_ollama(PULLABLE)
    assert handle is not None and window.pull_cancel.isVisibleTo(window)
    qtbot.waitUntil(lambda: window.pulling is None, timeout=30_000)

    assert fractions and max(fractions) == 1000  # the bar went all the way
    assert not window.pull_bar.isVisibleTo(window)
    assert find_dialog(window, "ErrorDialog") is None
    qtbot.waitUntil(lambda: f"ollama:{PULLABLE}" in _picker_keys(window), timeout=10_000)


def test_pulling_a_model_the_server_does_not_know_says_so(qtbot, window) -> None:
    window.pull_ollama("no-such-model:7b")
    qtbot.waitUntil(lambda: window.pulling is None, timeout=30_000)
    dialog = find_dialog(window, "ErrorDialog")
    assert dialog is not None and "no-such-model" in dialog.text()


class SlowPullServer(OllamaTestServer):
    """The stand-in server, downloading slowly: ten progress lines a second for ten seconds."""

    def _handler_class(self) -> Any:
        base = super()._handler_class()

        class Slow(base):  # type: ignore[misc, valid-type]
            def _pull(self, body: dict[str, Any]) -> None:
                name = body.get("model") or body.get("name") or ""
                self._start_stream()
                total = 100
                try:
                    for completed in range(total + 1):
                        if self.owner.released.is_set():
                            break
                        self._line(
                            {
                                "status": "pulling 0123456789ab",
                                "total": total,
                                "completed": completed,
                            }
                        )
                        time.sleep(0.1)
                    self._line({"status": "success"})
                    self.owner.models[name] = total
                    self._end_stream()
                except OSError:  # the client hung up: a cancelled pull
                    self.close_connection = True

        return Slow


def test_a_pull_can_be_cancelled_from_the_status_bar(qtbot) -> None:
    with SlowPullServer(Path(default_model().path)) as slow:
        window = open_window(qtbot, deterministic_settings(ollama_host=slow.url))
        try:
            window.pull_ollama(PULLABLE)
            qtbot.waitUntil(lambda: window.pull_bar.value() > 0, timeout=10_000)
            started = time.monotonic()
            window.pull_cancel.click()
            qtbot.waitUntil(lambda: window.pulling is None, timeout=5_000)
            assert time.monotonic() - started < 5  # the whole download would take 10 s

            assert not window.pull_cancel.isVisibleTo(window)
            assert find_dialog(window, "ErrorDialog") is None  # cancelling is not a failure
            assert "Stopped pulling" in window.statusBar().currentMessage()
            assert PULLABLE not in slow.models  # the server never finished it
        finally:
            close_window(window)
