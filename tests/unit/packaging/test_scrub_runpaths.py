"""packaging/linux/scrub-runpaths.sh: a bundle's libraries keep only their ``$ORIGIN`` RUNPATH
entries, and ``make package`` scrubs the bundle before it packs the tarball. Needs patchelf."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRUB = REPO / "packaging" / "linux" / "scrub-runpaths.sh"

needs_patchelf = pytest.mark.skipif(shutil.which("patchelf") is None, reason="needs patchelf")


def _rpath(lib: Path) -> str:
    return subprocess.run(
        ["patchelf", "--print-rpath", str(lib)], capture_output=True, text=True, check=True
    ).stdout.strip()


@needs_patchelf
def test_runpaths_outside_the_bundle_are_removed_and_a_second_run_changes_nothing(
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "my bundle"  # a space in the path
    (bundle / "_internal").mkdir(parents=True)
    foreign = bundle / "_internal" / "libforeign.so.1"
    mixed = bundle / "_internal" / "libmixed.so"
    for lib in (foreign, mixed):
        shutil.copy(shutil.which("patchelf"), lib)  # any dynamic ELF file
    subprocess.run(["patchelf", "--set-rpath", "/root/.pyenv/lib", str(foreign)], check=True)
    subprocess.run(
        ["patchelf", "--set-rpath", "/usr/local/lib64:$ORIGIN/../x.libs", str(mixed)], check=True
    )
    (bundle / "_internal" / "notes.so.txt").write_text("not an ELF file", encoding="utf-8")

    first = subprocess.run(
        ["bash", str(SCRUB), str(bundle)], capture_output=True, text=True, check=False
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "2 RUNPATHs reduced to their $ORIGIN entries"
    assert _rpath(foreign) == ""
    assert _rpath(mixed) == "$ORIGIN/../x.libs"
    again = subprocess.run(
        ["bash", str(SCRUB), str(bundle)], capture_output=True, text=True, check=False
    )
    assert again.stdout.strip() == "0 RUNPATHs reduced to their $ORIGIN entries"


def test_usage_error_without_a_folder(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", str(SCRUB), str(tmp_path / "missing")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "usage:" in done.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_package_scrubs_the_bundle_before_the_tarball(tmp_path: Path) -> None:
    # make -n prints the recipe without running it; setup and llama-portable are taken as made.
    stamp = f"{tmp_path}/.ember-setup-stamp"
    made = ["-o", stamp, "-o", "llama-portable", f"VENV={tmp_path}", f"HOME={tmp_path}"]
    done = subprocess.run(
        ["make", "-n", "-C", os.fspath(REPO), *made, "package"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    scrub = next(i for i, line in enumerate(lines) if "scrub-runpaths.sh dist/ember" in line)
    tar = next(i for i, line in enumerate(lines) if line.startswith("tar -C dist"))
    assert scrub < tar
