#!/bin/sh
# Real manuals no one here wrote, for the tests and benchmarks that must hold on documents we did
# not tune on, fetched once into DEST (default ~/.cache/ember/manuals) with `apt-get download` (no
# root needed); nothing is installed:
#   - the R manuals from Debian's r-doc-pdf (R-exts.pdf: 236 pages), used by tests;
#   - gnuplot.pdf from gnuplot-doc (311 pages) and git's HTML manual from git-doc (242 pages,
#     in git-html/), the retrieval eval corpora (`make eval`, benchmarks/eval_manuals.py).
# Where apt-get is missing, say so and go on: the tests that need a manual skip there, and fail
# under CI=true.
set -eu
DEST=${1:-"$HOME/.cache/ember/manuals"}
if [ -f "$DEST/R-exts.pdf" ] && [ -f "$DEST/gnuplot.pdf" ] && [ -f "$DEST/git-html/git.html" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "fetch_manuals: no apt-get here; the tests that read the R manuals will skip" >&2
    exit 0
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fetch() {
    (cd "$WORK" && apt-get download -qq "$1" 2>/dev/null || apt-get download "$1")
    dpkg-deb -x "$WORK"/"$1"_*.deb "$WORK/x"
}
mkdir -p "$DEST"
fetch r-doc-pdf
for name in R-exts R-intro R-admin R-lang R-data R-ints R-FAQ; do
    cp "$WORK/x/usr/share/R/doc/manual/$name.pdf" "$DEST/"
done
fetch gnuplot-doc
cp "$WORK/x/usr/share/doc/gnuplot/gnuplot.pdf" "$DEST/"
fetch git-doc
rm -rf "$DEST/git-html"
mkdir -p "$DEST/git-html"
cp -r "$WORK/x/usr/share/doc/git-doc/." "$DEST/git-html/"
find "$DEST/git-html" -type f ! -name '*.html' -delete
echo "fetch_manuals: R manuals, gnuplot.pdf and git's HTML manual in $DEST"
