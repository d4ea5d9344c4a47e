#!/usr/bin/env sh
# Put Ember in the desktop's application menu for the current user (after `make setup`).
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
bin="$here/.venv/bin/ember"
[ -x "$bin" ] || { echo "Run 'make setup' in $here first." >&2; exit 1; }
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/scalable/apps"
mkdir -p "$apps" "$icons"
install -m644 "$here/assets/icons/ember.svg" "$icons/ember.svg"
sed "s|^Exec=ember|Exec=$bin|" "$here/packaging/linux/ember.desktop" >"$apps/ember.desktop"
chmod 644 "$apps/ember.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$apps" || true
echo "Installed $apps/ember.desktop"
