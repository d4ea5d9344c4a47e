"""How the running app names itself to the desktop: the .deb's desktop entry (Wayland's app id)."""

from __future__ import annotations

from pathlib import Path

from ember.ui.app import DESKTOP_FILE_NAME, create_application
from ember.ui.qt import QGuiApplication

LINUX = Path(__file__).resolve().parents[3] / "packaging" / "linux"


def test_windows_name_the_packages_desktop_entry(qapp: object) -> None:
    create_application()
    assert QGuiApplication.desktopFileName() == DESKTOP_FILE_NAME
    assert (LINUX / f"{DESKTOP_FILE_NAME}.desktop").is_file()
    assert f"APP_ID={DESKTOP_FILE_NAME} " in (LINUX / "build-deb.sh").read_text(encoding="utf-8")
