"""The source viewer: a pane beside the chat (over it in a narrow window: :mod:`~ember.ui.pane_room`)
that opens a cited document at its passage.

Clicking a source chip or a ``[n]`` in an answer opens it. A PDF shows the cited page as QtPdf
draws it with the passage highlighted (:mod:`ember.ui.pdf_page`); HTML, Markdown, DOCX, text and
code show their parsed text, read-only, scrolled to the passage with the passage highlighted.
A banner says when the file changed since it was indexed (then nothing is highlighted: the
passage may have moved), is gone, or the passage is not on the page any more. "Open in the
system viewer" opens the file in the person's own program (a PDF at its page where it can).

Nothing is fetched: the text view loads no resource at all (HTML's images, scripts and styles
are not even in the parsed text, and :class:`LocalTextView` refuses any that would be asked for).

Finding the passage and drawing the page run in a worker (``TaskManager.run_background``); the
pane shows the file's name and "Opening…" at once, and the page when it is ready. A long text
shows the stretch around its passage (:mod:`ember.ui.source_text`). Esc or the ✕ button closes
the pane.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.files import shown_path
from ember.ui.elided import ElidedLabel
from ember.ui.pane_room import PaneRoom
from ember.ui.pdf_page import PdfPageView
from ember.ui.qt import (
    QColor,
    QDesktopServices,
    QEvent,
    QFrame,
    QHBoxLayout,
    QKeyEvent,
    QLabel,
    QSplitter,
    QStackedWidget,
    Qt,
    QTextBrowser,
    QTextCursor,
    QTextEdit,
    QToolButton,
    QUrl,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ember.ui.source_text import ShownText, shown_text

if TYPE_CHECKING:
    from ember.knowledge.locate import Location
    from ember.knowledge.types import Citation
    from ember.ui.tasks import TaskManager

OPENING = "Opening…"
NOTHING_SHOWN = "Nothing to show."


def file_url(citation: Citation) -> QUrl:
    """The file as a URL; for PDFs, with ``#page=N`` (viewers that support it jump there)."""
    url = QUrl.fromLocalFile(citation.source)
    if citation.page is not None and citation.source.lower().endswith(".pdf"):
        url.setFragment(f"page={citation.page}")
    return url


