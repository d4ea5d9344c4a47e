"""The one place the UI imports its Qt binding from (PySide6 today), so it can be swapped or shimmed.

Every other module in ``ember.ui`` writes ``from ember.ui.qt import QWidget, Signal, ...``; nothing
outside ``ember.ui`` imports this module (the core never touches Qt).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtCore import (
        QByteArray,
        QCoreApplication,
        QElapsedTimer,
        QEvent,
        QLockFile,
        QMimeData,
        QObject,
        QPoint,
        QPointF,
        QRect,
        QRectF,
        QSettings,
        QSignalBlocker,
        QSize,
        QSocketNotifier,
        Qt,
        QThread,
        QTimer,
        QUrl,
        Signal,
        Slot,
    )
    from PySide6.QtGui import (
        QAccessible,
        QAccessibleAnnouncementEvent,
        QAction,
        QBrush,
        QCloseEvent,
        QColor,
        QDesktopServices,
        QDragEnterEvent,
        QDropEvent,
        QFont,
        QFontDatabase,
        QGuiApplication,
        QIcon,
        QImage,
        QKeyEvent,
        QKeySequence,
        QPainter,
        QPaintEvent,
        QPalette,
        QPixmap,
        QResizeEvent,
        QShortcut,
        QTextBlock,
        QTextBlockFormat,
        QTextCharFormat,
        QTextCursor,
        QTextDocument,
        QTextFormat,
        QTextFrameFormat,
        QTextImageFormat,
        QWheelEvent,
    )
    from PySide6.QtNetwork import QLocalServer, QLocalSocket
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QApplication,
        QButtonGroup,
        QCheckBox,
        QComboBox,
        QDialog,
        QDialogButtonBox,
        QDoubleSpinBox,
        QFileDialog,
        QFormLayout,
        QFrame,
        QGroupBox,
        QHBoxLayout,
        QHeaderView,
        QInputDialog,
        QLabel,
        QLayout,
        QLayoutItem,
        QLineEdit,
        QListWidget,
        QListWidgetItem,
        QMainWindow,
        QMenu,
        QMessageBox,
        QPlainTextEdit,
        QProgressBar,
        QPushButton,
        QScrollArea,
        QSizePolicy,
        QSpinBox,
        QSplitter,
        QStackedWidget,
        QStatusBar,
        QStyle,
        QStyleOptionComboBox,
        QStyleOptionToolButton,
        QStylePainter,
        QTableWidget,
        QTableWidgetItem,
        QTabWidget,
        QTextBrowser,
        QTextEdit,
        QToolButton,
        QVBoxLayout,
        QWidget,
    )

# Names resolve on first use (PEP 562): PySide6 builds each wrapper type lazily, and some cost
# tens of milliseconds (the ``Qt`` namespace, ``QStyle``); what only dialogs use is then built
# when a dialog first opens, not before the window's first paint.
_MODULES: dict[str, str] = {
    "QByteArray": "PySide6.QtCore",
    "QCoreApplication": "PySide6.QtCore",
    "QElapsedTimer": "PySide6.QtCore",
    "QEvent": "PySide6.QtCore",
    "QLockFile": "PySide6.QtCore",
    "QMimeData": "PySide6.QtCore",
    "QObject": "PySide6.QtCore",
    "QPoint": "PySide6.QtCore",
    "QPointF": "PySide6.QtCore",
    "QRect": "PySide6.QtCore",
    "QRectF": "PySide6.QtCore",
    "QSettings": "PySide6.QtCore",
    "QSize": "PySide6.QtCore",
    "QSignalBlocker": "PySide6.QtCore",
    "QSocketNotifier": "PySide6.QtCore",
    "Qt": "PySide6.QtCore",
    "QThread": "PySide6.QtCore",
    "QTimer": "PySide6.QtCore",
    "QUrl": "PySide6.QtCore",
    "Signal": "PySide6.QtCore",
    "Slot": "PySide6.QtCore",
    "QAccessible": "PySide6.QtGui",
    "QAccessibleAnnouncementEvent": "PySide6.QtGui",
    "QAction": "PySide6.QtGui",
    "QBrush": "PySide6.QtGui",
    "QCloseEvent": "PySide6.QtGui",
    "QColor": "PySide6.QtGui",
    "QDesktopServices": "PySide6.QtGui",
    "QDragEnterEvent": "PySide6.QtGui",
    "QDropEvent": "PySide6.QtGui",
    "QFont": "PySide6.QtGui",
    "QFontDatabase": "PySide6.QtGui",
    "QGuiApplication": "PySide6.QtGui",
    "QIcon": "PySide6.QtGui",
    "QImage": "PySide6.QtGui",
    "QKeyEvent": "PySide6.QtGui",
    "QKeySequence": "PySide6.QtGui",
    "QPainter": "PySide6.QtGui",
    "QPaintEvent": "PySide6.QtGui",
    "QPalette": "PySide6.QtGui",
    "QPixmap": "PySide6.QtGui",
    "QResizeEvent": "PySide6.QtGui",
    "QShortcut": "PySide6.QtGui",
    "QTextBlock": "PySide6.QtGui",
    "QTextBlockFormat": "PySide6.QtGui",
    "QTextCharFormat": "PySide6.QtGui",
    "QTextCursor": "PySide6.QtGui",
    "QTextDocument": "PySide6.QtGui",
    "QTextFormat": "PySide6.QtGui",
    "QTextFrameFormat": "PySide6.QtGui",
    "QTextImageFormat": "PySide6.QtGui",
    "QWheelEvent": "PySide6.QtGui",
    "QLocalServer": "PySide6.QtNetwork",
    "QLocalSocket": "PySide6.QtNetwork",
    "QAbstractButton": "PySide6.QtWidgets",
    "QAbstractItemView": "PySide6.QtWidgets",
    "QApplication": "PySide6.QtWidgets",
    "QButtonGroup": "PySide6.QtWidgets",
    "QCheckBox": "PySide6.QtWidgets",
    "QComboBox": "PySide6.QtWidgets",
    "QDialog": "PySide6.QtWidgets",
    "QDialogButtonBox": "PySide6.QtWidgets",
    "QDoubleSpinBox": "PySide6.QtWidgets",
    "QFileDialog": "PySide6.QtWidgets",
    "QFormLayout": "PySide6.QtWidgets",
    "QFrame": "PySide6.QtWidgets",
    "QGroupBox": "PySide6.QtWidgets",
    "QHBoxLayout": "PySide6.QtWidgets",
    "QInputDialog": "PySide6.QtWidgets",
    "QLabel": "PySide6.QtWidgets",
    "QLayout": "PySide6.QtWidgets",
    "QLayoutItem": "PySide6.QtWidgets",
    "QLineEdit": "PySide6.QtWidgets",
    "QListWidget": "PySide6.QtWidgets",
    "QListWidgetItem": "PySide6.QtWidgets",
    "QMainWindow": "PySide6.QtWidgets",
    "QMenu": "PySide6.QtWidgets",
    "QMessageBox": "PySide6.QtWidgets",
    "QPlainTextEdit": "PySide6.QtWidgets",
    "QProgressBar": "PySide6.QtWidgets",
    "QPushButton": "PySide6.QtWidgets",
    "QScrollArea": "PySide6.QtWidgets",
    "QSizePolicy": "PySide6.QtWidgets",
    "QSpinBox": "PySide6.QtWidgets",
    "QSplitter": "PySide6.QtWidgets",
    "QStackedWidget": "PySide6.QtWidgets",
    "QStatusBar": "PySide6.QtWidgets",
    "QStyle": "PySide6.QtWidgets",
    "QStyleOptionComboBox": "PySide6.QtWidgets",
    "QStyleOptionToolButton": "PySide6.QtWidgets",
    "QStylePainter": "PySide6.QtWidgets",
    "QHeaderView": "PySide6.QtWidgets",
    "QTableWidget": "PySide6.QtWidgets",
    "QTableWidgetItem": "PySide6.QtWidgets",
    "QTabWidget": "PySide6.QtWidgets",
    "QTextBrowser": "PySide6.QtWidgets",
    "QTextEdit": "PySide6.QtWidgets",
    "QToolButton": "PySide6.QtWidgets",
    "QVBoxLayout": "PySide6.QtWidgets",
    "QWidget": "PySide6.QtWidgets",
}


def _keep_singletons_alive() -> None:
    """Work around PySide6 6.12.0 on Python 3.11: its calls return ``None`` (void methods) and
    ``True``/``False`` (``Signal.emit``, ``disconnect``) without owning the reference, as if
    they were immortal (they are from Python 3.12 on). Each call takes one reference away, and
    after enough widget calls and streamed tokens the interpreter aborts ("deallocating None").

    When the loss is detected, give the three singletons what 3.12 gives them: a reference
    count no program can use up (2**48: a million lost references a second for eight years)."""
    import sys

    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    import ctypes

    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    singletons = (None, True, False)
    before = [sys.getrefcount(x) for x in singletons]
    for _ in range(8):
        probe.setObjectName("probe")  # a void method: returns None
        probe.ping.emit()  # returns a bool
    lost = sum(b - sys.getrefcount(x) for b, x in zip(before, singletons, strict=True))
    if lost < 8:
        return  # a PySide6 without the bug
    for singleton in singletons:
        ctypes.c_ssize_t.from_address(id(singleton)).value += 1 << 48


_keep_singletons_alive()


def __getattr__(name: str) -> Any:
    try:
        module = _MODULES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups are plain module attributes
    return value


__all__ = [
    "QAbstractButton",
    "QAbstractItemView",
    "QAccessible",
    "QAccessibleAnnouncementEvent",
    "QAction",
    "QApplication",
    "QBrush",
    "QButtonGroup",
    "QByteArray",
    "QCheckBox",
    "QCloseEvent",
    "QColor",
    "QComboBox",
    "QCoreApplication",
    "QDesktopServices",
    "QDialog",
    "QDialogButtonBox",
    "QDoubleSpinBox",
    "QDragEnterEvent",
    "QDropEvent",
    "QElapsedTimer",
    "QEvent",
    "QFileDialog",
    "QFont",
    "QFontDatabase",
    "QFormLayout",
    "QFrame",
    "QGroupBox",
    "QGuiApplication",
    "QHBoxLayout",
    "QHeaderView",
    "QIcon",
    "QImage",
    "QInputDialog",
    "QKeyEvent",
    "QKeySequence",
    "QLabel",
    "QLayout",
    "QLayoutItem",
    "QLineEdit",
    "QListWidget",
    "QListWidgetItem",
    "QLocalServer",
    "QLocalSocket",
    "QLockFile",
    "QMainWindow",
    "QMenu",
    "QMessageBox",
    "QMimeData",
    "QObject",
    "QPaintEvent",
    "QPainter",
    "QPalette",
    "QPixmap",
    "QPlainTextEdit",
    "QPoint",
    "QPointF",
    "QProgressBar",
    "QPushButton",
    "QRect",
    "QRectF",
    "QResizeEvent",
    "QScrollArea",
    "QSettings",
    "QShortcut",
    "QSignalBlocker",
    "QSize",
    "QSizePolicy",
    "QSocketNotifier",
    "QSpinBox",
    "QSplitter",
    "QStackedWidget",
    "QStatusBar",
    "QStyle",
    "QStyleOptionComboBox",
    "QStyleOptionToolButton",
    "QStylePainter",
    "QTabWidget",
    "QTableWidget",
    "QTableWidgetItem",
    "QTextBlock",
    "QTextBlockFormat",
    "QTextBrowser",
    "QTextCharFormat",
    "QTextCursor",
    "QTextDocument",
    "QTextEdit",
    "QTextFormat",
    "QTextFrameFormat",
    "QTextImageFormat",
    "QThread",
    "QTimer",
    "QToolButton",
    "QUrl",
    "QVBoxLayout",
    "QWheelEvent",
    "QWidget",
    "Qt",
    "Signal",
    "Slot",
]
