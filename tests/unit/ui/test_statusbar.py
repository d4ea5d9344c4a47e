"""The status bar's OFFLINE/REMOTE pill says what the engine itself decided about its server."""

from __future__ import annotations

import pytest

from ember.core import LoadedModel
from ember.engines import EngineSpec
from ember.engines.remote import RemoteEngine
from ember.ui.qt import QLabel
from ember.ui.statusbar import show_where


def _shown_for(qtbot, host: str) -> QLabel:  # type: ignore[no-untyped-def]
    # A real engine object (making one sends nothing): its verdict is what the window shows.
    engine = RemoteEngine(EngineSpec(backend="openai", model="m", host=host), ["m"], None)
    loaded = LoadedModel(
        key="remote:test",
        name=engine.model_name,
        backend=engine.backend,
        n_ctx=engine.n_ctx,
        is_remote=engine.is_remote,
    )
    pill = QLabel("OFFLINE")
    qtbot.addWidget(pill)
    show_where(pill, loaded)
    return pill


@pytest.mark.parametrize(
    "host", ["http://127.0.0.1.evil.example/v1", "http://localhost.evil.example:8080/v1"]
)
def test_a_host_that_only_looks_like_loopback_is_remote(qtbot, host: str) -> None:
    pill = _shown_for(qtbot, host)
    assert pill.text() == "REMOTE"
    assert pill.objectName() == "PillRemote"
    assert "sent to a server" in pill.toolTip()


@pytest.mark.parametrize("host", ["http://127.0.0.1:8080/v1", "http://[::1]:8080/v1"])
def test_a_server_on_this_computer_is_offline(qtbot, host: str) -> None:
    pill = _shown_for(qtbot, host)
    assert pill.text() == "OFFLINE"
    assert pill.objectName() == "Pill"
