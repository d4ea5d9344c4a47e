"""The source viewer: a pane beside the chat (over it in a narrow window: :mod:`~ember.ui.pane_room`)
that opens a cited document at its passage.

Clicking a source chip or a ``[n]`` in an answer opens it. A PDF shows the cited page as QtPdf
draws it with the passage highlighted (:mod:`ember.ui.pdf_page`); HTML, Markdown, DOCX, text and
code show their parsed text, read-only, scrolled to the passage with the passage highlighted.
A banner says when the file changed since it was indexed (then nothing is highlighted: the
passage may have moved; its "Re-index" button indexes the file again), is gone, or the passage
is not on the page any more; a file that cannot be shown at all leaves the banner over an empty
state that says so. "Open in the system viewer" opens the file in the person's own program (a
PDF at its page where it can; disabled once the file is known to be gone). A PDF page has page
and zoom controls (:mod:`ember.ui.page_tools`; Page Up/Down at the page's ends, Ctrl+wheel,
Ctrl++, Ctrl+-, Ctrl+0).

Keyboard: opening a source from a chip or a ``[n]`` link moves the focus to the shown page or
text (or the empty state), so a screen reader names where it is; Tab goes through the title
row's buttons, the banner's, the page controls and the content, in that order (the window's
:class:`~ember.ui.accessibility.FocusOrder`). Closing the pane gives the focus back to the chip
or link that opened it (:mod:`ember.ui.pane_room`).

Nothing is fetched: the text view loads no resource at all (HTML's images, scripts and styles
are not even in the parsed text, and :class:`LocalTextView` refuses any that would be asked for).

Finding the passage and drawing the page run in a worker (``TaskManager.run_background``); the
pane shows the file's name and "Opening…" at once, and the page when it is ready. A long text
shows the stretch around its passage (:mod:`ember.ui.source_text`). Esc in the pane or the ✕
button closes the pane; so does Esc anywhere in the window while no answer is being written
(:mod:`ember.ui.shortcuts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ember.files import shown_path
from ember.ui import accessibility
from ember.ui.elided import ElidedLabel
from ember.ui.page_tools import PageTools
from ember.ui.pane_room import PaneRoom
from ember.ui.pdf_page import PdfPageView, zoom_key
from ember.ui.qt import (
    QApplication,
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
CLOSE_TIP = "Close (Esc; while an answer is being written, Esc in the chat stops it first)"
REINDEXING = "Indexing this file again: answers from now on cite its new text."


def nothing_shown(state: str | None) -> str:
    """The empty state's words for a source that cannot be shown (the banner says more)."""
    if state == "missing":
        return "Nothing to show: the file is not there any more."
    return "Nothing to show: the file could not be read."


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
    reindexRequested = Signal(str)  # the path of a changed file to index again

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
        self.close_button.setToolTip(CLOSE_TIP)
        self.close_button.clicked.connect(self.close_pane)
        top.addWidget(self.close_button)
        column.addLayout(top)
        self.notice = QFrame(self)  # the banner and its "Re-index" button
        self.notice.setObjectName("SourceNotice")
        notice_row = QHBoxLayout(self.notice)
        notice_row.setContentsMargins(0, 0, 0, 0)
        self.banner = QLabel("", self.notice)
        self.banner.setObjectName("SourceBanner")
        self.banner.setAccessibleName("Source notice")
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        notice_row.addWidget(self.banner, 1)
        self.reindex_button = QToolButton(self.notice)
        self.reindex_button.setText("Re-index")
        self.reindex_button.setAccessibleName("Index this file again")
        self.reindex_button.setToolTip("Index the changed file again, so answers cite its text")
        self.reindex_button.clicked.connect(self.reindex)
        notice_row.addWidget(self.reindex_button, 0, Qt.AlignmentFlag.AlignTop)
        self.notice.hide()
        column.addWidget(self.notice)
        self.stack = QStackedWidget(self)
        self.waiting = QLabel(OPENING, self.stack)
        self.waiting.setObjectName("Muted")
        self.waiting.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty = QLabel("", self.stack)  # a source that cannot be shown: says so
        self.empty.setObjectName("SourceEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # where the focus lands then
        self.pdf_view = PdfPageView(self.stack)
        self.pdf_view.pageShown.connect(self._page_shown)
        self.text_view = LocalTextView(self.stack)
        self.text_view.setObjectName("SourceText")
        self.text_view.setAccessibleName("Cited text")
        for widget in (self.waiting, self.empty, self.pdf_view, self.text_view):
            self.stack.addWidget(widget)
        self.page_tools = PageTools(self.pdf_view, self)
        self.page_tools.pageRequested.connect(self.go_to_page)
        self.page_tools.hide()
        column.addWidget(self.page_tools)
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
        self.notice.hide()
        self.page_tools.hide()
        self.stack.setCurrentWidget(self.waiting)
        focused = QApplication.focusWidget()
        self._reveal()
        if focused is None or not self.isAncestorOf(focused):  # from a chip or [n]: to the pane
            self.setFocus(Qt.FocusReason.OtherFocusReason)  # the content's once it is shown

        self.tasks.run_background(
            "open source",
            lambda _report: _located(cited),
            on_done=lambda opened: self._show(serial, *opened),
            on_error=lambda error: self._failed(serial, error),
        )
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
        self.reindex_button.setVisible(location.state == "changed")
        self.reindex_button.setEnabled(True)
        if location.state == "missing":
            self.system_button.setEnabled(False)  # nothing to open
        if location.kind == "pdf" and location.page is not None:
            self.stack.setCurrentWidget(self.pdf_view)  # sized before the page is drawn for it
            self.page_tools.show_page(location.page, location.page_count or location.page)
            self.page_tools.show()
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
            self._show_empty(location.state)
        self._focus_content()
        self.opened.emit()

    def _page_shown(self) -> None:
        serial, location = self._drawing or (None, None)
        self._drawing = None
        if serial == self._serial and location is not None:
            self.location = location
            self._focus_content()
            self.opened.emit()

    def go_to_page(self, page: int) -> None:
        """Show page ``page`` (1-based) of the PDF shown, its passage highlighted when it is the
        cited page; from the page after, it shows scrolled to its end (Page Up goes on up)."""
        location = self.location
        if location is None or location.kind != "pdf" or location.page is None:
            return
        shown = self.page_tools.page
        spans = location.spans if page == location.page else ()
        try:
            self.pdf_view.open_page(location.path, page, spans, at_end=page < shown)
        except OSError as exc:
            self._warn(f"This page could not be shown: {exc}")
            return
        self.page_tools.show_page(page, location.page_count or self.pdf_view.page_count())

    def _failed(self, serial: int, error: BaseException) -> None:
        if serial != self._serial:
            return
        self.location = None
        self.page_tools.hide()
        self.reindex_button.hide()
        self._show_empty(None)
        self._warn(f"This file could not be shown: {error}")
        self._focus_content()
        self.opened.emit()

    def _show_empty(self, state: str | None) -> None:
        self.empty.setText(nothing_shown(state))
        self.empty.setAccessibleName(self.empty.text())
        self.stack.setCurrentWidget(self.empty)

    def _focus_content(self) -> None:
        """Move the focus from the pane itself (where opening put it) to what is shown: the
        page, the text or the empty state. Left alone when the person has moved it since."""
        focused = QApplication.focusWidget()
        if focused is not None and focused is not self and focused is not self.stack:
            return
        current = self.stack.currentWidget()
        if current is not self.waiting:
            current.setFocus(Qt.FocusReason.OtherFocusReason)

    def _warn(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setAccessibleDescription(text)
        self.notice.show()
        accessibility.reorder(self)  # its button joins the Tab order
        accessibility.post_announcement(self.banner, text)

    def reindex(self) -> None:
        """Ask the window to index the shown file again (the banner's "Re-index")."""
        if not self.citations:
            return
        self.reindex_button.setEnabled(False)
        self.banner.setText(f"{self.banner.text()}\n{REINDEXING}")
        self.reindexRequested.emit(self.citations[0].source)

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
        """Esc anywhere in the pane closes it (the page and text views pass Esc on); the zoom
        keys zoom a PDF page wherever the focus is in the pane."""
        if event.key() == Qt.Key.Key_Escape:
            self.close_pane()
            event.accept()
            return
        zoom = zoom_key(event)
        if zoom is not None and self.stack.currentWidget() is self.pdf_view:
            self.pdf_view.apply_zoom_key(zoom)
            event.accept()
            return
        super().keyPressEvent(event)

    # -- pane ---------------------------------------------------------------------------------

    def _reveal(self) -> None:
        """Show the pane where the window has room for it (see :mod:`ember.ui.pane_room`)."""
        if self.isHidden():
            self.room.open()
            accessibility.reorder(self)  # the pane's controls join the window's Tab order
        else:
            self.room.opened_again()  # from another chip: the focus goes back to that one

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
