"""packaging/collect_licenses.py: a bundle's files and archive modules are traced to the venv's
installed distributions (and Python itself), their licence texts land in
_internal/licenses/ with an index, and a bundled distribution with no licence fails the build."""

from __future__ import annotations

import csv
import importlib.metadata as metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "packaging" / "collect_licenses.py"
COMMON_LICENSES = Path("/usr/share/common-licenses")


def _collect(bundle: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    extra = [arg for path in paths for arg in ("--path", str(path))]
    return subprocess.run(
        [sys.executable, str(SCRIPT), *extra, str(bundle)],
        capture_output=True,
        text=True,
        check=False,
        cwd=bundle.parent,
    )


def _index(bundle: Path) -> dict[str, dict[str, str]]:
    with open(bundle / "_internal" / "licenses" / "index.tsv", newline="") as handle:
        return {row["component"]: row for row in csv.DictReader(handle, delimiter="\t")}


def _installed(distribution: str, suffix: str) -> Path:
    """A real file of an installed distribution, as (site-packages-relative) path."""
    files = metadata.distribution(distribution).files or []
    return Path(next(str(f) for f in files if str(f).endswith(suffix)))


def _put(bundle: Path, relative: Path | str, source: Path | None = None) -> None:
    target = bundle / "_internal" / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if source is None:
        target.write_bytes(b"bundled\n")
    else:
        shutil.copyfile(source, target)


def _fake_distribution(site: Path, name: str, metadata_lines: list[str]) -> None:
    """An installed distribution `name` 1.0 whose RECORD lists `name/data.bin`."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "\n".join(["Metadata-Version: 2.4", f"Name: {name}", "Version: 1.0", *metadata_lines])
        + "\n"
    )
    (info / "RECORD").write_text(
        f"{name}/data.bin,,\n{name}-1.0.dist-info/METADATA,,\n{name}-1.0.dist-info/RECORD,,\n"
    )


def test_bundled_files_are_traced_to_their_distributions_and_their_licences_copied(
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "ember"
    _put(bundle, _installed("platformdirs", "py.typed"))  # platformdirs/py.typed
    numpy_module = _installed("numpy", "_multiarray_umath.cpython-311-x86_64-linux-gnu.so")
    _put(bundle, numpy_module)
    _put(bundle, "python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so")

    result = _collect(bundle)

    assert result.returncode == 0, result.stderr
    index = _index(bundle)
    assert set(index) == {"platformdirs", "numpy", "Python"}
    licenses = bundle / "_internal" / "licenses"
    platformdirs = index["platformdirs"]
    assert platformdirs["licence"] == "MIT"
    assert platformdirs["files"] == f"platformdirs-{metadata.version('platformdirs')}/LICENSE"
    assert "Permission is hereby granted" in (licenses / platformdirs["files"]).read_text()
    numpy_files = index["numpy"]["files"].split(", ")
    folder = f"numpy-{metadata.version('numpy')}"
    assert f"{folder}/LICENSE.txt" in numpy_files
    # numpy's vendored code keeps its own licence (libdivide's zlib licence).
    assert f"{folder}/numpy/_core/include/numpy/libdivide/LICENSE.txt" in numpy_files
    assert all((licenses / path).is_file() for path in numpy_files)
    assert index["Python"]["licence"] == "PSF-2.0"
    assert "PYTHON SOFTWARE FOUNDATION LICENSE" in (licenses / index["Python"]["files"]).read_text()
    assert "3 components" in result.stdout
    assert "index.tsv" in (licenses / "README").read_text()


def test_modules_in_the_executables_archive_count_as_bundled(tmp_path: Path) -> None:
    writers = pytest.importorskip("PyInstaller.archive.writers")
    bundle = tmp_path / "ember"
    (bundle / "_internal").mkdir(parents=True)
    code = {name: compile("x = 1\n", name, "exec") for name in ("platformdirs.api", "json")}
    pyz = tmp_path / "PYZ.pyz"
    writers.ZlibArchiveWriter(str(pyz), [(n, "-", "PYMODULE") for n in code], code_dict=code)
    entry = tmp_path / "frozen_main.py"
    entry.write_text("print(1)\n")
    writers.CArchiveWriter(
        str(bundle / "ember"),
        [("PYZ.pyz", str(pyz), False, "z"), ("frozen_main", str(entry), True, "s")],
        "libpython3.11.so.1.0",
    )

    result = _collect(bundle)

    assert result.returncode == 0, result.stderr
    index = _index(bundle)
    # platformdirs from the PYZ, json makes Python, the executable is PyInstaller's bootloader,
    # frozen_main is Ember's entry point.
    assert {"platformdirs", "Python", "pyinstaller", "ember"} <= set(index)
    assert index["pyinstaller"]["files"] != "-"


def test_a_file_named_like_a_distributions_library_but_different_is_not_credited_to_it(
    tmp_path: Path,
) -> None:
    """A top-level library counts for a distribution of another path only when its bytes match
    (the host's libgomp.so.1 is not torch's libgomp.so.1)."""
    openblas = _installed("numpy", ".so")  # numpy.libs/libscipy_openblas64_-<hash>.so
    assert openblas.parts[0] == "numpy.libs"
    real = tmp_path / "real"
    _put(real, openblas.name, Path(metadata.distribution("numpy").locate_file(openblas)))
    other = tmp_path / "other"
    _put(other, openblas.name)

    assert _collect(real).returncode == 0
    assert _collect(other).returncode == 0

    assert "numpy" in _index(real)
    assert "numpy" not in _index(other)
    assert openblas.name in (other / "_internal" / "licenses" / "README").read_text()


def test_a_bundled_distribution_without_any_licence_fails_the_build(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _fake_distribution(site, "nolicence", [])
    bundle = tmp_path / "ember"
    _put(bundle, "nolicence/data.bin")

    result = _collect(bundle, site)

    assert result.returncode == 1
    assert "no licence file and no licence expression for bundled nolicence-1.0" in result.stderr
    assert not (bundle / "_internal" / "licenses").exists()


@pytest.mark.skipif(not (COMMON_LICENSES / "LGPL-3").is_file(), reason="no common-licenses")
def test_an_expression_without_a_text_gets_the_common_licence_texts_it_names(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"
    _fake_distribution(site, "qtlike", ["License: LGPL-3.0-only OR GPL-3.0-only"])
    bundle = tmp_path / "ember"
    _put(bundle, "qtlike/data.bin")

    result = _collect(bundle, site)

    assert result.returncode == 0, result.stderr
    row = _index(bundle)["qtlike"]
    assert row["licence"] == "LGPL-3.0-only OR GPL-3.0-only"
    assert row["files"] == "qtlike-1.0/common-licenses/LGPL-3, qtlike-1.0/common-licenses/GPL-3"
    copied = bundle / "_internal" / "licenses" / "qtlike-1.0" / "common-licenses" / "LGPL-3"
    assert copied.read_bytes() == (COMMON_LICENSES / "LGPL-3").read_bytes()


def test_a_latin1_licence_text_is_written_as_utf8(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _fake_distribution(site, "oldtext", ["License-Expression: FTL"])
    info = site / "oldtext-1.0.dist-info"
    (info / "LICENSE.txt").write_bytes("Copyright \u00a9 David Turner\n".encode("latin-1"))
    with open(info / "RECORD", "a") as record:
        record.write("oldtext-1.0.dist-info/LICENSE.txt,,\n")
    bundle = tmp_path / "ember"
    _put(bundle, "oldtext/data.bin")

    result = _collect(bundle, site)

    assert result.returncode == 0, result.stderr
    written = bundle / "_internal" / "licenses" / "oldtext-1.0" / "LICENSE.txt"
    assert written.read_text(encoding="utf-8") == "Copyright \u00a9 David Turner\n"