class LocalTextView(QTextBrowser):
    """Read-only text that loads nothing: every resource a document could ask for (images,
    style sheets) is refused and recorded in ``resource_requests``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setReadOnly(True)
        self.resource_requests: list[str] = []

    def loadResource(self, kind: int, url: QUrl) -> Any:
        self.resource_requests.append(url.toString())
        return None


class SourceViewer(QFrame):
    """The pane. :meth:`show_sources` opens citations (one, or several of one file and page)."""

    opened = Signal()  # the page (or text) is shown with its highlight, or a banner says why not

    def __init__(self, tasks: TaskManager, splitter: QSplitter) -> None:
        super().__init__(splitter)
        self.tasks = tasks
        self.splitter = splitter
        self.setObjectName("SourceViewer")
        self.setAccessibleName("Source viewer")
        self.citations: tuple[Citation, ...] = ()
        self.location: Location | None = None
        self.opened_url: QUrl | None = None  # what "Open in the system viewer" last opened
        self._serial = 0  # the open whose result is awaited; older results are dropped
        self._drawing: tuple[int, Location] | None = None  # a PDF page being drawn

        column = QVBoxLayout(self)
        column.setContentsMargins(10, 8, 10, 8)
        column.setSpacing(6)
        top = QHBoxLayout()
        self.title = ElidedLabel("", self)
        self.title.setObjectName("SourceTitle")
        self.title.setAccessibleName("Source shown")
        top.addWidget(self.title, 1)
        self.system_button = QToolButton(self)
        self.system_button.setText("Open in system viewer")
        self.system_button.setAccessibleName("Open in the system viewer")
        self.system_button.setToolTip("Open this file in the program your system uses for it")
        self.system_button.clicked.connect(self.open_in_system_viewer)
        top.addWidget(self.system_button)
        self.close_button = QToolButton(self)
        self.close_button.setText("✕")
        self.close_button.setAccessibleName("Close the source viewer")
        self.close_button.setToolTip("Close (Esc)")
        self.close_button.clicked.connect(self.close_pane)
        top.addWidget(self.close_button)
        column.addLayout(top)
        self.banner = QLabel("", self)
        self.banner.setObjectName("SourceBanner")
        self.banner.setAccessibleName("Source notice")
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.hide()
        column.addWidget(self.banner)
        self.stack = QStackedWidget(self)
        self.waiting = QLabel(OPENING, self.stack)
        self.waiting.setObjectName("Muted")
        self.waiting.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pdf_view = PdfPageView(self.stack)
        self.pdf_view.pageShown.connect(self._page_shown)
        self.text_view = LocalTextView(self.stack)
        self.text_view.setObjectName("SourceText")
        self.text_view.setAccessibleName("Cited text")
        for widget in (self.waiting, self.pdf_view, self.text_view):
            self.stack.addWidget(widget)
        column.addWidget(self.stack, 1)
        splitter.addWidget(self)
        splitter.setCollapsible(splitter.indexOf(self), False)
        self.hide()
        self.room = PaneRoom(splitter, self)  # beside the chat, or over it when narrow

    # -- opening ------------------------------------------------------------------------------

    def show_sources(self, citations: Citation | Sequence[Citation]) -> SourceViewer:
        """Open the pane at ``citations`` (same file and page): name and page at once, the page
        with its highlight once the worker has found and drawn it (``opened`` then fires)."""
        from ember.knowledge.types import Citation

        cited = (citations,) if isinstance(citations, Citation) else tuple(citations)
        self.citations = cited
        self.location = None
        self._serial += 1
        serial = self._serial
        first = cited[0]
        where = [shown_path(Path(first.source).name)]
        page = first.page_text()
        if page:
            where.append(page)
        from ember.ui.sources import numbers  # "[1, 3]", as the chip reads

        self.title.setText(f"{numbers(cited)} {' · '.join(where)}")
        self.title.setToolTip(shown_path(first.source))
        self.system_button.setEnabled(shown_path(first.source) == first.source)
        self.banner.hide()
        self.waiting.setText(OPENING)
        self.stack.setCurrentWidget(self.waiting)
        self._reveal()

        self.tasks.run_background(
            "open source",
            lambda _report: _located(cited),
            on_done=lambda opened: self._show(serial, *opened),
            on_error=lambda error: self._failed(serial, error),
        )
        self.stack.setFocus()
        return self

    def _show(self, serial: int, location: Location, shown: ShownText | None) -> None:
        if serial != self._serial:
            return  # another source was clicked meanwhile
        notes = [location.note] if location.note else []
        if shown is not None and shown.is_part:
            notes.append(
                f"This file is long: shown here are characters {shown.start + 1:,}–"
                f"{shown.end:,} of {shown.total:,}, around the passage. Open it in the system "
                "viewer for the rest."
            )
        if notes:
            self._warn("\n".join(notes))
        if location.kind == "pdf" and location.page is not None:
            self.stack.setCurrentWidget(self.pdf_view)  # sized before the page is drawn for it
            try:
                self.pdf_view.open_page(location.path, location.page, location.spans)
            except OSError as exc:
                self._failed(serial, exc)
                return
            self._drawing = (serial, location)  # shown in _page_shown
            return
        self.location = location
        if shown is not None and shown.text:
            self._show_text(shown)
        else:  # gone or unreadable: the banner says why
            self.waiting.setText(NOTHING_SHOWN)
        self.opened.emit()

    def _page_shown(self) -> None:
        serial, location = self._drawing or (None, None)
        self._drawing = None
        if serial == self._serial and location is not None:
            self.location = location
            self.opened.emit()

    def _failed(self, serial: int, error: BaseException) -> None:
        if serial != self._serial:
            return
        self.location = None
        self.waiting.setText(NOTHING_SHOWN)
        self.stack.setCurrentWidget(self.waiting)
        self._warn(f"This file could not be shown: {error}")
        self.opened.emit()

    def _warn(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.show()

    def _show_text(self, location: ShownText) -> None:
        view = self.text_view
        view.setPlainText(location.text)
        marks = []
        for start, end in location.spans:
            mark = QTextEdit.ExtraSelection()
            cursor = QTextCursor(view.document())
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            mark.cursor = cursor
            mark.format.setBackground(QColor(255, 214, 0, 130))
            marks.append(mark)
        view.setExtraSelections(marks)
        self.stack.setCurrentWidget(view)
        if location.spans:
            cursor = QTextCursor(view.document())
            cursor.setPosition(location.spans[0][1])
            view.setTextCursor(cursor)
            view.ensureCursorVisible()  # the passage's end in view, then its start
            cursor.setPosition(location.spans[0][0])
            view.setTextCursor(cursor)
            view.ensureCursorVisible()

    def highlighted_text(self) -> str:
        """The text highlighted in the text view (empty for a PDF or no highlight)."""
        return "\n".join(mark.cursor.selectedText() for mark in self.text_view.extraSelections())

    def event(self, event: QEvent) -> bool:
        # Esc in the pane is the pane's, not the window's "Stop the answer".
        if event.type() == QEvent.Type.ShortcutOverride and event.key() == Qt.Key.Key_Escape:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Esc anywhere in the pane closes it (the page and text views pass Esc on)."""
        if event.key() == Qt.Key.Key_Escape:
            self.close_pane()
            event.accept()
            return
        super().keyPressEvent(event)

    # -- pane ---------------------------------------------------------------------------------

    def _reveal(self) -> None:
        """Show the pane where the window has room for it (see :mod:`ember.ui.pane_room`)."""
        if self.isHidden():
            self.room.open()

    def close_pane(self) -> None:
        """Hide the pane and give its width back to the chat (and the sidebar, if folded)."""
        if self.isHidden():
            return
        self._serial += 1  # a result still on its way is not wanted any more
        self.room.close()

    def open_in_system_viewer(self) -> None:
        """Open the file in the person's own program (a PDF at its page where it can)."""
        if not self.citations:
            return
        citation = self.citations[0]
        url = self.opened_url = file_url(citation)
        if QDesktopServices.openUrl(url):
            return
        # Some openers reject fragments on local files: open the file itself then.
        if url.hasFragment() and QDesktopServices.openUrl(QUrl.fromLocalFile(citation.source)):
            return
        self._warn(no_viewer_text(citation.source))


def _located(cited: tuple[Citation, ...]) -> tuple[Location, ShownText | None]:
    """The worker's part: where the passages are, and what of a text the view shows."""
    from ember.knowledge.locate import locate

    location = locate(cited)
    if location.kind == "pdf" and location.page is not None:
        return location, None
    return location, shown_text(location.text, location.spans)


def no_viewer_text(source: str) -> str:
    """What to say when no program opens ``source`` (no viewer installed or set up)."""
    suffix = Path(source).suffix.lstrip(".").upper()
    kind = f"{suffix} files" if suffix and suffix.isalnum() else "this file"
    return (
        f"No program is set up to open {kind} on this computer. Install a viewer, or open "
        f"the file from your file manager: {shown_path(source)}"
    )
