"""LaTeX math in answers: found in the text, drawn by matplotlib's mathtext, set into the document.

Found (outside code): ``$$…$$`` and ``\\[…\\]`` as display math, ``$…$`` and ``\\(…\\)`` inline.
A dollar amount is not math: an inline ``$`` must be followed by a non-space, the closing one
preceded by a non-space and not followed by a digit ("$5 and $10" stays text); ``\\$`` is a
dollar sign. Each formula becomes a placeholder before the Markdown reader runs (so ``_`` and
``*`` inside it are not read as emphasis), and the placeholder is then replaced by the formula's
image (kept in the document's own resources: nothing is fetched). A formula mathtext cannot
parse is shown as its source, in the code font; the renderer never raises for a model's text.

matplotlib is imported on the first formula, on a thread of its own (about 0.8 s, cold, which
must not stall the window): until it is ready a formula shows as its source, and each document
that showed one is drawn again once it is (:func:`when_ready`).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from ember.ui.qt import (
    QApplication,
    QColor,
    QFontDatabase,
    QImage,
    QObject,
    QPalette,
    Qt,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextImageFormat,
    QUrl,
    Signal,
)

log = logging.getLogger(__name__)

MATH_SCHEME = "ember-math"
_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use characters: never in a model's Markdown output
_PLACEHOLDER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
_DISPLAY = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|\\\[(.+?)\\\]", re.DOTALL)
_INLINE = re.compile(r"(?<![\\$])\$(?=[^\s$])([^$\n]*?[^\s\\$])\$(?![\d$])|\\\((.+?)\\\)")
MAX_FORMULA = 2000  # characters; longer is shown as source


@dataclass(frozen=True, slots=True)
class Formula:
    source: str  # without its delimiters
    display: bool  # a block of its own, centred


def extract_math(text: str, found: list[Formula]) -> str:
    """``text`` (plain Markdown, no code) with each formula replaced by a placeholder; the
    formulas are appended to ``found`` (the placeholder holds the index)."""

    def keep(source: str, display: bool) -> str:
        source = source.strip()
        if not source or len(source) > MAX_FORMULA:
            return ""
        found.append(Formula(source, display))
        return f"{_OPEN}{len(found) - 1}{_CLOSE}"

    def display(m: re.Match[str]) -> str:
        return keep(m.group(1) or m.group(2) or "", True) or m.group(0)

    def inline(m: re.Match[str]) -> str:
        return keep(m.group(1) or m.group(2) or "", False) or m.group(0)

    return _INLINE.sub(inline, _DISPLAY.sub(display, text))


@lru_cache(maxsize=256)
def render_formula(source: str, point_size: float, color: str, ratio: float) -> QImage | None:
    """``source`` drawn by mathtext at ``point_size`` in ``color`` ("#rrggbb") for a screen of
    device pixel ``ratio``; None when mathtext cannot parse it (or anything else goes wrong)."""
    from io import BytesIO

    try:
        from matplotlib.font_manager import FontProperties
        from matplotlib.mathtext import math_to_image

        buffer = BytesIO()
        math_to_image(
            f"${source}$",
            buffer,
            prop=FontProperties(size=point_size),
            dpi=96 * ratio,
            format="png",
            color=color,
        )
    except Exception as exc:  # untrusted text: a parse error (or worse) shows the source
        log.debug("formula not rendered: %s", exc)
        return None
    image = QImage.fromData(buffer.getvalue(), "PNG")
    if image.isNull():
        return None
    image.setDevicePixelRatio(ratio)
    return image


def insert_math(document: QTextDocument, formulas: list[Formula], code: QColor | None) -> int:
    """Replace each placeholder in ``document`` by its formula's image (or its source in the
    code font); returns how many were drawn. Call inside the caller's edit block."""
    if not formulas:
        return 0
    app = QApplication.instance()
    ratio = float(app.devicePixelRatio()) if app is not None else 1.0  # type: ignore[attr-defined]
    color = QApplication.palette().color(QPalette.ColorRole.Text).name()
    point_size = document.defaultFont().pointSizeF()
    if point_size <= 0:
        point_size = 10.0
    found: list[tuple[int, int, int]] = []  # (position, length, formula index)
    block = document.begin()
    while block.isValid():
        for match in _PLACEHOLDER.finditer(block.text()):
            found.append((block.position() + match.start(), len(match.group(0)), int(match[1])))
        block = block.next()
    drawn = 0
    for position, length, index in reversed(found):  # from the end: earlier positions hold
        if index >= len(formulas):
            continue
        cursor = QTextCursor(document)
        cursor.setPosition(position)
        cursor.setPosition(position + length, QTextCursor.MoveMode.KeepAnchor)
        formula = formulas[index]
        size = point_size * (1.2 if formula.display else 1.0)
        image = render_formula(formula.source, size, color, ratio) if ready() else None
        if image is not None:
            _insert_image(document, cursor, image, index, formula.display)
            drawn += 1
        else:
            _insert_source(cursor, formula, code)
    return drawn


