"""Which of PyInstaller's collected libraries come from the build host's system library folders.

PyInstaller's dependency analysis copies every shared library a collected binary needs from
wherever the build host's loader finds it: for Qt alone fontconfig, FreeType, GLib, D-Bus, X11,
xcb and xkbcommon from ``/lib/x86_64-linux-gnu``, and for a plugin the spec drops afterwards (Qt's
GTK 3 theme) a whole GTK stack. Those libraries belong to the system Ember runs on, not to the
bundle: the .deb's Depends names their Debian packages (``linux/deb_depends.py`` maps every
library the bundle lacks through the host's dpkg). A bundled copy is dead weight, and can disagree
with the system it runs on (a bundled fontconfig cannot read a newer system's ``fonts.conf``).

What stays: the libraries Python packages bring (a wheel's own files and its ``.libs`` folder),
llama.cpp's portable build, the build Python's ``libpython`` and its extension modules (kind
``EXTENSION``: Python modules, loaded by path, never from the system). Libraries under
``/usr/local`` stay too: no Debian package installs them, so no Depends could bring them.

Used by ``ember.spec`` after ``Analysis``; plain tuples in, no PyInstaller import.
"""

from __future__ import annotations

import os
from pathlib import Path

# The folders Debian's packages install shared libraries into (with their multiarch subfolders,
# e.g. /usr/lib/x86_64-linux-gnu); /lib and /lib64 are links into /usr on a merged-/usr system.
SYSTEM_LIBRARY_DIRS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64")

# Bundled even from a system folder, by name prefix:
#   libpython3 - PyInstaller's bootloader loads libpython from _internal/ by path, never through
#                the loader's search (a Python installed by the system package manager has it in
#                /usr/lib), and the bundle's standard library must match it exactly.
KEEP = ("libpython3",)

# A TOC entry: (name in the bundle, source path or a SYMLINK's target, kind).
Entry = tuple[str, str, str]


def in_system_dir(source: str, system_dirs: tuple[str, ...] = SYSTEM_LIBRARY_DIRS) -> bool:
    """Whether ``source`` (as given, or with its links resolved) lies under one of
    ``system_dirs``."""
    candidates = {Path(os.path.abspath(source)), Path(source).resolve()}
    return any(
        path.is_relative_to(folder) for path in candidates for folder in map(Path, system_dirs)
    )


def split_host_libraries(
    binaries: list[Entry],
    system_dirs: tuple[str, ...] = SYSTEM_LIBRARY_DIRS,
    keep: tuple[str, ...] = KEEP,
) -> tuple[list[Entry], list[Entry]]:
    """``(kept, dropped)``: ``dropped`` holds the ``BINARY`` entries whose source lies in
    ``system_dirs`` (unless their bundle name starts with one of ``keep``); a ``SYMLINK`` entry
    to a dropped library is dropped too. ``kept`` is every other entry, in the given order."""
    dropped = [
        entry
        for entry in binaries
        if entry[2] == "BINARY"
        and in_system_dir(entry[1], system_dirs)
        and not Path(entry[0]).name.startswith(keep)
    ]
    gone = {_bundle_path(entry[0]) for entry in dropped}
    dropped_set = set(dropped)
    kept = [
        entry
        for entry in binaries
        if entry not in dropped_set and not (entry[2] == "SYMLINK" and _link_target(entry) in gone)
    ]
    return kept, dropped


def local_libraries(binaries: list[Entry]) -> list[Entry]:
    """The ``BINARY`` entries from ``/usr/local`` (bundled: no Debian package installs them)."""
    return [e for e in binaries if e[2] == "BINARY" and in_system_dir(e[1], ("/usr/local",))]


def report(dropped: list[Entry]) -> str:
    """One paragraph for the build log: how many libraries were left out, their total size
    (MB = 10^6 bytes) and their names."""
    size = sum(os.path.getsize(source) for _name, source, _kind in dropped)
    names = ", ".join(sorted(Path(name).name for name, _source, _kind in dropped))
    return (
        f"ember.spec: {len(dropped)} libraries from the build host's system folders left out "
        f"({size / 1e6:.1f} MB; the .deb's Depends names their packages): {names or 'none'}"
    )


def _bundle_path(name: str) -> str:
    return os.path.normpath(name).replace(os.sep, "/")


def _link_target(entry: Entry) -> str:
    # A SYMLINK entry's source is its target, relative to the link's folder in the bundle.
    name, target, _kind = entry
    return _bundle_path(os.path.join(os.path.dirname(name), target))
