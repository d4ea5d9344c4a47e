"""packaging/linux/build-deb.sh on a stand-in bundle: where the files land, the control fields,
Depends derived from the bundle's ELF files, and the desktop entry, MIME and AppStream files.

The stand-in bundle is an ``ember`` shell script plus a copy of the host's ``dpkg-deb`` (a real ELF
file needing libc, zlib, liblzma, ...), with or without liblzma beside it. Needs Debian's dpkg-deb,
dpkg-shlibdeps and readelf (skipped elsewhere); no network.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BUILD_DEB = REPO / "packaging" / "linux" / "build-deb.sh"
TOOLS = ("dpkg-deb", "dpkg-shlibdeps", "dpkg", "readelf", "ldconfig")

pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in TOOLS), reason="needs Debian's dpkg tools"
)


def _host_library(soname: str) -> Path:
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        match = re.match(rf"^\s+{re.escape(soname)} \(.*x86-64.*\) => (\S+)$", line)
        if match:
            return Path(match.group(1))
    pytest.skip(f"{soname} is not on this host")


def _stand_in(tmp_path: Path, *, with_lzma: bool) -> Path:
    bundle = tmp_path / "bundle"
    (bundle / "_internal").mkdir(parents=True)
    launcher = bundle / "ember"
    launcher.write_text('#!/bin/sh\necho "stand-in ember $*"\n', encoding="utf-8")
    launcher.chmod(0o755)
    shutil.copy(shutil.which("dpkg-deb"), bundle / "_internal" / "tool")
    if with_lzma:
        shutil.copy(_host_library("liblzma.so.5"), bundle / "_internal" / "liblzma.so.5")
    return bundle


def _build(tmp_path: Path, bundle: Path, **env: str) -> tuple[Path, str]:
    out = tmp_path / "out"
    environment = {**os.environ, "EMBER_MAINTAINER": "Test Maintainer <test@example.org>", **env}
    result = subprocess.run(
        ["sh", str(BUILD_DEB), str(bundle), "0.1.0", str(out)],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    deb = out / "ember_0.1.0_amd64.deb"
    assert deb.is_file()
    return deb, result.stdout + result.stderr


def _field(deb: Path, name: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """The .deb of a stand-in bundle that carries liblzma, extracted: (deb, tree, build log)."""
    tmp_path = tmp_path_factory.mktemp("deb")
    deb, log = _build(tmp_path, _stand_in(tmp_path, with_lzma=True))
    tree = tmp_path / "tree"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
    return deb, tree, log


def test_files_land_in_the_debian_layout_owned_by_root(built: tuple[Path, Path, str]) -> None:
    deb, _tree, _log = built
    listing = subprocess.run(
        ["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    entries = {line.split()[5].removeprefix("./"): line for line in listing}
    for path in (
        "opt/ember/ember",
        "opt/ember/_internal/tool",
        "usr/share/applications/ember.desktop",
        "usr/share/icons/hicolor/scalable/apps/ember.svg",
        "usr/share/metainfo/ember.metainfo.xml",
        "usr/share/mime/packages/ember.xml",
        "usr/share/man/man1/ember.1.gz",
        "usr/share/doc/ember/copyright",
        "usr/share/doc/ember/changelog.gz",
        "usr/share/lintian/overrides/ember",
    ):
        assert path in entries, path
    assert entries["opt/ember/ember"].startswith("-rwxr-xr-x root/root")
    assert "usr/bin/ember -> /opt/ember/ember" in entries["usr/bin/ember"]
    assert all(" root/root " in line for line in listing)
    if shutil.which("rsvg-convert"):
        assert "usr/share/icons/hicolor/48x48/apps/ember.png" in entries


def test_control_fields(built: tuple[Path, Path, str]) -> None:
    deb, _tree, _log = built
    assert _field(deb, "Package") == "ember"
    assert _field(deb, "Version") == "0.1.0"
    assert _field(deb, "Architecture") == "amd64"
    assert _field(deb, "Priority") == "optional"
    assert _field(deb, "Section") == "utils"
    assert _field(deb, "Maintainer") == "Test Maintainer <test@example.org>"
    assert int(_field(deb, "Installed-Size")) > 0
    assert _field(deb, "Description").startswith("local-first assistant")


def test_depends_come_from_the_bundles_elf_files(
    built: tuple[Path, Path, str], tmp_path: Path
) -> None:
    deb, _tree, log = built
    depends = _field(deb, "Depends")
    packages = {part.split()[0] for part in depends.split(", ")}
    # dpkg-deb needs libc, zlib and liblzma (and more); the bundle carries liblzma itself.
    assert {"libc6", "zlib1g"} <= packages
    assert "liblzma5" not in packages
    assert re.search(r"libz\.so\.1\s+zlib1g", log)  # the report names library -> package

    without, _ = _build(tmp_path, _stand_in(tmp_path, with_lzma=False))
    assert "liblzma5" in {part.split()[0] for part in _field(without, "Depends").split(", ")}


def test_desktop_entry_opens_embers_types(built: tuple[Path, Path, str]) -> None:
    _deb, tree, _log = built
    desktop = tree / "usr/share/applications/ember.desktop"
    text = desktop.read_text(encoding="utf-8")
    mime = re.search(r"^MimeType=(.*)$", text, re.M).group(1).split(";")
    for kind in (
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/epub+zip",
        "application/rtf",
        "message/rfc822",
        "application/mbox",
        "application/x-ipynb+json",
        "text/html",
        "text/markdown",
        "text/plain",
        "image/png",
        "image/jpeg",
        "image/tiff",
        "application/x-gguf",
    ):
        assert kind in mime, kind
    assert re.search(r"^Exec=ember %F$", text, re.M)
    assert re.search(r"^Icon=ember$", text, re.M)
    if shutil.which("desktop-file-validate"):
        result = subprocess.run(
            ["desktop-file-validate", str(desktop)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "error" not in result.stdout.lower()


def test_gguf_mime_type_by_magic_and_glob(built: tuple[Path, Path, str]) -> None:
    _deb, tree, _log = built
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    root = ET.parse(tree / "usr/share/mime/packages/ember.xml").getroot()
    gguf = root.find("m:mime-type[@type='application/x-gguf']", ns)
    assert gguf is not None
    assert gguf.find("m:glob", ns).get("pattern") == "*.gguf"
    match = gguf.find("m:magic/m:match", ns)
    assert (match.get("type"), match.get("value"), match.get("offset")) == ("string", "GGUF", "0")


def test_metainfo_matches_the_desktop_entry_and_shows_screenshots(
    built: tuple[Path, Path, str],
) -> None:
    _deb, tree, _log = built
    component = ET.parse(tree / "usr/share/metainfo/ember.metainfo.xml").getroot()
    assert component.get("type") == "desktop-application"
    assert component.findtext("id") == "ember"
    assert component.findtext("launchable") == "ember.desktop"
    assert component.find("releases/release").get("version") == "0.1.0"
    images = [image.text for image in component.iterfind("screenshots/screenshot/image")]
    assert images
    for image in images:
        if image.startswith("file://"):  # no published URL: they ship in the package
            assert image.startswith("file:///usr/share/ember/screenshots/")
            assert (tree / image.removeprefix("file:///")).is_file()
        else:  # raw files of a GitHub origin at the commit built
            assert re.match(r"https://\S+/docs/screenshots/[\w-]+\.png$", image), image
        assert (REPO / "docs/screenshots" / image.rsplit("/", 1)[1]).is_file()


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="needs appstreamcli")
def test_metainfo_with_published_screenshots_validates(tmp_path: Path) -> None:
    base = "https://example.org/ember/docs/screenshots"
    deb, _ = _build(tmp_path, _stand_in(tmp_path, with_lzma=True), EMBER_SCREENSHOT_URL=base)
    tree = tmp_path / "tree"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
    meta = tree / "usr/share/metainfo/ember.metainfo.xml"
    assert f"<image>{base}/sources-light.png</image>" in meta.read_text(encoding="utf-8")
    assert not (tree / "usr/share/ember/screenshots").exists()
    result = subprocess.run(
        ["appstreamcli", "validate", "--no-net", "--pedantic", str(meta)],
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line for line in result.stdout.splitlines() if line.startswith("E:")]
    assert errors == [], result.stdout


def test_usage_error_without_a_bundle(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(BUILD_DEB), str(tmp_path / "missing"), "0.1.0", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "usage:" in result.stderr


@pytest.mark.skipif(shutil.which("patchelf") is None, reason="needs patchelf")
def test_shared_libraries_lose_the_build_machines_runpath_and_exec_bit(tmp_path: Path) -> None:
    bundle = _stand_in(tmp_path, with_lzma=True)
    lib = bundle / "_internal" / "liblzma.so.5"
    subprocess.run(
        ["patchelf", "--set-rpath", "/root/.pyenv/versions/3.11.7/lib:$ORIGIN/sub", str(lib)],
        check=True,
    )
    lib.chmod(0o755)
    deb, log = _build(tmp_path, bundle)
    tree = tmp_path / "tree"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
    shipped = tree / "opt/ember/_internal/liblzma.so.5"
    rpath = subprocess.run(
        ["patchelf", "--print-rpath", str(shipped)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert rpath == "$ORIGIN/sub"
    assert shipped.stat().st_mode & 0o777 == 0o644
    assert (tree / "opt/ember/ember").stat().st_mode & 0o777 == 0o755
    assert "1 RUNPATHs reduced" in log


def test_no_file_in_the_package_is_group_or_world_writable_whatever_the_umask(
    tmp_path: Path,
) -> None:
    # A builder with umask 000 (or 002): files the script writes itself must not inherit it.
    bundle = _stand_in(tmp_path, with_lzma=True)
    out = tmp_path / "out"
    result = subprocess.run(
        ["sh", "-c", 'umask 000 && exec sh "$0" "$@"', str(BUILD_DEB), str(bundle), "0.1.0", out],
        capture_output=True,
        text=True,
        env={**os.environ, "EMBER_MAINTAINER": "Test Maintainer <test@example.org>"},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    listing = subprocess.run(
        ["dpkg-deb", "-c", str(out / "ember_0.1.0_amd64.deb")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    writable = [line for line in listing if not line.startswith("l") and line[5] + line[8] != "--"]
    assert writable == []
