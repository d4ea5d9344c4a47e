"""The Models page's download rows: one per job, drawn from its latest
:class:`~ember.hub.types.DownloadEvent` (the same events the CLI's progress bar draws).

A row shows the name, a progress bar, one line of status (speed and time left, or "stalled —
retrying in N s", paused, failed with why), and Pause/Resume and Cancel (Remove once finished).
Rows only show and ask: :class:`DownloadRows` emits what the person pressed, by job id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ember.ui.elided import ElidedLabel
from ember.ui.model_rows import download_status
from ember.ui.qt import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    Qt,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Signal,
)

if TYPE_CHECKING:
    from ember.hub.types import DownloadEvent


class DownloadRow(QFrame):
    """One download: :meth:`show_event` redraws it from an event."""

    def __init__(self, job_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DownloadRow")
        self.job_id = job_id
        self.last: DownloadEvent | None = None  # (not "event": QWidget.event)
        column = QVBoxLayout(self)
        column.setContentsMargins(8, 6, 8, 6)
        column.setSpacing(2)
        top = QHBoxLayout()
        self.name_label = ElidedLabel("", self)
        top.addWidget(self.name_label, 1)
        self.pause_button = QToolButton(self)
        self.pause_button.setText("Pause")
        self.cancel_button = QToolButton(self)
        self.cancel_button.setText("Cancel")
        top.addWidget(self.pause_button)
        top.addWidget(self.cancel_button)
        column.addLayout(top)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(6)
        column.addWidget(self.bar)
        self.status_label = QLabel("", self)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)  # quotes file names, the hub
        self.status_label.setObjectName("Muted")
        column.addWidget(self.status_label)

    def show_event(self, event: DownloadEvent) -> None:
        """Redraw from ``event`` (its job's latest)."""
        self.last = event
        self.name_label.setText(event.name)
        fraction = event.fraction
        if fraction is None:
            self.bar.setRange(0, 0)  # busy: the size is not known yet
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * min(1.0, fraction)))
        text = download_status(event)
        if self.status_label.text() != text:
            self.status_label.setText(text)
        self.status_label.setObjectName("Error" if event.state == "failed" else "Muted")
        running = event.state in ("queued", "downloading", "stalled")
        self.pause_button.setVisible(not event.finished and event.state != "verifying")
        self.pause_button.setText("Pause" if running else "Resume")
        self.pause_button.setAccessibleName(f"{self.pause_button.text()} {event.name}")
        self.cancel_button.setText("Remove" if event.finished else "Cancel")
        self.cancel_button.setAccessibleName(f"{self.cancel_button.text()} {event.name}")
        self.cancel_button.setEnabled(event.state != "verifying")


class DownloadRows(QWidget):
    """The list of download rows, newest last; empty when there are none."""

    pauseRequested = Signal(str)  # job id
    resumeRequested = Signal(str)
    cancelRequested = Signal(str)  # a running or paused job: stop it and remove its partial file
    dismissRequested = Signal(str)  # a finished row: take it off the list

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: dict[str, DownloadRow] = {}
        self._column = QVBoxLayout(self)
        self._column.setContentsMargins(0, 0, 0, 0)
        self._column.setSpacing(4)
        self.empty_label = QLabel("No downloads.", self)
        self.empty_label.setObjectName("Muted")
        self.empty_label.setTextFormat(Qt.TextFormat.PlainText)
        self._column.addWidget(self.empty_label)

    def show_event(self, event: DownloadEvent) -> DownloadRow:
        """Add or redraw the row of ``event.job_id``."""
        row = self.rows.get(event.job_id)
        if row is None:
            row = DownloadRow(event.job_id, self)
            job = event.job_id
            row.pause_button.clicked.connect(lambda: self._pause_pressed(job))
            row.cancel_button.clicked.connect(lambda: self._cancel_pressed(job))
            self.rows[job] = row
            self._column.addWidget(row)
        row.show_event(event)
        self.empty_label.setVisible(not self.rows)
        return row

    def drop(self, job_id: str) -> None:
        row = self.rows.pop(job_id, None)
        if row is not None:
            row.hide()
            row.deleteLater()
        self.empty_label.setVisible(not self.rows)

    def _pause_pressed(self, job_id: str) -> None:
        row = self.rows[job_id]
        if row.pause_button.text() == "Pause":
            self.pauseRequested.emit(job_id)
        else:
            self.resumeRequested.emit(job_id)

    def _cancel_pressed(self, job_id: str) -> None:
        row = self.rows[job_id]
        if row.last is not None and row.last.finished:
            self.dismissRequested.emit(job_id)
        else:
            self.cancelRequested.emit(job_id)
