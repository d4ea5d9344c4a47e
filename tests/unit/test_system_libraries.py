"""A missing system library Qt needs: the message names it and the Debian package to install.

The error texts are real: ``import PySide6.QtWidgets`` run with each library hidden from the
dynamic loader (a private mount namespace over the system's library folder).
"""

from __future__ import annotations

import pytest

from ember.system_libraries import DEBIAN_PACKAGES, missing_library, missing_library_message

REAL_ERRORS = {
    "libEGL.so.1": "libEGL.so.1: cannot open shared object file: No such file or directory",
    "libxkbcommon.so.0": (
        "libxkbcommon.so.0: cannot open shared object file: No such file or directory"
    ),
    "libfontconfig.so.1": (
        "libfontconfig.so.1: cannot open shared object file: No such file or directory"
    ),
}


@pytest.mark.parametrize(("library", "text"), sorted(REAL_ERRORS.items()))
def test_the_loaders_words_name_the_library(library: str, text: str) -> None:
    assert missing_library(text) == library


@pytest.mark.parametrize(
    ("text", "package"),
    [
        (REAL_ERRORS["libEGL.so.1"], "libegl1"),
        (REAL_ERRORS["libxkbcommon.so.0"], "libxkbcommon0"),
        (REAL_ERRORS["libfontconfig.so.1"], "libfontconfig1"),
    ],
)
def test_the_message_names_the_library_and_the_debian_package(text: str, package: str) -> None:
    message = missing_library_message(text)
    assert message is not None
    assert missing_library(text) in message
    assert message.endswith(f"sudo apt install {package}")


def test_a_library_through_a_path_and_a_version_suffix() -> None:
    text = (
        "/opt/ember/_internal/PySide6/Qt/lib/libQt6Gui.so.6: "
        "libGL.so.1: cannot open shared object file: No such file or directory"
    )
    assert missing_library(text) == "libGL.so.1"
    assert (missing_library_message(text) or "").endswith("sudo apt install libgl1")


def test_an_unknown_library_is_still_named() -> None:
    text = "libfoo-bar.so.7: cannot open shared object file: No such file or directory"
    message = missing_library_message(text)
    assert message is not None and "libfoo-bar.so.7" in message
    assert "apt install" not in message


@pytest.mark.parametrize(
    "text",
    [
        "No module named 'PySide6'",
        "cannot import name 'QtGui' from 'PySide6'",
        "/x/libQt6Gui.so.6: undefined symbol: _ZN7QString",
    ],
)
def test_other_import_errors_are_not_a_missing_library(text: str) -> None:
    assert missing_library_message(text) is None


def test_the_table_covers_what_the_brief_names() -> None:
    assert {
        "libEGL.so.1": "libegl1",
        "libGL.so.1": "libgl1",
        "libOpenGL.so.0": "libopengl0",
        "libfontconfig.so.1": "libfontconfig1",
        "libfreetype.so.6": "libfreetype6",
        "libxkbcommon.so.0": "libxkbcommon0",
        "libdbus-1.so.3": "libdbus-1-3",
        "libglib-2.0.so.0": "libglib2.0-0",
        "libX11.so.6": "libx11-6",
        "libxcb-cursor.so.0": "libxcb-cursor0",
    }.items() <= DEBIAN_PACKAGES.items()
