#!/usr/bin/env bash
# Build Ember's Debian package from a self-contained bundle (PyInstaller's one-folder output).
#
#   packaging/linux/build-deb.sh BUNDLE_DIR VERSION OUT_DIR   ->   OUT_DIR/ember_<VERSION>_amd64.deb
#
# Layout: the bundle at /opt/ember, /usr/bin/ember -> /opt/ember/ember, the desktop entry, the icon
# in the hicolor theme (SVG, plus PNGs where rsvg-convert is on the PATH), AppStream metainfo, the
# MIME types shared-mime-info lacks (GGUF), a man page, copyright and changelog.gz. Depends is
# derived from the bundle's ELF files (deb_depends.py prints what it found). No maintainer scripts:
# dpkg's file triggers refresh the desktop, MIME and icon caches, and nothing outside the package's
# own files is ever touched, so removing or purging it leaves users' data (~/.local/share/Ember,
# ~/.config/Ember, ~/.cache/Ember) alone.
#
# Environment: EMBER_SCREENSHOT_URL, the web folder docs/screenshots/ is published under (default:
# derived from a GitHub `origin` remote, raw files at the commit being built; with neither, the
# screenshots ship in the package and the metainfo names them by file:// URL, which AppStream's
# validator rejects: see packaging/README.md); EMBER_HOMEPAGE (optional Homepage field and AppStream
# url); EMBER_MAINTAINER; DEB_COMPRESS (dpkg-deb -Z, default gzip: xz took 10 minutes on this
# 2-core machine for a 406 MB package; lintian rejects zstd); EMBER_DEB_STRICT=1 fails when a
# library the bundle needs is not on this host.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi # `sh build-deb.sh` works too
set -euo pipefail
# What this script writes gets Debian's modes (755 / 644), whatever the builder's umask.
umask 022

