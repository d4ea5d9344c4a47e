"""Model answers as Markdown, rendered safely.

A model's text is untrusted: it may contain raw HTML or a remote image (``![](http://host/?q=...)``,
an exfiltration channel the moment it is fetched). So:

* Qt's Markdown reader runs with ``MarkdownNoHTML``: tags are shown as text, never interpreted.
* Images are rewritten into plain links before parsing (``![alt](url)`` -> ``[image: alt](url)``,
  reference images lose their ``!``), so the document never even asks for one.
* :class:`SafeTextBrowser` answers every resource request with nothing, as a second wall.
* Links never open by themselves: the browser only emits :attr:`SafeTextBrowser.linkRequested`;
  the window asks the person (showing the URL) before the system browser opens it.

Two Ember-only link schemes decorate the text: ``ember-cite:N`` for a ``[N]`` that matches one of
the answer's sources, and ``ember-copy:N`` for the "Copy code" link under each code block (after
the block's language, when the fence names one).

Beyond Qt's reader: fenced code is coloured by its language (:mod:`ember.ui.code_highlight`),
LaTeX math is drawn (:mod:`ember.ui.markdown_math`; its images live in the document, nothing is
fetched), and block quotes get a bar down their left side (:func:`quote_bars`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ember.ui.markdown_math import Formula, extract_math, insert_math
from ember.ui.qt import (
    QColor,
    QEvent,
    QFont,
    QFontDatabase,
    QPainter,
    QPalette,
    QRectF,
    QSizePolicy,
    Qt,
    QTextBlockFormat,
    QTextBrowser,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QUrl,
    QWidget,
    Signal,
)

CITE_SCHEME = "ember-cite"
COPY_SCHEME = "ember-copy"

_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_INLINE_IMAGE = re.compile(r"!\[([^\]\n]*)\]\(")
_BANG_BRACKET = re.compile(r"!\[")
_CITATION = re.compile(r"\[(\d{1,3})\](?![(:\[])")
_LANGUAGE = re.compile(r"[A-Za-z0-9_+.#-]{1,24}")
QUOTE_BAR_WIDTH = 3  # px


@dataclass(slots=True)
class SafeMarkdown:
    """Markdown ready for Qt's reader, plus the code blocks its copy links refer to."""

    text: str
    code_blocks: list[str] = field(default_factory=list)
    formulas: list[Formula] = field(default_factory=list)  # LaTeX, by placeholder index


def _defuse_inline(text: str, citations: frozenset[int], formulas: list[Formula]) -> str:
    """Rewrite math, images and citation markers outside inline code spans."""
    out: list[str] = []
    pos = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_defuse_plain(text[pos : match.start()], citations, formulas))
        out.append(match.group(0))
        pos = match.end()
    out.append(_defuse_plain(text[pos:], citations, formulas))
    return "".join(out)


def _defuse_plain(text: str, citations: frozenset[int], formulas: list[Formula]) -> str:
    text = extract_math(text, formulas)  # first: "[1]" or "![" inside a formula stay its own
    text = _INLINE_IMAGE.sub(lambda m: f"[image: {m.group(1) or 'untitled'}](", text)
    text = _BANG_BRACKET.sub(r"\\![", text)  # reference-style images become plain text + link
    if citations:

        def cite(m: re.Match[str]) -> str:
            n = int(m.group(1))
            return f"[\\[{n}\\]]({CITE_SCHEME}:{n})" if n in citations else m.group(0)

        text = _CITATION.sub(cite, text)
    return text


def sanitize_markdown(text: str, citations: frozenset[int] = frozenset()) -> SafeMarkdown:
    """Prepare untrusted Markdown for display (see the module docstring)."""
    result = SafeMarkdown("")
    lines: list[str] = []
    fence: str | None = None
    language = ""
    code: list[str] = []
    paragraph: list[str] = []

    def flush_paragraph() -> None:
        if paragraph:
            lines.append(_defuse_inline("\n".join(paragraph), citations, result.formulas))
            paragraph.clear()

    def close_code() -> None:
        result.code_blocks.append("\n".join(code))
        label = f"*{language}* · " if language else ""
        lines.append(f"{label}[Copy code]({COPY_SCHEME}:{len(result.code_blocks) - 1})")
        lines.append("")
        code.clear()

    for line in text.splitlines():
        if fence is None:
            match = _FENCE.match(line)
            if match and not (match.group(2)[0] == "`" and "`" in match.group(3)):
                flush_paragraph()
                fence = match.group(2)
                info = match.group(3).strip().split()
                language = info[0] if info and _LANGUAGE.fullmatch(info[0]) else ""
                lines.append(line)
                continue
            if not line.strip():
                flush_paragraph()
                lines.append(line)
            else:
                paragraph.append(line)
        else:
            stripped = line.strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                lines.append(line)
                fence = None
                lines.append("")
                close_code()
            else:
                lines.append(line)
                code.append(line)
    flush_paragraph()
    if fence is not None:  # still streaming inside a code block: close it for display
        lines.append(fence)
        lines.append("")
        close_code()
    result.text = "\n".join(lines)
    return result


