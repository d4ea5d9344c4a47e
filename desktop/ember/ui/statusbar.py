"""The status bar's widgets: the model and where it runs, indexing and pull progress.

Its texts are :class:`~ember.ui.elided.ElidedLabel`: at a narrow window they end in "…" (the
whole text in their tooltip) instead of cutting a word or widening the window."""

from __future__ import annotations

from dataclasses import dataclass

from ember.core import LoadedModel
from ember.ui.elided import ElidedLabel
from ember.ui.qt import QLabel, QMainWindow, QProgressBar, QToolButton

_LOCAL_TIP = "Everything runs on this computer; nothing is sent anywhere."
_REMOTE_TIP = "Messages are sent to a server you configured."


def show_where(pill: QLabel, loaded: LoadedModel) -> None:
    """Say OFFLINE or REMOTE as the engine itself decided (``loaded.is_remote``): the window
    never second-guesses the engine's reading of a URL."""
    remote = loaded.is_remote
    pill.setText("REMOTE" if remote else "OFFLINE")
    pill.setObjectName("PillRemote" if remote else "Pill")
    pill.setToolTip(_REMOTE_TIP if remote else _LOCAL_TIP)
    pill.style().unpolish(pill)  # the object name picks the style sheet's colours
    pill.style().polish(pill)


@dataclass(frozen=True, slots=True)
class StatusWidgets:
    model_label: ElidedLabel
    offline_pill: QLabel
    index_label: ElidedLabel
    index_bar: QProgressBar
    index_cancel: QToolButton
    index_report: QToolButton
    index_open: QToolButton  # "Show documents": the last run's collection on the documents page
    index_dismiss: QToolButton  # "×": the last run's summary stays until this is pressed
    pull_label: ElidedLabel
    pull_bar: QProgressBar
    pull_cancel: QToolButton


def build_status_bar(window: QMainWindow) -> StatusWidgets:
    """Add Ember's widgets to ``window``'s status bar; the progress ones start hidden."""
    status = window.statusBar()
    model_label = ElidedLabel("No model loaded", window)
    status.addWidget(model_label, 1)  # the room the others leave; elided when short of it
    pill = QLabel("OFFLINE", window)
    pill.setObjectName("Pill")
    pill.setToolTip(_LOCAL_TIP)
    status.addWidget(pill)
    index_bar = QProgressBar(window)
    index_bar.setFixedWidth(180)
    index_bar.setTextVisible(False)
    index_cancel = QToolButton(window)
    index_cancel.setText("Cancel")
    index_cancel.setToolTip("Stop indexing (what is done so far is kept)")
    index_open = QToolButton(window)
    index_open.setText("Show documents")
    index_open.setObjectName("Link")
    index_dismiss = QToolButton(window)
    index_dismiss.setText("×")
    index_dismiss.setToolTip("Dismiss")
    index_dismiss.setAccessibleName("Dismiss the indexing summary")
    pull_bar = QProgressBar(window)
    pull_bar.setFixedWidth(140)
    pull_bar.setTextVisible(False)
    pull_cancel = QToolButton(window)
    pull_cancel.setText("Cancel")
    pull_cancel.setToolTip("Stop downloading this model")
    widgets = StatusWidgets(
        model_label,
        pill,
        ElidedLabel("", window),
        index_bar,
        index_cancel,
        QToolButton(window),
        index_open,
        index_dismiss,
        ElidedLabel("", window),
        pull_bar,
        pull_cancel,
    )
    for widget in (
        widgets.pull_label,
        pull_bar,
        pull_cancel,
        widgets.index_label,
        index_bar,
        index_cancel,
        widgets.index_report,
        index_open,
        index_dismiss,
    ):
        status.addPermanentWidget(widget)
        widget.hide()
    return widgets
