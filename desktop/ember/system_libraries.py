"""Name the system library Qt could not load, and the Debian package that brings it.

Qt (PySide6, in the venv or in the bundle) links against libraries of the system it runs on:
OpenGL/EGL, fontconfig, FreeType, xkbcommon, D-Bus, GLib, X11 and XCB. When one is missing,
importing a Qt module fails with the dynamic loader's words, e.g.
``libEGL.so.1: cannot open shared object file: No such file or directory``; the app turns that
into :class:`SystemLibraryMissing` (``ember.ui.app``), whose message names the package to install.

The table holds the libraries Qt's own binaries need (``readelf -d`` on PySide6's ``QtCore``,
``QtGui``, ``QtWidgets``, ``QtNetwork``, ``QtPdf``, ``QtSvg``, ``QtDBus`` and the xcb platform
plugin), with their Debian 12 package names (``dpkg -S``).
"""

from __future__ import annotations

import re

from ember.errors import EmberError

# soname -> the Debian package that installs it.
DEBIAN_PACKAGES: dict[str, str] = {
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libdrm.so.2": "libdrm2",
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
    "libgssapi_krb5.so.2": "libgssapi-krb5-2",
    "libbrotlidec.so.1": "libbrotli1",
    "libbrotlicommon.so.1": "libbrotli1",
}

# What the dynamic loader says (glibc): "<name>: cannot open shared object file: ...".
_LOADER_MISSING = re.compile(r"([^\s:/]+\.so(?:\.\d+)*): cannot open shared object file")


class SystemLibraryMissing(EmberError):
    """Qt cannot load: a system library it needs is not installed (the message names it)."""


def missing_library(error_text: str) -> str | None:
    """The soname the loader could not find in ``error_text`` (an ``ImportError``'s text), or
    ``None`` when the error is not a missing library."""
    found = _LOADER_MISSING.search(error_text)
    return found.group(1) if found else None


def missing_library_message(error_text: str) -> str | None:
    """A message for the person when ``error_text`` says a library is missing, else ``None``.

    Names the library and, when known, the Debian package:
    ``"Ember's window needs the system library libEGL.so.1, which is not installed. On Debian
    or Ubuntu: sudo apt install libegl1"``.
    """
    library = missing_library(error_text)
    if library is None:
        return None
    message = f"Ember's window needs the system library {library}, which is not installed."
    package = DEBIAN_PACKAGES.get(library)
    if package:
        return f"{message} On Debian or Ubuntu: sudo apt install {package}"
    return f"{message} Install the package of your system that provides it."