if [ $# -ne 3 ] || [ ! -x "${1:-}/ember" ]; then
	echo "usage: $0 BUNDLE_DIR VERSION OUT_DIR   (BUNDLE_DIR/ember must be executable)" >&2
	exit 2
fi
bundle=$(cd "$1" && pwd)
version=$2
mkdir -p "$3"
out=$(cd "$3" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

APP_ID=ember # desktop-file id and AppStream id (the icon and StartupWMClass match it)
package=ember
arch=amd64
deb="$out/${package}_${version}_${arch}.deb"
# Maintainer: EMBER_MAINTAINER, else the repository's git identity (user.name <user.email>).
maintainer=${EMBER_MAINTAINER:-}
if [ -z "$maintainer" ] && email=$(git -C "$repo" config user.email 2>/dev/null); then
	maintainer="$(git -C "$repo" config user.name 2>/dev/null || echo Ember) <$email>"
fi
maintainer=${maintainer:-"Ember contributors <ember@localhost>"}
# The file types Ember opens (ember.knowledge.parsers, the window's drop and open dialogs) and GGUF
# models (`ember models add`). shared-mime-info defines all but GGUF (ember-mime.xml).
mime_types="application/pdf;\
application/vnd.openxmlformats-officedocument.wordprocessingml.document;\
application/vnd.openxmlformats-officedocument.presentationml.presentation;\
application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;\
application/vnd.oasis.opendocument.text;application/vnd.oasis.opendocument.spreadsheet;\
application/epub+zip;application/rtf;message/rfc822;application/mbox;application/x-ipynb+json;\
text/html;text/markdown;text/plain;image/png;image/jpeg;image/tiff;application/x-gguf;"

stage=$(mktemp -d "${TMPDIR:-/tmp}/ember-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
chmod 755 "$stage"
step() { printf '%s build-deb: %s\n' "$(date +%T)" "$*"; }

step "bundle $bundle -> /opt/ember"
mkdir -p "$stage/opt"
cp -a "$bundle" "$stage/opt/ember"
# Files as dpkg expects them: owner-writable, world-readable, executables 755, nothing group/other
# writable (ownership is root:root via --root-owner-group).
chmod -R u+rwX,go+rX,go-w "$stage/opt/ember"

# Shared libraries: not executable (as Debian ships them), and no RUNPATH entry outside the bundle
# (scrub-runpaths.sh; `make package` ran it already, for the tarball). Not stripped: see
# scrub-runpaths.sh and lintian-overrides.
find "$stage/opt/ember" -type f \( -name '*.so' -o -name '*.so.*' \) -exec chmod 644 {} +
command -v patchelf >/dev/null || {
	[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null &&
		apt-get install -y -qq --no-install-recommends patchelf >/dev/null
} || step "patchelf not found (Debian: patchelf): RUNPATHs left as they are"
if command -v patchelf >/dev/null; then
	step "shared libraries: mode 644, $(bash "$here/scrub-runpaths.sh" "$stage/opt/ember")"
fi

step "launcher, desktop entry, icons, metainfo, MIME, man page, docs"
install -d "$stage/usr/bin"
ln -s /opt/ember/ember "$stage/usr/bin/ember"

install -d "$stage/usr/share/applications"
sed -e "s|^MimeType=.*|MimeType=$mime_types|" -e "s|^Icon=.*|Icon=$APP_ID|" \
	"$here/ember.desktop" >"$stage/usr/share/applications/$APP_ID.desktop"

icons="$stage/usr/share/icons/hicolor"
install -D -m644 "$repo/assets/icons/ember.svg" "$icons/scalable/apps/$APP_ID.svg"
if command -v rsvg-convert >/dev/null; then
	for size in 16 24 32 48 64 128 256 512; do
		install -d "$icons/${size}x${size}/apps"
		rsvg-convert -w "$size" -h "$size" "$repo/assets/icons/ember.svg" \
			-o "$icons/${size}x${size}/apps/$APP_ID.png"
	done
else
	step "rsvg-convert not found (Debian: librsvg2-bin): only the scalable icon"
fi

screenshots=""
shot_base=${EMBER_SCREENSHOT_URL:-}
origin=$(git -C "$repo" remote get-url origin 2>/dev/null || true)
if [ -z "$shot_base" ] && [[ $origin =~ github\.com[:/]([^/]+)/([^/]+)$ ]]; then
	shot_base="https://raw.githubusercontent.com/${BASH_REMATCH[1]}/${BASH_REMATCH[2]%.git}/$(
		git -C "$repo" rev-parse HEAD)/docs/screenshots"
fi
if [ -z "$shot_base" ]; then
	# No published URL: the screenshots ship in the package and the metainfo points at them.
	install -d "$stage/usr/share/ember/screenshots"
	shot_base="file:///usr/share/ember/screenshots"
fi
first=1
for shot in sources-light:"An answer citing its sources" \
	documents-page-light:"The indexed documents" \
	source-viewer-light:"A cited page in the source viewer" \
	streaming-dark:"An answer streaming in, dark theme"; do
	name=${shot%%:*}
	caption=${shot#*:}
	png="$repo/docs/screenshots/$name.png"
	[ -f "$png" ] || continue
	[ -d "$stage/usr/share/ember/screenshots" ] &&
		install -m644 "$png" "$stage/usr/share/ember/screenshots/$name.png"
	kind=$([ $first = 1 ] && echo ' type="default"' || true)
	first=0
	screenshots+="    <screenshot$kind>
      <caption>$caption</caption>
      <image>${shot_base%/}/$name.png</image>
    </screenshot>
"
done
install -d "$stage/usr/share/metainfo"
meta="$stage/usr/share/metainfo/$APP_ID.metainfo.xml"
while IFS= read -r line; do
	if [ "$line" = "@SCREENSHOTS@" ]; then printf '%s' "$screenshots"; else printf '%s\n' "$line"; fi
done <"$here/ember.metainfo.xml.in" |
	sed -e "s|@ID@|$APP_ID|g" -e "s|@VERSION@|$version|g" -e "s|@DATE@|$(date -u +%F)|g" >"$meta"
if [ -n "${EMBER_HOMEPAGE:-}" ]; then
	sed -i "s|  <launchable|  <url type=\"homepage\">$EMBER_HOMEPAGE</url>\n  <launchable|" "$meta"
fi

install -D -m644 "$here/ember-mime.xml" "$stage/usr/share/mime/packages/ember.xml"
install -d "$stage/usr/share/man/man1"
gzip -9n <"$here/ember.1" >"$stage/usr/share/man/man1/ember.1.gz"
install -D -m644 "$here/copyright" "$stage/usr/share/doc/$package/copyright"
# A native package (Version has no Debian revision), so Debian's changelog is changelog.gz.
printf '%s (%s) unstable; urgency=medium\n\n  * Ember %s, built from its self-contained bundle.\n\n -- %s  %s\n' \
	"$package" "$version" "$version" "$maintainer" "$(date -u -R)" |
	gzip -9n >"$stage/usr/share/doc/$package/changelog.gz"
install -D -m644 "$here/lintian-overrides" "$stage/usr/share/lintian/overrides/$package"
chmod 644 "$stage/usr/share/applications/$APP_ID.desktop" "$meta" "$stage/usr/share/man/man1/ember.1.gz"

step "Depends, derived from the bundle's ELF files"
depends=$(python3 "$here/deb_depends.py" "$stage/opt/ember")

step "control, md5sums"
install -d "$stage/DEBIAN"
installed_kb=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
{
	echo "Package: $package"
	echo "Version: $version"
	echo "Architecture: $arch"
	echo "Maintainer: $maintainer"
	echo "Installed-Size: $installed_kb"
	[ -n "$depends" ] && echo "Depends: $depends"
	echo "Section: utils"
	echo "Priority: optional"
	[ -n "${EMBER_HOMEPAGE:-}" ] && echo "Homepage: $EMBER_HOMEPAGE"
	echo "Description: local-first assistant for chatting with your documents"
	echo " Ember runs open language models on this computer. Index a folder of PDFs,"
	echo " office documents, e-books, mail, notebooks or notes, then ask questions:"
	echo " answers cite the pages they came from. A small chat model and the embedder"
	echo " ship inside the package, so Ember works offline from the first start."
	echo " ."
	echo " This package installs a self-contained bundle (Python, Qt, llama.cpp,"
	echo " FAISS, ONNX Runtime) under /opt/ember and the ember command."
} >"$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -print0 | sed -z 's|^\./||' |
	sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"

step "dpkg-deb -Z${DEB_COMPRESS:-gzip}"
dpkg-deb --root-owner-group -Z"${DEB_COMPRESS:-gzip}" --build "$stage" "$deb" >/dev/null
step "wrote $deb ($(du -h "$deb" | cut -f1), installed ${installed_kb} KiB)"
