"""Screenshots of the real app in its main states, for the docs: ``docs/screenshots/*.png``.

    python scripts/screenshots.py [--theme light|dark|both] [--out docs/screenshots]

Runs the real window (real embedded model, real indexing) under Xvfb: when no display is set it
re-runs itself through ``xvfb-run -a`` (Debian: ``apt-get install xvfb libxcb-cursor0 ...``).
States: empty, streaming (an answer with a code block, mid-stream), sources (an answer built from
documents), indexing (progress bar), settings.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MANUAL = """# Zephyr X2 router manual

## Resetting the router

To reset the Zephyr X2 router to factory settings, hold the red pinhole button on the back for
fifteen seconds until the status light blinks purple. All saved Wi-Fi passwords are erased.

## Changing the Wi-Fi channel

Open the admin page at http://192.168.0.1 and choose a channel between 1 and 11. Channels 1, 6
and 11 do not overlap.
"""

NOTES = """# Release checklist

1. Run the full test suite on a clean checkout.
2. Update the changelog with every user-visible change.
3. Tag the release and build the installers for Linux, macOS and Windows.
"""


def _wait(app, condition, timeout_s: float = 180) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("screenshot step timed out")
        app.processEvents()
        time.sleep(0.005)


def _settle(app, seconds: float = 0.3) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def shoot(theme: str, out: Path, work: Path) -> list[Path]:
    os.environ["EMBER_HOME"] = str(work / f"home-{theme}")
    os.environ["EMBER_THEME"] = theme
    from ember.config import Settings, save_settings
    from ember.ui.app import create_application, create_window, shutdown_window
    from ember.ui.qt import QColor, QPainter

    save_settings(Settings(temperature=0.0, seed=11, max_tokens=220, n_ctx=2048))
    docs = work / "Product manuals"
    docs.mkdir(exist_ok=True)
    (docs / "zephyr-x2-manual.md").write_text(MANUAL, encoding="utf-8")
    (docs / "release-checklist.md").write_text(NOTES, encoding="utf-8")
    many = work / "Team wiki"
    many.mkdir(exist_ok=True)
    for i in range(60):
        text = "\n\n".join(
            f"Section {j}: page {i} of the wiki describes process {j} in some detail."
            for j in range(40)
        )
        (many / f"page-{i:03}.md").write_text(f"# Wiki page {i}\n\n{text}\n", encoding="utf-8")

    app = create_application(["ember"])
    window = create_window()
    window.resize(1280, 820)
    window.show()
    _wait(app, lambda: window.core.loaded is not None and not window.model_loading)
    saved: list[Path] = []

    def grab(name: str, dialog=None) -> None:  # type: ignore[no-untyped-def]
        _settle(app)
        path = out / f"{name}-{theme}.png"
        pixmap = window.grab()
        if dialog is not None:
            # Xvfb has no window manager to draw the dialog over the window: compose it, with
            # the window dimmed behind, as a desktop would show a modal dialog.
            painter = QPainter(pixmap)
            painter.fillRect(pixmap.rect(), QColor(0, 0, 0, 90))
            shot = dialog.grab()
            x = (pixmap.width() - shot.width()) // 2
            y = (pixmap.height() - shot.height()) // 2
            painter.fillRect(x - 1, y - 1, shot.width() + 2, shot.height() + 2, QColor(0, 0, 0, 60))
            painter.drawPixmap(x, y, shot)
            painter.end()
        pixmap.save(str(path))
        saved.append(path)

    grab("empty")

    # A conversation with a code block, caught mid-stream.
    window.send("Write a Python function that reverses a string. Show the code in a code block.")

    def streamed_lines() -> int:
        bubble = window.chat.streaming  # it appears a moment after the question's
        return bubble.data.text.count("\n") if bubble is not None else 0

    _wait(app, lambda: streamed_lines() >= 6, 120)
    grab("streaming")
    _wait(app, lambda: window.generation is None)

    # Documents: index a folder, then ask about it.
    window.new_chat()
    window.index_documents([docs], "Product manuals")
    _wait(app, lambda: window.indexing is None, 300)
    window.send("How do I reset the Zephyr X2 router to factory settings?")
    _wait(app, lambda: window.generation is None)
    grab("sources")

    # Indexing progress, caught part-way.
    window.index_documents([many], "Team wiki")
    _wait(
        app,
        lambda: window.indexing is None or window.index_bar.value() >= 3,
        300,
    )
    grab("indexing")
    if window.indexing is not None:
        window.documents.cancel_indexing()
    _wait(app, lambda: window.indexing is None, 300)

    dialog = window.open_settings()
    _settle(app, 0.5)
    grab("settings", dialog)
    dialog.reject()

    window.close()
    shutdown_window(window)
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Save screenshots of Ember's main states.")
    parser.add_argument("--theme", choices=("light", "dark", "both"), default="both")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)

    if not os.environ.get("DISPLAY") and os.environ.get("EMBER_SCREENSHOTS_CHILD") != "1":
        if shutil.which("xvfb-run") is None:
            raise SystemExit(
                "xvfb-run is missing: apt-get install xvfb libxcb-cursor0 libxkbcommon-x11-0"
            )
        themes = ("light", "dark") if args.theme == "both" else (args.theme,)
        for theme in themes:  # one process per theme: a clean app each time
            command = [
                "xvfb-run", "-a", "-s", "-screen 0 1600x1000x24",
                sys.executable, __file__, "--theme", theme, "--out", str(args.out),
            ]  # fmt: skip
            env = {**os.environ, "EMBER_SCREENSHOTS_CHILD": "1", "QT_QPA_PLATFORM": "xcb"}
            subprocess.run(command, env=env, check=True, timeout=900)
        return 0

    args.out.mkdir(parents=True, exist_ok=True)
    themes = ("light", "dark") if args.theme == "both" else (args.theme,)
    with tempfile.TemporaryDirectory(prefix="ember-shots-") as tmp:
        for theme in themes:
            for path in shoot(theme, args.out, Path(tmp)):
                print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
