"""What the bundle's entry point fixes in its environment (ember.bundle.prepare_frozen_environment)
and how ``make package`` builds the bundle's llama.cpp (the Makefile's portable block).

matplotlib's config folder: PyInstaller's own hook would give every process a new temporary one,
so each would list the system's fonts again before its first formula. These tests run matplotlib
for real in child processes with the folder Ember chooses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ember
from ember.bundle import (
    MATPLOTLIB_FOLDER,
    SAVED_QT_PLUGIN_PATH,
    matplotlib_config_dir,
    prepare_frozen_environment,
    qt_plugin_path,
    restore_qt_plugin_path,
)

ROOT = Path(__file__).resolve().parents[2]
DESKTOP = Path(ember.__file__).resolve().parents[1]

# A child that fixes its environment as the frozen entry does, then draws a formula; it prints
# whether matplotlib had to build its font list.
DRAW_A_FORMULA = """
import io, logging, os, sys
from ember.bundle import matplotlib_config_dir
matplotlib_config_dir(os.environ)
records = []
handler = logging.Handler()
handler.emit = records.append
logging.getLogger("matplotlib.font_manager").addHandler(handler)
logging.getLogger("matplotlib.font_manager").setLevel(logging.INFO)
import matplotlib
matplotlib.use("Agg")
from matplotlib.mathtext import math_to_image
png = io.BytesIO()
math_to_image(r"$\\frac{a}{b} + \\sqrt{x}$", png, format="png", dpi=100)
assert png.getvalue().startswith(b"\\x89PNG")
built = any("generated new fontManager" in r.getMessage() for r in records)
print(os.environ["MPLCONFIGDIR"], "built" if built else "reused")
"""


def test_matplotlib_settles_in_embers_cache_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBER_HOME", os.fspath(tmp_path))
    environ: dict[str, str] = {}
    matplotlib_config_dir(environ)
    assert environ == {"MPLCONFIGDIR": os.fspath(tmp_path.resolve() / "cache" / MATPLOTLIB_FOLDER)}


def test_a_config_folder_the_person_chose_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBER_HOME", os.fspath(tmp_path))
    environ = {"MPLCONFIGDIR": "/home/a/.config/mpl"}
    matplotlib_config_dir(environ)
    assert environ == {"MPLCONFIGDIR": "/home/a/.config/mpl"}


def test_the_frozen_environment_gets_both_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBER_HOME", os.fspath(tmp_path))
    environ = {"LD_LIBRARY_PATH": "/opt/ember/_internal", "LD_LIBRARY_PATH_ORIG": "/usr/lib/x"}
    prepare_frozen_environment(environ, Path("/opt/ember/_internal"))
    assert environ == {
        "LD_LIBRARY_PATH": "/usr/lib/x",
        "MPLCONFIGDIR": os.fspath(tmp_path.resolve() / "cache" / MATPLOTLIB_FOLDER),
        "QT_PLUGIN_PATH": "/opt/ember/_internal/PySide6/Qt/plugins",
    }


BUNDLED_PLUGINS = "/opt/ember/_internal/PySide6/Qt/plugins"


def test_the_persons_qt_plugin_path_waits_while_the_bundles_is_read() -> None:
    environ = {"QT_PLUGIN_PATH": "/home/a/qt-plugins"}
    qt_plugin_path(environ, Path("/opt/ember/_internal"))
    assert environ == {
        "QT_PLUGIN_PATH": BUNDLED_PLUGINS,
        SAVED_QT_PLUGIN_PATH: "/home/a/qt-plugins",
    }
    restore_qt_plugin_path(environ, Path("/opt/ember/_internal"))
    assert environ == {"QT_PLUGIN_PATH": "/home/a/qt-plugins"}
    restore_qt_plugin_path(environ, Path("/opt/ember/_internal"))  # a second call changes nothing
    assert environ == {"QT_PLUGIN_PATH": "/home/a/qt-plugins"}


def test_an_ember_child_does_not_save_the_bundles_plugin_path_as_the_persons() -> None:
    # A child of Ember's command line inherits the bundle's value (no QApplication restored it).
    environ = {"QT_PLUGIN_PATH": BUNDLED_PLUGINS}
    qt_plugin_path(environ, Path("/opt/ember/_internal"))
    restore_qt_plugin_path(environ, Path("/opt/ember/_internal"))
    assert environ == {}


# A pretend bundle (sys.frozen, sys._MEIPASS) starts its QApplication as the window does, then
# starts a program as xdg-open would be started: prints whether Qt kept the bundle's plugin folder,
# then the program's QT_PLUGIN_PATH.
START_QT_IN_A_BUNDLE = """
import os, subprocess, sys
from pathlib import Path
root = Path(sys.argv[1])
sys.frozen, sys._MEIPASS = True, str(root)
from ember.bundle import prepare_frozen_environment
prepare_frozen_environment(os.environ, root)
from ember.ui.app import create_application
create_application()
from PySide6.QtCore import QCoreApplication
print(str(root / "PySide6" / "Qt" / "plugins") in QCoreApplication.libraryPaths())
shell = subprocess.run(["sh", "-c", 'echo "${QT_PLUGIN_PATH-unset}"'], capture_output=True, text=True)
print(shell.stdout.strip())
"""


@pytest.mark.parametrize(
    ("persons", "program_gets"), [(None, "unset"), ("/home/a/qt", "/home/a/qt")]
)
def test_programs_ember_opens_do_not_get_the_bundles_qt_plugins(
    tmp_path: Path, persons: str | None, program_gets: str
) -> None:
    root = tmp_path / "_internal"
    (root / "PySide6" / "Qt" / "plugins").mkdir(parents=True)  # Qt lists only folders that exist
    env = {k: v for k, v in os.environ.items() if k != "QT_PLUGIN_PATH"}
    env.update(EMBER_HOME=os.fspath(tmp_path), PYTHONPATH=os.fspath(DESKTOP))
    env["QT_QPA_PLATFORM"] = "offscreen"
    if persons is not None:
        env["QT_PLUGIN_PATH"] = persons
    done = subprocess.run(
        [sys.executable, "-c", START_QT_IN_A_BUNDLE, os.fspath(root)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", program_gets]


def test_the_font_list_is_built_once_for_every_later_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MPLCONFIGDIR"}
    env.update(EMBER_HOME=os.fspath(tmp_path), PYTHONPATH=os.fspath(DESKTOP))

    def draw() -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", DRAW_A_FORMULA],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    folder = os.fspath(tmp_path.resolve() / "cache" / MATPLOTLIB_FOLDER)
    assert draw() == [folder, "built"]
    assert any(Path(folder).glob("fontlist-*.json"))
    assert draw() == [folder, "reused"]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_the_bundles_llama_cpp_is_built_for_a_fixed_cpu_baseline(tmp_path: Path) -> None:
    # make -n prints the recipe without running it; the setup stamp is taken as made.
    stamp = f"{tmp_path}/.ember-setup-stamp"
    venv, home = f"VENV={tmp_path}", f"HOME={tmp_path}"
    done = subprocess.run(
        ["make", "-n", "-C", os.fspath(ROOT), "-o", stamp, "llama-portable", venv, home],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    wheel = next(line for line in done.stdout.splitlines() if "CMAKE_ARGS=" in line)
    for flag in ("NATIVE=OFF", "AVX=ON", "AVX2=ON", "FMA=ON", "F16C=ON", "BMI2=ON"):
        assert f"-DGGML_{flag}" in wheel
    for flag in ("AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16", "AVX_VNNI", "AMX_TILE"):
        assert f"-DGGML_{flag}=OFF" in wheel
    assert "-DLLAVA_BUILD=OFF" in wheel  # the venv's lean flags too
    assert "llama-cpp-python-0.3.36-portable-" in done.stdout  # its own wheel cache
    assert "--target build/llama-portable" in done.stdout  # not into the venv
