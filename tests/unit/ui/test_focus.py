"""Keyboard focus is visible on every kind of control Ember uses, in the light and dark themes:
each control is drawn without and with focus, and the two pictures must differ."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ember.ui.qt import (
    QApplication,
    QComboBox,
    QFrame,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    Qt,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from ember.ui.theme import Theme


def _named(widget: QWidget, name: str) -> QWidget:
    widget.setObjectName(name)
    return widget


def _tool(text: str, name: str = "") -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setObjectName(name)
    return button


def _combo() -> QComboBox:
    combo = QComboBox()
    combo.addItems(["SmolLM2 135M", "Qwen 2.5"])
    return combo


def _list() -> QListWidget:
    view = QListWidget()
    view.addItems(["manuals", "notes"])
    view.setCurrentRow(0)
    return view


def _widgets() -> dict[str, Callable[[], QWidget]]:
    from PySide6.QtWidgets import QCheckBox, QRadioButton, QSlider, QSpinBox, QTabBar

    def tabs() -> QWidget:
        bar = QTabBar()
        bar.addTab("General")
        bar.addTab("Models")
        return bar

    return {
        "push button": lambda: QPushButton("Save"),
        "primary button": lambda: _named(QPushButton("+  New chat"), "Primary"),
        "danger button": lambda: _named(QPushButton("Delete"), "Danger"),
        "tool button": lambda: _tool("Cancel"),
        "header button": lambda: _tool("Documents ▾", "HeaderButton"),
        "chip": lambda: _tool("router.md p. 2", "Chip"),
        "link button": lambda: _tool("Show documents", "Link"),
        "combo box": _combo,
        "line edit": lambda: QLineEdit("router"),
        "plain text edit": lambda: QPlainTextEdit("a question"),
        "text browser": lambda: QTextBrowser(),
        "list": _list,
        "check box": lambda: QCheckBox("Watch this folder"),
        "radio button": lambda: QRadioButton("Dark"),
        "spin box": lambda: QSpinBox(),
        "tab bar": tabs,
        "slider": lambda: QSlider(Qt.Orientation.Horizontal),
    }


@pytest.fixture(params=[False, True], ids=["light", "dark"])
def theme(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[Theme]:
    before = (qapp.style().name(), qapp.palette(), qapp.styleSheet())
    yield Theme(qapp, dark=request.param)
    qapp.setStyle(before[0])
    qapp.setPalette(before[1])
    qapp.setStyleSheet(before[2])


def _focus(qtbot, widget: QWidget) -> None:  # type: ignore[no-untyped-def]
    widget.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(widget.hasFocus, timeout=2000)


def _pictures(qtbot, widget: QWidget, parent: QWidget | None = None):  # type: ignore[no-untyped-def]
    """``widget`` drawn while another control has focus, then while it has focus itself."""
    host = QFrame()
    qtbot.addWidget(host)
    if parent is not None:  # e.g. the sidebar, whose lists are styled on their own
        layout = QVBoxLayout(host)
        layout.addWidget(parent)
        container = parent
    else:
        container = host
    column = container.layout() or QVBoxLayout(container)
    column.addWidget(widget)
    elsewhere = QLineEdit(container)
    column.addWidget(elsewhere)
    host.resize(320, 220)
    host.show()
    host.activateWindow()
    qtbot.waitExposed(host)
    _focus(qtbot, elsewhere)
    without = widget.grab().toImage()
    _focus(qtbot, widget)
    return without, widget.grab().toImage()


@pytest.mark.parametrize("kind", list(_widgets()))
def test_focus_is_visible_on_every_kind_of_control(qtbot, theme: Theme, kind: str) -> None:
    widget = _widgets()[kind]()
    without, with_focus = _pictures(qtbot, widget)
    assert without.size() == with_focus.size(), "focus must not resize the control"
    assert without != with_focus, f"a focused {kind} looks the same as an unfocused one"


@pytest.mark.parametrize("kind", ["chats or collections list", "search box", "tool button"])
def test_focus_is_visible_in_the_sidebar(qtbot, theme: Theme, kind: str) -> None:
    make = {"chats or collections list": _list, "search box": QLineEdit, "tool button": _tool}
    widget = make[kind]("+ Add") if kind == "tool button" else make[kind]()  # type: ignore[operator]
    sidebar = QFrame()
    sidebar.setObjectName("Sidebar")
    QVBoxLayout(sidebar)
    without, with_focus = _pictures(qtbot, widget, sidebar)
    assert without != with_focus, f"a focused {kind} in the sidebar looks unfocused"


def test_the_composers_input_shows_focus(qtbot, theme: Theme) -> None:
    composer = QFrame()
    composer.setObjectName("Composer")
    QVBoxLayout(composer)
    without, with_focus = _pictures(qtbot, QPlainTextEdit("draft"), composer)
    assert without != with_focus


def _source_empty() -> QWidget:
    """The source viewer's empty state ("Nothing to show…"), where the focus lands for a file
    that cannot be shown."""
    from ember.ui.qt import QLabel

    label = _named(QLabel("Nothing to show: the file is not there any more."), "SourceEmpty")
    label.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    label.setWordWrap(True)
    return label


def test_focus_is_visible_on_the_source_viewers_empty_state(qtbot, theme: Theme) -> None:
    without, with_focus = _pictures(qtbot, _source_empty())
    assert without.size() == with_focus.size()
    assert without != with_focus, "the focused empty state looks unfocused"


def test_focus_is_visible_on_the_pdf_page_and_does_not_hide_it(
    qtbot, theme: Theme, tmp_path
) -> None:
    from tests.support.nasty_files import write_pdf

    from ember.ui.pdf_page import PdfPageView

    view = PdfPageView()
    manual = write_pdf(tmp_path / "kettle.pdf", ["Fill the jug halfway with water and vinegar."])
    host = QFrame()
    qtbot.addWidget(host)
    column = QVBoxLayout(host)
    column.addWidget(view)
    elsewhere = QLineEdit(host)
    column.addWidget(elsewhere)
    host.resize(320, 420)
    host.show()
    host.activateWindow()
    qtbot.waitExposed(host)
    with qtbot.waitSignal(view.pageShown, timeout=10_000):
        view.open_page(str(manual), 1, ())
    _focus(qtbot, elsewhere)
    without = view.grab().toImage()
    page_before = view.canvas.grab().toImage()
    _focus(qtbot, view)
    with_focus = view.grab().toImage()
    assert without.size() == with_focus.size(), "focus must not resize the page view"
    assert without != with_focus, "the focused PDF page looks the same as an unfocused one"
    # A frame around the page, not a veil over it: the page itself is drawn as before, and
    # its middle looks the same in both pictures.
    assert view.canvas.grab().toImage() == page_before
    middle = without.rect().center()
    assert without.pixelColor(middle) == with_focus.pixelColor(middle)
