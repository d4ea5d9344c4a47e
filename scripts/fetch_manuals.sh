#!/bin/sh
# Real manuals no one here wrote, for the tests and benchmarks that must hold on documents we did
# not tune on: the R manuals from Debian's r-doc-pdf (R-exts.pdf: 236 pages). Fetched once into
# DEST (default ~/.cache/ember/manuals) with `apt-get download` (no root needed); nothing is
# installed. Where apt-get is missing, say so and go on: the tests that need a manual skip there,
# and fail under CI=true.
set -eu
DEST=${1:-"$HOME/.cache/ember/manuals"}
if [ -f "$DEST/R-exts.pdf" ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "fetch_manuals: no apt-get here; the tests that read the R manuals will skip" >&2
    exit 0
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && apt-get download -qq r-doc-pdf 2>/dev/null || apt-get download r-doc-pdf)
dpkg-deb -x "$WORK"/r-doc-pdf_*.deb "$WORK/x"
mkdir -p "$DEST"
for name in R-exts R-intro R-admin R-lang R-data R-ints R-FAQ; do
    cp "$WORK/x/usr/share/R/doc/manual/$name.pdf" "$DEST/"
done
echo "fetch_manuals: R manuals in $DEST"
