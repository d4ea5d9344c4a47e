"""Files and folders dropped on the window: accepted when every URL is a local file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ember.ui.qt import QEvent, QObject, QTimer, QWidget


class FileDrops(QObject):
    """An event filter that makes ``widget`` accept local files and folders and hands their
    paths to ``open_paths`` (after the drop has finished: some platforms hold the drag while a
    dialog opens)."""

    def __init__(self, widget: QWidget, open_paths: Callable[[list[Path]], None]) -> None:
        super().__init__(widget)
        self._open_paths = open_paths
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            urls = event.mimeData().urls() if event.mimeData().hasUrls() else []  # type: ignore[attr-defined]
            if urls and all(u.isLocalFile() for u in urls):
                event.acceptProposedAction()  # type: ignore[attr-defined]
            else:
                event.ignore()
            return True
        if kind == QEvent.Type.Drop:
            urls = event.mimeData().urls() if event.mimeData().hasUrls() else []  # type: ignore[attr-defined]
            paths = [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]
            if not paths:
                event.ignore()
                return True
            event.acceptProposedAction()  # type: ignore[attr-defined]
            QTimer.singleShot(0, lambda: self._open_paths(paths))
            return True
        return False
