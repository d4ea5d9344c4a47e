#!/usr/bin/env bash
# Keep a bundle's shared libraries from looking outside it: every RUNPATH/RPATH entry that is not
# under $ORIGIN is removed, in place.
#
#   packaging/linux/scrub-runpaths.sh BUNDLE_DIR
#
# Wheels built on a pyenv Python carry its lib folder (/root/.pyenv/versions/3.11.7/lib), some
# /usr/local/lib64: on another machine they point nowhere, or at someone else's libraries. Run by
# `make package` before the tarball and by build-deb.sh (a second run changes nothing). The
# libraries are NOT stripped: strip breaks the ones auditwheel rewrote with patchelf (numpy's
# OpenBLAS then fails to load: "ELF load command address/offset not page-aligned"). Needs
# patchelf (Debian: patchelf).
set -euo pipefail
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 BUNDLE_DIR" >&2
	exit 2
fi
command -v patchelf >/dev/null || {
	echo "$0: patchelf is not installed (Debian: apt install patchelf)" >&2
	exit 1
}
changed=0
while IFS= read -r -d '' lib; do
	[ "$(head -c4 "$lib" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
	old=$(patchelf --print-rpath "$lib" 2>/dev/null || true) # none: a static ELF
	new=$(tr ':' '\n' <<<"$old" | grep '^\$ORIGIN' | paste -sd: || true)
	if [ "$old" != "$new" ]; then
		if [ -n "$new" ]; then patchelf --set-rpath "$new" "$lib"; else patchelf --remove-rpath "$lib"; fi
		changed=$((changed + 1))
	fi
done < <(find "$1" -type f \( -name '*.so' -o -name '*.so.*' \) -print0)
echo "$changed RUNPATHs reduced to their \$ORIGIN entries"