def _insert_image(
    document: QTextDocument, cursor: QTextCursor, image: QImage, index: int, display: bool
) -> None:
    name = f"{MATH_SCHEME}:{index}"
    document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(name), image)
    fmt = QTextImageFormat()
    fmt.setName(name)
    ratio = image.devicePixelRatio() or 1.0
    fmt.setWidth(image.width() / ratio)
    fmt.setHeight(image.height() / ratio)
    fmt.setVerticalAlignment(QTextCharFormat.VerticalAlignment.AlignMiddle)
    fmt.setToolTip(f"Formula {index + 1}")
    cursor.removeSelectedText()
    cursor.insertImage(fmt)
    if display and cursor.block().text().strip() == "\ufffc":
        centred = QTextBlockFormat()
        centred.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        cursor.mergeBlockFormat(centred)


def _insert_source(cursor: QTextCursor, formula: Formula, code: QColor | None) -> None:
    fmt = QTextCharFormat()
    fmt.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    if code is not None:
        fmt.setBackground(code)
    shown = f"$${formula.source}$$" if formula.display else f"${formula.source}$"
    cursor.insertText(shown, fmt)


class _Loader(QObject):
    """Says, on the GUI thread, that mathtext is ready."""

    ready = Signal()


_state = "cold"  # "cold", "loading", "ready" (or "failed": formulas stay as their source)
_loader: _Loader | None = None


def _the_loader() -> _Loader:
    global _loader
    if _loader is None:
        _loader = _Loader()
        _loader.moveToThread(QApplication.instance().thread())  # type: ignore[union-attr]
        _loader.ready.connect(_call_waiting)
    return _loader


_waiting: list[tuple[QObject, Callable[[], None]]] = []  # (receiver, callback) until ready


def _call_waiting() -> None:
    from shiboken6 import isValid

    waiting = list(_waiting)
    _waiting.clear()
    for receiver, callback in waiting:
        if isValid(receiver):  # not for a bubble deleted meanwhile
            callback()


def ready() -> bool:
    """Whether formulas are drawn now (mathtext imported)."""
    return _state == "ready"


def load_in_background() -> None:
    """*GUI thread* Import mathtext and draw one formula on a thread of its own, once; then
    :func:`when_ready`'s callbacks run on the GUI thread."""
    global _state
    if _state != "cold":
        return
    _state = "loading"
    loader = _the_loader()

    def run() -> None:
        global _state
        _state = "ready" if preload() else "failed"
        loader.ready.emit()  # queued to the GUI thread, where the loader lives

    threading.Thread(target=run, name="ember-mathtext", daemon=True).start()


def when_ready(receiver: QObject, callback: Callable[[], None]) -> None:
    """Call ``callback`` on the GUI thread once mathtext is ready (not at all should
    ``receiver`` be deleted before, nor should mathtext have failed to load: formulas then stay
    as their source); starts loading it if nobody has."""
    if _state == "failed":
        return
    _the_loader()
    _waiting.append((receiver, callback))
    load_in_background()


def preload() -> bool:
    """*worker* Import mathtext and draw one formula; False when it cannot (then formulas show
    as their source)."""
    from io import BytesIO

    try:
        from matplotlib.font_manager import FontProperties
        from matplotlib.mathtext import math_to_image

        math_to_image("$x^2$", BytesIO(), prop=FontProperties(size=10), dpi=96, format="png")
    except Exception as exc:
        log.warning("math in answers is shown as its source: mathtext failed: %s", exc)
        return False
    return True
