"""Ember as a frozen one-folder bundle (PyInstaller): where the bundle is, and what it ships.

``make package`` freezes Ember with ``packaging/ember.spec``. In the bundle there is no pip, no
torch and no writable package folder, so the parts the venv makes on first use are made at build
time and shipped inside: the embedder's ONNX export (fp32 and int8, made from the packaged MiniLM
weights by :mod:`ember.knowledge.onnx_export` in the build venv) lies in ``<bundle>/embedder/``;
the weights themselves (``model.safetensors``) are not shipped, only the tokenizer and configs.

Outside a bundle every function here says so (``None`` / ``False``) and Ember runs as before.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ember.errors import ModelLoadError

# Where the spec puts the embedder's exports, relative to the bundle's data folder.
EMBEDDER_FOLDER = "embedder"
EMBEDDER_STEM = "all-MiniLM-L6-v2"


def bundle_dir() -> Path | None:
    """The bundle's data folder (PyInstaller's ``_internal/``, ``sys._MEIPASS``); ``None`` when
    Ember runs from a venv or a source checkout."""
    if getattr(sys, "frozen", False) and hasattr(sys, "_MEIPASS"):
        return Path(sys._MEIPASS)
    return None


def is_bundled() -> bool:
    """Whether Ember runs from a frozen bundle."""
    return bundle_dir() is not None


def embedder_export_name(precision: str) -> str:
    """The file name of the shipped export for ``precision`` (``fp32`` or ``int8``)."""
    return f"{EMBEDDER_STEM}-{precision}.onnx"


def embedder_export(precision: str = "fp32") -> Path:
    """The embedder's ONNX export shipped in the bundle, for ``precision``.

    Only in a bundle (raises ``RuntimeError`` otherwise). Raises :class:`ModelLoadError` when the
    file is missing: a bundle never exports (that needs torch), it is reinstalled.
    """
    root = bundle_dir()
    if root is None:
        raise RuntimeError("not a bundle: the embedder's export is made and cached on first use")
    path = root / EMBEDDER_FOLDER / embedder_export_name(precision)
    if not path.is_file():
        raise ModelLoadError(
            f"The embedding model's ONNX file for {precision} is missing from this Ember bundle "
            f"({path}). Reinstall Ember to restore it."
        )
    return path


# -- ``<ember> -m MODULE ARGS...``: the bundle's executable standing in for ``python -m`` --------


class ModuleRefused(ValueError):
    """``-m`` named a module that is not Ember's own: the bundle runs no other code."""


def module_invocation(argv: list[str]) -> tuple[str, list[str]] | None:
    """``(module, args)`` when ``argv`` is ``[exe, "-m", MODULE, ARGS...]``, else ``None``.

    Ember's child processes (:class:`ember.ipc.ChildProcess`, the ONNX export) run
    ``[sys.executable, "-m", MODULE, ...]``; in a bundle ``sys.executable`` is Ember itself, so
    its entry point runs MODULE instead of the command line. Only ``ember`` and ``ember.*``:
    anything else raises :class:`ModuleRefused`, as does ``-m`` with no module.
    """
    if len(argv) < 2 or argv[1] != "-m":
        return None
    if len(argv) < 3 or not argv[2]:
        raise ModuleRefused("-m needs a module name (ember.*)")
    module = argv[2]
    if module != "ember" and not module.startswith("ember."):
        raise ModuleRefused(
            f"this Ember bundle runs only its own modules with -m (ember.*), not {module!r}"
        )
    return module, list(argv[3:])


def run_module(module: str, args: list[str]) -> None:
    """Run ``module`` as ``__main__`` with ``args`` as its command line, as ``python -m`` does.

    Its ``SystemExit`` propagates; an unknown module raises ``ImportError``.
    """
    import runpy

    sys.argv = [sys.argv[0], *args]  # runpy puts the module's file in sys.argv[0]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def restore_library_path(environ: dict[str, str] | os._Environ[str]) -> None:
    """Give ``environ`` back the ``LD_LIBRARY_PATH`` Ember was started with.

    The bundle's launcher points ``LD_LIBRARY_PATH`` at its own folder for this process (the
    loader has read it by the time Python runs) and saves the person's value, if any, in
    ``LD_LIBRARY_PATH_ORIG``. Left in the environment, it would make every program Ember starts
    (an MCP server, a file's viewer) load the bundle's libraries instead of the system's. Ember's
    own child processes are the bundle's launcher again, which sets it anew.
    """
    original = environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is not None:
        environ["LD_LIBRARY_PATH"] = original
    else:
        environ.pop("LD_LIBRARY_PATH", None)


