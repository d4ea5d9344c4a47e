"""README.md's "Keyboard shortcuts" tables list exactly the keys the window has: the window's
shortcuts and the message box's keys in the first table, the source viewer's in the second
(ember.ui.shortcuts: SHORTCUTS, COMPOSER_KEYS, VIEWER_KEYS). A key added, removed or changed in
the code without the README, or the other way round, fails here."""

from __future__ import annotations

import re
from pathlib import Path

from ember.ui.shortcuts import COMPOSER_KEYS, SHORTCUTS, VIEWER_KEYS

README = Path(__file__).resolve().parents[3] / "README.md"
# The README spells keys for people, the code as QKeySequence does.
SPELLED = {"Page Up": "PgUp", "Page Down": "PgDown"}
# Between keys in a "Keys" cell: "Enter / Shift+Enter", "Ctrl+/ or F1"; in the code: "Ctrl++, Ctrl+-".
BETWEEN = re.compile(r" / | or |, ")


def _keys(cell: str) -> set[str]:
    """The keys of a table cell or a code entry, each spelled as the code spells it (mouse
    gestures such as Ctrl+wheel are not keys and are left out)."""
    keys = {SPELLED.get(key.strip(), key.strip()) for key in BETWEEN.split(cell)}
    return {key for key in keys if key and "wheel" not in key.lower()}


def readme_tables() -> list[list[str]]:
    """The "Keys" column of each table in README.md's "Keyboard shortcuts" section, in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Keyboard shortcuts\n", 1)[1].split("\n## ", 1)[0]
    tables: list[list[str]] = []
    rows: list[str] | None = None
    for line in section.splitlines():
        if not line.startswith("|"):
            rows = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if rows is None:  # the header row: a new table
            assert cells[0] == "Keys", line
            rows = []
            tables.append(rows)
        elif not set(cells[0]) <= set("-: "):  # (not the |---| line)
            rows.append(cells[0])
    return tables


def test_the_parser_reads_both_tables() -> None:
    window, viewer = readme_tables()
    assert "Ctrl+N" in window and "Ctrl+/ or F1" in window
    assert "Esc" in viewer
    assert _keys("Ctrl++ or Ctrl+wheel / Ctrl+-") == {"Ctrl++", "Ctrl+-"}
    assert _keys("Page Up / Page Down") == {"PgUp", "PgDown"}


def test_the_readme_lists_exactly_the_windows_and_the_message_boxs_keys() -> None:
    window, _viewer = readme_tables()
    listed = [key for cell in window for key in _keys(cell)]
    code = {key for shortcut in SHORTCUTS for key in (shortcut.keys, *shortcut.also)}
    code |= {key for keys, _what in COMPOSER_KEYS for key in _keys(keys)}
    assert len(listed) == len(set(listed)), f"listed twice: {listed}"
    assert not code - set(listed), f"missing from README.md: {sorted(code - set(listed))}"
    assert not set(listed) - code, f"not in the code: {sorted(set(listed) - code)}"


def test_the_readme_lists_exactly_the_source_viewers_keys() -> None:
    _window, viewer = readme_tables()
    listed = [key for cell in viewer for key in _keys(cell)]
    code = {key for keys, _what in VIEWER_KEYS for key in _keys(keys)}
    assert len(listed) == len(set(listed)), f"listed twice: {listed}"
    assert set(listed) == code, f"README.md: {sorted(listed)}; code: {sorted(code)}"
