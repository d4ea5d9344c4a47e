"""Light and dark looks that follow the system (Fusion style, a palette and one stylesheet)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ember.ui.qt import QApplication, QColor, QIcon, QPalette, Qt

_ASSET_DIRS = (
    Path(__file__).resolve().parents[3] / "assets",
    Path(sys.prefix) / "share" / "ember" / "assets",
)

LIGHT: dict[str, str] = {
    "window": "#f7f7f8",
    "sidebar": "#eef0f3",
    "surface": "#ffffff",
    "user_bubble": "#fdebdc",
    "text": "#1f2328",
    "muted": "#6b7280",
    "border": "#e1e4e8",
    "hover": "#e4e7eb",
    "selected": "#dde3ea",
    "chip": "#f1f3f5",
    "code": "#f1f3f5",
    "accent": "#e8590c",
    "accent_hover": "#d9480f",
    "on_accent": "#ffffff",
    "link": "#c2410c",
    "danger": "#c92a2a",
    "warning": "#b35c00",
    "warn_bg": "#fff3bf",
    "ok": "#2b8a3e",
    "ok_bg": "#d3f9d8",
    "step": "#f6f7f9",  # a tool step's row in an answer
    "approval": "#fff6ee",  # the card asking to run a tool
}

DARK: dict[str, str] = {
    "window": "#1c1d20",
    "sidebar": "#151618",
    "surface": "#25262a",
    "user_bubble": "#3b2b21",
    "text": "#e8e8ea",
    "muted": "#9aa0a6",
    "border": "#34363c",
    "hover": "#2c2e33",
    "selected": "#33363c",
    "chip": "#2c2e33",
    "code": "#2e3036",
    "accent": "#ff7a2f",
    "accent_hover": "#ff8f50",
    "on_accent": "#1c1d20",
    "link": "#ffa26b",
    "danger": "#ff6b6b",
    "warning": "#ffc078",
    "warn_bg": "#3d3122",
    "ok": "#8ce99a",
    "ok_bg": "#1f3325",
    "step": "#2a2c31",
    "approval": "#30261f",
}


def asset(*parts: str) -> Path | None:
    for base in _ASSET_DIRS:
        candidate = base.joinpath(*parts)
        if candidate.exists():
            return candidate
    return None


def app_icon() -> QIcon:
    path = asset("icons", "ember.svg")
    return QIcon(str(path)) if path else QIcon()


def system_prefers_dark(app: QApplication) -> bool:
    scheme = app.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    return app.palette().color(QPalette.ColorRole.Window).lightness() < 128


def palette_for(colors: dict[str, str]) -> QPalette:
    p = QPalette()
    c = {k: QColor(v) for k, v in colors.items()}
    role = QPalette.ColorRole
    p.setColor(role.Window, c["window"])
    p.setColor(role.WindowText, c["text"])
    p.setColor(role.Base, c["surface"])
    p.setColor(role.AlternateBase, c["chip"])
    p.setColor(role.Text, c["text"])
    p.setColor(role.Button, c["surface"])
    p.setColor(role.ButtonText, c["text"])
    p.setColor(role.Highlight, c["accent"])
    p.setColor(role.HighlightedText, c["on_accent"])
    p.setColor(role.Link, c["link"])
    p.setColor(role.LinkVisited, c["link"])
    p.setColor(role.ToolTipBase, c["surface"])
    p.setColor(role.ToolTipText, c["text"])
    p.setColor(role.PlaceholderText, c["muted"])
    p.setColor(QPalette.ColorGroup.Disabled, role.Text, c["muted"])
    p.setColor(QPalette.ColorGroup.Disabled, role.ButtonText, c["muted"])
    p.setColor(QPalette.ColorGroup.Disabled, role.WindowText, c["muted"])
    return p


BASE_PX = 13  # the body text size the stylesheet's font sizes are written against
_FONT_SIZE = re.compile(r"font-size:\s*(\d+(?:\.\d+)?)px")


def base_point_size(app: QApplication) -> float:
    """The application's (the system's) body text size in points."""
    font = app.font()
    size = font.pointSizeF()
    return size if size > 0 else font.pixelSize() * 0.75  # 96 dpi: 4 px make 3 pt


def scale_font_sizes(text: str, base_pt: float) -> str:
    """``text`` (a stylesheet) with each "font-size: Npx" made relative to a body text of
    ``base_pt`` points: N/:data:`BASE_PX` of it, so headings and small print keep their
    proportions and grow with the system's font size."""
    return _FONT_SIZE.sub(lambda m: f"font-size: {base_pt * float(m[1]) / BASE_PX:.2f}pt", text)


def stylesheet(colors: dict[str, str], base_pt: float | None = None) -> str:
    """The stylesheet in ``colors``; with ``base_pt``, its font sizes follow that body text
    size (see :func:`scale_font_sizes`), else they stay as written (pixels)."""
    path = asset("styles", "ember.qss")
    if path is None:
        return ""
    text = path.read_text(encoding="utf-8")
    if base_pt is not None:
        text = scale_font_sizes(text, base_pt)
    # Longest names first so "@accent_hover" is not eaten by "@accent".
    values = {**colors, "assets": path.parent.parent.as_posix()}
    names = sorted(values, key=len, reverse=True)
    pattern = re.compile("@(" + "|".join(map(re.escape, names)) + r")\b")
    return pattern.sub(lambda m: values[m.group(1)], text)


THEME_CHOICES = {"system": "Same as the system", "light": "Light", "dark": "Dark"}


def dark_for(choice: str) -> bool | None:
    """``Theme``'s ``dark`` for a settings ``theme`` value: None (follow the system) for "system"
    or anything unknown."""
    return {"light": False, "dark": True}.get(choice.lower())


def saved_choice(config_file: Path) -> str:
    """The ``theme`` saved in the settings file, read without pydantic (before the first
    paint); "system" when there is none or the file cannot be read."""
    import tomllib

    try:
        value = tomllib.loads(config_file.read_text(encoding="utf-8")).get("theme", "system")
    except (OSError, ValueError):
        return "system"
    return value if isinstance(value, str) else "system"


class Theme:
    """The current look; ``colors`` is what widgets read for custom painting."""

    def __init__(self, app: QApplication, dark: bool | None = None) -> None:
        self.app = app
        self.forced = dark
        self.dark = False
        self.colors: dict[str, str] = LIGHT
        self.apply()
        # Only the Theme applied last follows these: an app has one, but a test suite makes
        # many on one QApplication, and each of them restyling every widget on every font
        # change stalled the suite.
        app.styleHints().colorSchemeChanged.connect(
            lambda _scheme: self._current() and self.apply()
        )
        app.fontChanged.connect(lambda _font: self._current() and self._restyle())  # text size

    def choose(self, choice: str) -> None:
        """Apply a settings ``theme`` ("system", "light", "dark") at once."""
        self.forced = dark_for(choice)
        self.apply()

    def _current(self) -> bool:
        """Whether this is the application's newest Theme."""
        return self.app.property("emberTheme") == id(self)

    def apply(self) -> None:
        self.app.setProperty("emberTheme", id(self))
        self.dark = self.forced if self.forced is not None else system_prefers_dark(self.app)
        self.colors = DARK if self.dark else LIGHT
        self.app.setStyle("Fusion")
        self.app.setPalette(palette_for(self.colors))
        self._restyle()

    def _restyle(self) -> None:
        self.app.setStyleSheet(stylesheet(self.colors, base_point_size(self.app)))

    def color(self, name: str) -> QColor:
        return QColor(self.colors[name])
