"""Screenshots of the real app in its main states, for the docs: ``docs/screenshots/*.png``.

    python scripts/screenshots.py [--theme light|dark|both] [--out docs/screenshots]

Runs the real window (real embedded model, real indexing) under Xvfb: when no display is set it
re-runs itself through ``xvfb-run -a`` (Debian: ``apt-get install xvfb libxcb-cursor0 ...``).
States: empty, streaming (an answer with a code block, mid-stream), sources (an answer built from
documents), new-chat-documents (a new chat carrying the last chat's documents), documents-page
(a collection with a failed and a skipped file), indexing-large-pdf (a 261-page PDF manual
mid-run), small-window (800×600), settings, source-viewer (an answer from a PDF guide beside the
cited page, its passage highlighted), tools-approval and tools (the model calls an MCP server's
``add``: the card asking first, then the answer with the step opened on its arguments and
result), models (the Models page: a hub search, a model's quantizations with their fit, and its
download running, from a loopback hub; also saved as ``models.png``). ``--only source-viewer``,
``--only tools`` or ``--only models`` takes those alone.
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


TOPICS = (
    "installation", "network setup", "user accounts", "backups", "printing", "security",
    "firmware updates", "troubleshooting", "power management", "storage", "remote access",
)  # fmt: skip


def _large_manual(path: Path, pages: int = 261) -> Path:
    """A PDF manual of ``pages`` pages (fpdf2): front matter numbered i, ii, ..., then chapters
    with a paragraph or two of plain prose per page."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for page in range(1, pages + 1):
        pdf.add_page()
        if page == 1:
            pdf.set_page_label("r")
        elif page == 5:
            pdf.set_page_label("D", label_start=1)
        topic = TOPICS[page % len(TOPICS)]
        text = " ".join(
            f"Step {n} of {topic} on page {page}: check the settings panel, confirm the value "
            f"shown for {topic}, and write down what changed before you continue."
            for n in range(1, 9)
        )
        pdf.multi_cell(0, 6, text=f"Chapter {page // 12 + 1}: {topic.title()}\n\n{text}")
    pdf.output(str(path))
    return path


GUIDE = (
    ("Zephyr X2 quick start", "Unpack the router, connect the grey cable to your modem and the "
     "power adapter to the socket marked DC IN. The status light turns white within a minute."),
    ("Resetting the router", "To reset the Zephyr X2 router to factory settings, hold the red "
     "pinhole button on the back for fifteen seconds until the status light blinks purple. All "
     "saved Wi-Fi passwords and port forwarding rules are erased, and the admin password goes "
     "back to the one printed on the label under the router. Wait two minutes before you log "
     "in again."),
    ("Changing the Wi-Fi channel", "Open the admin page at http://192.168.0.1 and choose a "
     "channel between 1 and 11. Channels 1, 6 and 11 do not overlap."),
)  # fmt: skip


def _guide_pdf(path: Path) -> Path:
    """A three-page PDF router guide (fpdf2), a topic a page, with filler prose around it."""
    from fpdf import FPDF

    pdf = FPDF()
    for number, (title, text) in enumerate(GUIDE, start=1):
        pdf.add_page()
        pdf.set_font("helvetica", "B", 16)
        pdf.multi_cell(0, 9, text=f"{number}. {title}")
        pdf.ln(3)
        pdf.set_font("helvetica", size=11)
        filler = (
            "This guide covers the Zephyr X2 and X2 Plus. Keep it with the router; the label "
            "under the router carries its serial number and the default Wi-Fi password. "
        )
        pdf.multi_cell(0, 6, text=filler * 2)
        pdf.ln(3)
        pdf.multi_cell(0, 6, text=text)
        pdf.ln(3)
        pdf.multi_cell(0, 6, text=filler * 3)
    pdf.output(str(path))
    return path


