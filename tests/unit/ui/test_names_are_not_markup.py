"""File, collection and section names are shown as the text they are, never as markup: a file
called ``<s>old</s> plan.md`` must not lose its tags (and show another name) or load images."""

from __future__ import annotations

from pathlib import Path

from ember.knowledge.types import Citation
from ember.ui import message
from ember.ui.documents_page import RenameDialog
from ember.ui.message_view import MessageView
from ember.ui.qt import QLabel, QMainWindow, QMessageBox, Qt

NAME = "<s>old</s> <img src='/tmp/x.png'>plan.md"


def _shown_labels(widget) -> list[QLabel]:  # type: ignore[no-untyped-def]
    return [label for label in widget.findChildren(QLabel) if NAME in label.text()]


def test_questions_and_errors_show_names_as_plain_text(qtbot) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    view = MessageView(window)
    box = view.ask(message.Question("Confirm", "Forget?", f"Forget {NAME}?", detail=NAME))
    labels = _shown_labels(box)
    assert len(labels) == 2 and all(lb.textFormat() == Qt.TextFormat.PlainText for lb in labels)
    box.done(0)
    error = view.show_error("Indexing failed", f"“{NAME}”: damaged")
    assert isinstance(error, QMessageBox) and error.textFormat() == Qt.TextFormat.PlainText
    error.done(0)


def test_a_source_heading_and_a_collection_name_are_plain_text(qtbot, tmp_path: Path) -> None:
    from ember.ui.qt import QSplitter, QWidget
    from ember.ui.source_viewer import SourceViewer
    from ember.ui.tasks import TaskManager

    tasks = TaskManager()
    splitter = QSplitter()
    qtbot.addWidget(splitter)
    QWidget(splitter)
    viewer = SourceViewer(tasks, splitter)
    file_name = "<b>old <i>plan.md"  # (a file name holds no "/")
    viewer.show_sources(Citation(1, str(tmp_path / file_name), None, NAME, "text", 0.5))
    title = viewer.title
    assert title.textFormat() == Qt.TextFormat.PlainText and file_name in title.text()
    assert tasks.shutdown(5000)
    rename = RenameDialog(NAME, (NAME,))
    qtbot.addWidget(rename)
    labels = _shown_labels(rename)
    assert labels and all(lb.textFormat() == Qt.TextFormat.PlainText for lb in labels)