MARKDOWN_FEATURES = (
    QTextDocument.MarkdownFeature.MarkdownNoHTML
    | QTextDocument.MarkdownFeature.MarkdownDialectGitHub
)


def render_markdown(
    document: QTextDocument,
    text: str,
    citations: frozenset[int] = frozenset(),
    code_background: QColor | None = None,
) -> SafeMarkdown:
    """Replace ``document``'s content with ``text`` rendered safely; returns what was rendered."""
    safe = sanitize_markdown(text, citations)
    document.setMarkdown(safe.text, MARKDOWN_FEATURES)
    _decorate(document, safe, code_background)
    return safe


def _decorate(document: QTextDocument, safe: SafeMarkdown, background: QColor | None) -> None:
    """Give fenced code a monospace font, a tinted background (Qt sets neither fully) and its
    language's colours; draw the formulas."""
    mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    # One edit block: the document re-lays itself out (and its view re-fits) once, not after
    # every merge; per merge that was most of a streaming render's time (37 fits per render).
    edit = QTextCursor(document)
    edit.beginEditBlock()
    try:
        _style_blocks(document, background, mono)
        if safe.code_blocks:
            from ember.ui.code_highlight import highlight_code

            highlight_code(document, dark=_is_dark(background))
        insert_math(document, safe.formulas, background)
    finally:
        edit.endEditBlock()


def _is_dark(background: QColor | None) -> bool:
    if background is None:
        from ember.ui.qt import QApplication

        background = QApplication.palette().color(QPalette.ColorRole.Base)
    return background.lightness() < 128


def quote_bars(document: QTextDocument) -> list[QRectF]:
    """Where the bars beside block quotes go, in document coordinates: one per quoted block,
    just left of its text (a nested quote's bar is further right)."""
    bars: list[QRectF] = []
    layout = document.documentLayout()
    block = document.begin()
    while block.isValid():
        fmt = block.blockFormat()
        level = fmt.property(QTextFormat.Property.BlockQuoteLevel)
        if isinstance(level, int) and level > 0:
            rect = layout.blockBoundingRect(block)
            left = rect.left() + fmt.leftMargin() - 14
            bars.append(QRectF(left, rect.top(), QUOTE_BAR_WIDTH, rect.height()))
        block = block.next()
    return bars


def _style_blocks(document: QTextDocument, background: QColor | None, mono: QFont) -> None:
    block = document.begin()
    while block.isValid():
        fmt = block.blockFormat()
        if fmt.hasProperty(QTextBlockFormat.Property.BlockCodeFence) or fmt.nonBreakableLines():
            cursor = QTextCursor(block)
            if background is not None:
                styled = QTextBlockFormat()
                styled.setBackground(background)
                styled.setLeftMargin(6)
                styled.setRightMargin(6)
                cursor.mergeBlockFormat(styled)
            cursor.select(QTextCursor.SelectionType.BlockUnderCursor)
            char = cursor.charFormat()
            char.setFont(mono)
            char.setFontFixedPitch(True)
            cursor.mergeCharFormat(char)
        block = block.next()


class SafeTextBrowser(QTextBrowser):
    """A read-only rich text view that loads nothing and opens nothing by itself.

    It sizes itself to its content (no inner scroll bar): chat bubbles grow with the text.
    """

    linkRequested = Signal(QUrl)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QTextBrowser.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextBrowserInteraction
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.DefaultContextMenu)
        self.document().setDocumentMargin(2)
        self.anchorClicked.connect(self.linkRequested.emit)
        self.document().contentsChanged.connect(self._fit)
        self.resource_requests: list[str] = []  # what the document asked for (tests read it)

    def paintEvent(self, event: object) -> None:
        super().paintEvent(event)  # type: ignore[arg-type]
        bars = quote_bars(self.document())
        if bars:
            painter = QPainter(self.viewport())
            offset_x = -self.horizontalScrollBar().value()
            offset_y = -self.verticalScrollBar().value()
            color = self.palette().color(QPalette.ColorRole.PlaceholderText)
            for bar in bars:
                painter.fillRect(bar.translated(offset_x, offset_y), color)
            painter.end()

    def loadResource(self, kind: int, url: QUrl) -> object:
        """Never fetch anything: no remote images, no local files, no stylesheets."""
        self.resource_requests.append(url.toString())
        return None

    def setSource(self, url: QUrl, kind: object = None) -> None:
        """Navigation is the window's decision (see linkRequested); never follow a link here."""
        self.linkRequested.emit(url)

    def _fit(self) -> None:
        width = self.viewport().width()
        if width <= 0:
            return
        document = self.document()
        document.setTextWidth(width)
        height = int(document.size().height()) + 2 * self.frameWidth() + 2
        if height != self.height():
            self.setFixedHeight(height)

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._fit()

    def changeEvent(self, event: QEvent) -> None:
        """A new font (the system's text size changed while the window is open) lays the text
        out taller or shorter without changing it: fit the height to it again."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit()

    def set_plain(self, text: str) -> None:
        self.setPlainText(text)
        font = QFont(self.font())
        self.document().setDefaultFont(font)
        self._fit()
