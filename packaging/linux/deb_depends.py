#!/usr/bin/env python3
"""The Debian Depends of a self-contained bundle, derived from its ELF files.

Usage: deb_depends.py BUNDLE_DIR

Every ELF file in BUNDLE_DIR is read with ``readelf -d``; each NEEDED library is resolved
against the bundle first (any file or link of that name, or a bundled library's SONAME). What
the bundle lacks is a system library: found through the host's ``ldconfig -p`` and mapped to
its Debian package with ``dpkg -S``. The versioned Depends line comes from ``dpkg-shlibdeps``
run over the ELF files that need system libraries (the packages' own shlibs/symbols files give
the minimal versions). A library the host cannot resolve is reported; the files that need it
are left out of dpkg-shlibdeps, and their other libraries' packages are listed without a version.

Prints the report (library -> package, which bundle files need it) on stderr and the Depends
value (``libc6 (>= 2.34), libegl1, ...``) as the one line on stdout. Exits 1 when a system
library cannot be resolved and EMBER_DEB_STRICT=1, 2 on a usage error.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

BATCH = 200  # ELF files per readelf call


def elf_files(bundle: Path) -> tuple[list[Path], set[str]]:
    """The bundle's ELF files (regular files, not links) and every name a library can be
    found under in it (basenames of files and links)."""
    elves: list[Path] = []
    names: set[str] = set()
    for root, _dirs, files in os.walk(bundle):
        for name in files:
            path = Path(root, name)
            names.add(name)
            if path.is_symlink() or not path.is_file():
                continue
            with path.open("rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    elves.append(path)
    return elves, names


def dynamic_entries(files: list[Path]) -> dict[Path, tuple[list[str], str | None]]:
    """``{file: ([NEEDED...], SONAME or None)}`` from ``readelf -d``."""
    found: dict[Path, tuple[list[str], str | None]] = {}
    for start in range(0, len(files), BATCH):
        batch = files[start : start + BATCH]
        out = subprocess.run(
            ["readelf", "-d", "--wide", *map(str, batch)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        current = batch[0] if len(batch) == 1 else None
        for line in out.splitlines():
            header = re.match(r"^File: (.*)$", line)
            if header:
                current = Path(header.group(1))
                continue
            if current is None:
                continue
            needed = found.setdefault(current, ([], None))[0]
            tag = re.search(r"\((NEEDED|SONAME)\)\s+.*\[(.*)\]", line)
            if tag and tag.group(1) == "NEEDED":
                needed.append(tag.group(2))
            elif tag:
                found[current] = (needed, tag.group(2))
    return found


def ldconfig_paths() -> dict[str, str]:
    """``{soname: path}`` for the host's 64-bit x86 libraries."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    paths: dict[str, str] = {}
    for line in out.splitlines():
        match = re.match(r"^\s+(\S+) \((.*)\) => (\S+)$", line)
        if match and "x86-64" in match.group(2):
            paths.setdefault(match.group(1), match.group(3))
    return paths


def owning_package(path: str) -> str | None:
    """The Debian package that installed ``path`` (merged /usr tried both ways), or None."""
    candidates = [path, os.path.realpath(path)]
    for one in list(candidates):
        if one.startswith("/usr/lib/"):
            candidates.append(one[len("/usr") :])
        elif one.startswith("/lib/"):
            candidates.append("/usr" + one)
    for one in candidates:
        out = subprocess.run(["dpkg", "-S", one], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            return out.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def shlibdeps(files: list[Path], private_dirs: set[Path]) -> str:
    """The ``shlibs:Depends`` value dpkg-shlibdeps computes for ``files``."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "debian").mkdir()
        Path(tmp, "debian", "control").write_text(
            "Source: ember\n\nPackage: ember\nArchitecture: amd64\n", encoding="utf-8"
        )
        command = ["dpkg-shlibdeps", "-O", "--ignore-missing-info", "-xember"]
        command += [f"-l{d}" for d in sorted(private_dirs)]
        command += [str(f) for f in files]
        out = subprocess.run(command, cwd=tmp, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit("dpkg-shlibdeps failed")
    for line in out.stdout.splitlines():
        if line.startswith("shlibs:Depends="):
            return line.split("=", 1)[1].strip()
    return ""


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not Path(argv[1]).is_dir():
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    bundle = Path(argv[1]).resolve()
    elves, names = elf_files(bundle)
    entries = dynamic_entries(elves)
    provided = names | {soname for _needed, soname in entries.values() if soname}
    needers: dict[str, list[Path]] = defaultdict(list)
    for path, (needed, _soname) in entries.items():
        for lib in needed:
            if lib not in provided:
                needers[lib].append(path)
    host = ldconfig_paths()
    log = sys.stderr.write
    log(f"deb_depends: {len(elves)} ELF files in {bundle}, {len(needers)} system libraries\n")
    unresolved: dict[str, list[Path]] = {}
    packages: dict[str, str | None] = {}
    for lib in sorted(needers):
        path = host.get(lib)
        package = packages[lib] = owning_package(path) if path else None
        users = needers[lib]
        shown = ", ".join(str(p.relative_to(bundle)) for p in users[:2])
        more = f" (+{len(users) - 2} more)" if len(users) > 2 else ""
        log(f"  {lib:32} {package or 'UNRESOLVED':24} needed by {shown}{more}\n")
        if package is None:
            unresolved[lib] = users
    blocked = {p for users in unresolved.values() for p in users}
    scanned = sorted({p for users in needers.values() for p in users} - blocked)
    if unresolved:
        log(
            f"deb_depends: {len(unresolved)} system libraries not on this host; the "
            f"{len(blocked)} bundle files that need them are left out of dpkg-shlibdeps:\n"
        )
        for path in sorted(blocked):
            log(f"  {path.relative_to(bundle)}\n")
    private = {p.parent for p in elves}
    depends = shlibdeps(scanned, private) if scanned else ""
    # dpkg-shlibdeps may resolve a library the bundle carries to the host's copy; keep only the
    # packages of the libraries the bundle lacks.
    wanted = {owning for lib in needers if (owning := packages.get(lib))}
    kept = [
        one
        for one in (part.strip() for part in depends.split(",") if part.strip())
        if any(alt.split()[0] in wanted for alt in one.split("|"))
    ]
    # Packages needed only by files left out above (their other library is not on this host)
    # are still needed: listed without a version.
    named = {alt.split()[0] for one in kept for alt in one.split("|")}
    depends = ", ".join(sorted(kept + sorted(wanted - named)))
    log(f"deb_depends: Depends: {depends}\n")
    print(depends)
    return 1 if unresolved and os.environ.get("EMBER_DEB_STRICT") == "1" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