def _viewer_shot(app, window, work: Path, grab) -> None:  # type: ignore[no-untyped-def]
    """An answer from a PDF guide with the cited page open beside it, its passage highlighted."""
    from ember.ui.sources import group_citations

    folder = work / "Router guide"
    folder.mkdir(exist_ok=True)
    _guide_pdf(folder / "zephyr-x2-guide.pdf")
    window.new_chat()
    window.index_documents([folder], "Router guide")
    _wait(app, lambda: window.indexing is None, 300)
    window.documents.dismiss_summary()
    window.set_chat_collections(("Router guide",))
    window.send("How do I reset the Zephyr X2 router to factory settings?")
    _wait(app, lambda: window.generation is None)
    answer = window.chat.bubbles[-1]
    groups = group_citations(answer.data.citations)
    reset = next((g for g in groups if "pinhole" in " ".join(c.snippet for c in g)), groups[0])
    viewer = window.show_citation(reset)
    _wait(app, lambda: viewer.location is not None, 60)
    _settle(app, 1.0)
    grab("source-viewer")
    viewer.close_pane()


MCP_SERVER = ROOT / "tests" / "support" / "mcp_tools_server.py"  # add, echo, ... over stdio


def _configure_mcp() -> None:
    """An MCP server in this run's ``mcp.json`` (before the window reads it)."""
    import json

    from ember.paths import ember_paths

    server = {"command": sys.executable, "args": [str(MCP_SERVER)]}
    config = ember_paths().ensure().mcp_config
    config.write_text(json.dumps({"mcpServers": {"arithmetic": server}}), encoding="utf-8")


def _tools_shot(app, window, grab) -> None:  # type: ignore[no-untyped-def]
    """The model calls the MCP server's ``add``: the card asking first, then (allowed once) the
    answer with the step opened on its arguments and result."""
    window.new_chat()
    window.chat_tools.set_tools(("add",))  # Tools ▾ → add
    window.send("What is 2 + 3? Use the add tool.")
    cards = window.generator._cards
    _wait(app, lambda: bool(cards) or window.generation is None)
    if not cards:
        raise SystemExit("the model did not call the add tool")
    _settle(app, 0.5)
    grab("tools-approval")
    cards[0].allow_once.click()
    _wait(app, lambda: window.generation is None)
    answer = window.chat.bubbles[-1]
    if not answer.timeline.rows:
        raise SystemExit("the answer shows no tool step")
    row = answer.timeline.rows[0]
    row.toggle.click()  # opened on the arguments and the result
    _settle(app, 0.5)
    window.chat.ensureWidgetVisible(answer.timeline)
    grab("tools")


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


def _models_shot(app, window, out: Path, theme: str, grab) -> None:  # type: ignore[no-untyped-def]
    """The Models page: a search of a (loopback) hub, Gemma 3 270M's quantizations with their
    fit, and its download running (the server's rate cap keeps it going for the shot).
    Saved as ``models-THEME.png``; the light one also as ``models.png``."""
    sys.path.insert(0, str(ROOT))  # tests.support
    from tests.support.hf_hub_server import serve_real_models
    from tests.support.real_models import GEMMA3_REPO

    hub = serve_real_models()
    hub.faults.rate_bps = 6_000_000  # ~250 MB: the download runs for about 40 s
    os.environ["HF_ENDPOINT"] = hub.url
    try:
        page = window.models.open_hub()
        admin = window.models.hub
        page.resize(1060, 760)
        _wait(app, lambda: admin.busy == 0, 60)
        page.search_box.setText("gemma")
        page.search_button.click()
        _wait(app, lambda: admin.busy == 0 and ("repo", GEMMA3_REPO) in page.result_keys(), 60)
        page.choose("repo", GEMMA3_REPO)
        _wait(app, lambda: page.repo is not None and admin.busy == 0, 60)
        page.download_button.click()
        _wait(
            app,
            lambda: any(
                e.state == "downloading" and e.bytes_done > 40_000_000
                for e in admin.events.values()
            ),
            120,
        )
        _settle(app, 1.5)  # a speed and a time left to show
        grab("models", page)
        if theme == "light":
            shutil.copyfile(out / "models-light.png", out / "models.png")
        for job_id in list(admin.events):
            admin.cancel(job_id)
        _wait(app, lambda: not admin.running and admin.busy == 0, 60)
        page.close()
    finally:
        hub.close()
        os.environ.pop("HF_ENDPOINT", None)


