"""Fixtures shared by the window's unit tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def viewer(qtbot):  # type: ignore[no-untyped-def]
    """The source viewer pane beside an empty chat column, in a 1000x700 splitter, shown."""
    from ember.ui.qt import QSplitter, QWidget
    from ember.ui.source_viewer import SourceViewer
    from ember.ui.tasks import TaskManager

    tasks = TaskManager()
    splitter = QSplitter()
    qtbot.addWidget(splitter)
    QWidget(splitter)  # the chat column
    pane = SourceViewer(tasks, splitter)
    splitter.resize(1000, 700)
    splitter.show()
    splitter.activateWindow()
    yield pane
    assert tasks.shutdown(5000)
