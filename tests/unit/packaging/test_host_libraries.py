"""packaging/host_libraries.py: ember.spec leaves out every library PyInstaller copied from the
build host's system folders (and the links to them), keeps libpython, Python's extension modules,
the wheels' libraries and /usr/local's, and says in the build log what it left out.

Real files in tmp_path stand in for the host's folders and the venv; the default folders are
checked on paths of this host."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location(
    "host_libraries", REPO / "packaging" / "host_libraries.py"
)
assert _spec is not None and _spec.loader is not None
host_libraries = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(host_libraries)


def _file(path: Path, size: int) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x7fELF" + b"\0" * (size - 4))
    return str(path)


def test_system_libraries_and_links_to_them_are_dropped_the_rest_is_kept(tmp_path: Path) -> None:
    system = tmp_path / "usr" / "lib"
    multiarch = system / "x86_64-linux-gnu"
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    fontconfig = _file(multiarch / "libfontconfig.so.1", 3000)
    glib = _file(multiarch / "libglib-2.0.so.0", 1000)
    # Found through a link outside the system folder: its resolved path decides.
    alias = tmp_path / "opt" / "libs" / "libgomp.so.1"
    alias.parent.mkdir(parents=True)
    alias.symlink_to(_file(multiarch / "libgomp.so.1.0.0", 500))
    python = _file(multiarch / "libpython3.11.so.1.0", 100)
    sqlite_module = _file(system / "python3.11" / "lib-dynload" / "_sqlite3.so", 100)
    qt = _file(site / "PySide6" / "Qt" / "lib" / "libQt6Gui.so.6", 100)
    wheel_lib = _file(site / "pillow.libs" / "libxcb-9065bb12.so.1.1.0", 100)
    binaries = [
        ("libfontconfig.so.1", fontconfig, "BINARY"),
        ("PySide6/Qt/lib/libQt6Gui.so.6", qt, "BINARY"),
        ("libQt6Gui.so.6", "PySide6/Qt/lib/libQt6Gui.so.6", "SYMLINK"),
        ("libglib-2.0.so.0", glib, "BINARY"),
        ("glib/libglib-2.0.so.0", "../libglib-2.0.so.0", "SYMLINK"),
        ("libgomp.so.1", str(alias), "BINARY"),
        ("libpython3.11.so.1.0", python, "BINARY"),
        ("python3.11/lib-dynload/_sqlite3.so", sqlite_module, "EXTENSION"),
        ("pillow.libs/libxcb-9065bb12.so.1.1.0", wheel_lib, "BINARY"),
        ("libxcb-9065bb12.so.1.1.0", "pillow.libs/libxcb-9065bb12.so.1.1.0", "SYMLINK"),
    ]

    kept, dropped = host_libraries.split_host_libraries(binaries, system_dirs=(str(system),))

    assert [name for name, _source, _kind in dropped] == [
        "libfontconfig.so.1",
        "libglib-2.0.so.0",
        "libgomp.so.1",
    ]
    assert [name for name, _source, _kind in kept] == [
        "PySide6/Qt/lib/libQt6Gui.so.6",
        "libQt6Gui.so.6",
        "libpython3.11.so.1.0",
        "python3.11/lib-dynload/_sqlite3.so",
        "pillow.libs/libxcb-9065bb12.so.1.1.0",
        "libxcb-9065bb12.so.1.1.0",
    ]
    assert host_libraries.report(dropped) == (
        "ember.spec: 3 libraries from the build host's system folders left out (0.0 MB; the "
        ".deb's Depends names their packages): libfontconfig.so.1, libglib-2.0.so.0, "
        "libgomp.so.1"
    )


def test_the_default_folders_are_debians_library_folders_not_usr_local() -> None:
    inside = host_libraries.in_system_dir
    assert inside("/lib/x86_64-linux-gnu/libfontconfig.so.1")
    assert inside("/usr/lib/x86_64-linux-gnu/libstdc++.so.6")
    assert inside("/lib64/ld-linux-x86-64.so.2")
    assert inside("/usr/lib64/libz.so.1")
    assert not inside("/usr/local/lib/libonnx.so")
    assert not inside("/usr/libexec/libfoo.so")  # a folder name that merely starts alike
    assert not inside("/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0")
    assert not inside("/work/main/.venv/lib/python3.11/site-packages/faiss/libfaiss.so")


def test_usr_local_libraries_are_kept_and_named(tmp_path: Path) -> None:
    binaries = [
        ("libonnx.so", "/usr/local/lib/libonnx.so", "BINARY"),
        ("libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1", "BINARY"),
    ]
    kept, _dropped = host_libraries.split_host_libraries(binaries)
    assert host_libraries.local_libraries(kept) == [binaries[0]]


def test_nothing_to_drop_is_reported_as_none() -> None:
    assert host_libraries.report([]).endswith(
        "left out (0.0 MB; the .deb's Depends names their packages): none"
    )