def shoot(theme: str, out: Path, work: Path, only: str | None = None) -> list[Path]:
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
    (docs / "old-warranty.pdf").write_bytes(b"%PDF-1.4\nthis copy was cut short in transfer\n")
    (docs / "router-photo.bin").write_bytes(bytes(range(256)) * 64)
    large = work / "Admin guide"
    large.mkdir(exist_ok=True)
    if not (large / "admin-guide.pdf").exists():
        _large_manual(large / "admin-guide.pdf")

    _configure_mcp()
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
        print(f"saved {path.name}", flush=True)

    if only == "source-viewer":
        window.resize(1440, 860)
        _viewer_shot(app, window, work, grab)
    if only == "tools":
        _tools_shot(app, window, grab)
    if only == "models":
        _models_shot(app, window, out, theme, grab)
    if only is not None:
        window.close()
        shutdown_window(window)
        return saved

    grab("empty")

    # A conversation with a code block, caught mid-stream.
    window.send("Write a Python function that reverses a string. Show the code in a code block.")

    def streamed_lines() -> int:
        bubble = window.chat.streaming  # it appears a moment after the question's
        return bubble.data.text.count("\n") if bubble is not None else 0

    _wait(app, lambda: streamed_lines() >= 4, 120)
    grab("streaming")
    _wait(app, lambda: window.generation is None)

    # Documents: index a folder, then ask about it.
    window.new_chat()
    window.index_documents([docs], "Product manuals")
    _wait(app, lambda: window.indexing is None, 300)
    window.documents.dismiss_summary()
    window.send("How do I reset the Zephyr X2 router to factory settings?")
    _wait(app, lambda: window.generation is None)
    grab("sources")
    sources_chat = window.conversation_id

    # A new chat starts with the documents of the last one, named in its header.
    window.new_chat()
    grab("new-chat-documents")

    # The documents page: what is indexed, and what failed or was skipped, with the reason.
    page = window.documents_admin.open("Product manuals")
    _wait(app, lambda: page.isVisible(), 30)
    _settle(app, 1.5)
    grab("documents-page", page)
    page.close()

    # Indexing progress on a large PDF, caught part-way through embedding.
    window.index_documents([large], "Admin guide")
    _wait(
        app,
        lambda: window.indexing is None or window.index_bar.value() >= 350,
        600,
    )
    grab("indexing-large-pdf")
    if window.indexing is not None:
        window.indexing.cancel()  # what "Stop indexing" does once the person confirms
    _wait(app, lambda: window.indexing is None, 300)

    # The window at its smallest supported size, with an answer and its sources.
    window.open_conversation(sources_chat)
    _settle(app, 1.0)
    window.resize(800, 600)
    _settle(app, 1.0)
    grab("small-window")
    window.resize(1280, 820)

    window.resize(1440, 860)  # room for the answer and the page side by side
    _viewer_shot(app, window, work, grab)
    window.resize(1280, 820)

    _tools_shot(app, window, grab)
    _models_shot(app, window, out, theme, grab)

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
    parser.add_argument(
        "--only", choices=("source-viewer", "tools", "models"), help="take this shot alone"
    )
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
                *(["--only", args.only] if args.only else []),
            ]  # fmt: skip
            env = {**os.environ, "EMBER_SCREENSHOTS_CHILD": "1", "QT_QPA_PLATFORM": "xcb"}
            subprocess.run(command, env=env, check=True, timeout=900)
        return 0

    args.out.mkdir(parents=True, exist_ok=True)
    themes = ("light", "dark") if args.theme == "both" else (args.theme,)
    with tempfile.TemporaryDirectory(prefix="ember-shots-") as tmp:
        for theme in themes:
            for path in shoot(theme, args.out, Path(tmp), args.only):
                print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