# -- the frozen process's environment -------------------------------------------------------------

# matplotlib's settings and font-list cache, under Ember's cache folder (ember.paths).
MATPLOTLIB_FOLDER = "matplotlib"


def matplotlib_config_dir(environ: dict[str, str] | os._Environ[str]) -> None:
    """Point ``MPLCONFIGDIR`` at ``<cache>/matplotlib`` in ``environ``, unless the person set it.

    matplotlib lists the system's fonts once per config folder (about a second) before it draws
    its first formula (ember.ui.markdown_math). PyInstaller's own hook would give every process a
    new temporary folder, so every process would list them again; the spec drops that hook and the
    frozen entry calls this instead. ``<cache>`` honours ``EMBER_HOME``; matplotlib creates the
    folder on first use.
    """
    if environ.get("MPLCONFIGDIR"):
        return
    from ember.paths import ember_paths

    environ["MPLCONFIGDIR"] = os.fspath(ember_paths().cache_dir / MATPLOTLIB_FOLDER)


# Where :func:`qt_plugin_path` keeps the person's own ``QT_PLUGIN_PATH`` while Ember's Qt starts.
SAVED_QT_PLUGIN_PATH = "EMBER_QT_PLUGIN_PATH_ORIG"


def _bundled_plugins(root: Path) -> str:
    return os.fspath(root / "PySide6" / "Qt" / "plugins")


def qt_plugin_path(environ: dict[str, str] | os._Environ[str], root: Path) -> None:
    """Point ``QT_PLUGIN_PATH`` at the bundle's Qt plugins (``root``: :func:`bundle_dir`).

    What PyInstaller's PySide6 hook sets, without the rest of that hook: it imports
    ``PySide6.QtCore`` in every process (to register a ``qt.conf`` that PySide6's own wheel
    already embeds), which cost every command line and child process the Qt libraries' load.
    The person's own value, if any, waits in ``EMBER_QT_PLUGIN_PATH_ORIG`` until
    :func:`restore_qt_plugin_path` puts it back.
    """
    ours = _bundled_plugins(root)
    current = environ.get("QT_PLUGIN_PATH")
    if current is not None and current != ours:  # equal: inherited from Ember's own process
        environ[SAVED_QT_PLUGIN_PATH] = current
    environ["QT_PLUGIN_PATH"] = ours


def restore_qt_plugin_path(environ: dict[str, str] | os._Environ[str], root: Path) -> None:
    """Give ``environ`` back the ``QT_PLUGIN_PATH`` Ember was started with, once Qt has read
    the bundle's (the QApplication exists; Qt computes its plugin folders once).

    Left in the environment, it would make every program Ember opens (``xdg-open`` and the
    file's viewer it starts, often a Qt program of the system's) load the bundle's Qt plugins,
    which pull in the bundle's Qt libraries beside the system's. Does nothing when
    ``QT_PLUGIN_PATH`` is not the bundle's (already restored).
    """
    if environ.get("QT_PLUGIN_PATH") != _bundled_plugins(root):
        return
    original = environ.pop(SAVED_QT_PLUGIN_PATH, None)
    if original is not None:
        environ["QT_PLUGIN_PATH"] = original
    else:
        environ.pop("QT_PLUGIN_PATH", None)


def prepare_frozen_environment(environ: dict[str, str] | os._Environ[str], root: Path) -> None:
    """What the bundle's entry point fixes in its environment before Ember runs (``root``: the
    bundle's data folder): :func:`restore_library_path`, :func:`matplotlib_config_dir` and
    :func:`qt_plugin_path`."""
    restore_library_path(environ)
    matplotlib_config_dir(environ)
    qt_plugin_path(environ, root)
