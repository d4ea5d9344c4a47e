#!/usr/bin/env bash
# Prove Ember's .deb on a clean Debian root (run as root: debootstrap, chroot, mount, unshare).
#
#   packaging/linux/test-clean-root.sh dist/ember_<version>_amd64.deb
#
# 1. A minimal Debian root (debootstrap --variant=minbase from the host's configured mirror),
#    cached as a tarball under ~/.cache/ember/roots/ keyed by suite, arch and variant, unpacked
#    fresh into a temporary folder for each run; /proc and /dev mounted, unmounted on exit (the
#    .debs apt downloads are kept in a cache folder beside the tarball).
# 2. The .deb installed WITHOUT its Depends (dpkg --force-depends): starting the window must
#    print Ember's message naming the missing library and its Debian package. Then
#    `apt-get install -f --no-install-recommends` brings the Depends (the only phase with network).
# 3. As an unprivileged user, in a network namespace with no network (unshare -n; a TCP connect
#    to an outside address is shown to fail): ember doctor, ember index of a folder with a real
#    Markdown file and a real PDF, ember ask (a cited source file must appear), a chat kept in the
#    history, and the window started offscreen to its first paint (one JSON line).
# 4. apt-get purge: /opt/ember and /usr/bin/ember are gone; the user's chats database and index
#    (~/.local/share/Ember/chats.sqlite3, knowledge/) and settings are still there, unchanged.
#
# Every command and its output go to stdout and to <deb>.clean-root.txt beside the .deb, with each
# phase's duration at the end. Exits non-zero on the first failed check.
# Environment: EMBER_ROOT_SUITE (default bookworm), EMBER_ROOT_CACHE (default ~/.cache/ember/roots).
set -euo pipefail

[ $# -eq 1 ] && [ -f "$1" ] || { echo "usage: $0 DEB" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$0: needs root (debootstrap, chroot, mount, unshare)" >&2; exit 2; }
deb=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
suite=${EMBER_ROOT_SUITE:-bookworm}
arch=$(dpkg --print-architecture)
variant=minbase
cache_dir=${EMBER_ROOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ember/roots}
cached="$cache_dir/debian-$suite-$arch-$variant.tar.gz"
transcript="${deb%.deb}.clean-root.txt"
user=ember-user
uid=4242

exec > >(tee "$transcript") 2>&1
# The root under test, and debootstrap's while it builds one (debootstrap mounts proc and sys).
root=""
build=""
# remove_root DIR: unmount whatever is mounted under DIR (the host's /dev, /proc, the apt cache),
# then delete it; a DIR that still has a mount is left in place and named, never deleted through.
remove_root() {
	local dir=$1 mnt
	for mnt in $(awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r); do
		umount "$mnt" 2>/dev/null || umount -l "$mnt"
	done
	if awk -v d="$dir/" 'index($2, d) == 1 {found = 1} END {exit !found}' /proc/self/mounts; then
		echo "$0: $dir still has mounts; left in place, remove it by hand" >&2
		return 1
	fi
	rm -rf --one-file-system "$dir"
}
cleanup() {
	set +e
	[ -z "$build" ] || remove_root "$build"
	[ -z "$root" ] || remove_root "$root"
}
trap cleanup EXIT

phases=()
phase_start=0
phase() {
	phase_end
	phase_name=$1
	phase_start=$(date +%s%N)
	printf '\n==== %s\n' "$1"
}
phase_end() {
	if [ "$phase_start" != 0 ]; then
		local ms=$((($(date +%s%N) - phase_start) / 1000000))
		phases+=("$(printf '%-64s %5d.%d s' "$phase_name" $((ms / 1000)) $((ms % 1000 / 100)))")
		phase_start=0
	fi
}
timings() {
	phase_end
	printf '\n==== timings\n'
	printf '%s\n' "${phases[@]}"
}
fail() {
	printf 'FAILED: %s\n' "$*"
	timings
	exit 1
}
# show CMD...: print the command, run it, print its output; returns its exit status.
show() {
	printf '$ %s\n' "$*"
	"$@"
}
# in_root CMD: a shell command in the root as root (network as the host has it, unless
# OFFLINE=1: then in a new network namespace with no network); pipefail: a pipeline fails when
# any of its commands does.
in_root() {
	printf '# (root%s) $ %s\n' "${OFFLINE:+, no network}" "$1"
	${OFFLINE:+unshare --net} chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive /bin/bash -o pipefail -c "$1"
}
# as_user CMD: a shell command in the root as the unprivileged user, in a new network namespace
# with no network (only a down loopback).
as_user() {
	printf '# (%s, no network) $ %s\n' "$user" "$1"
	unshare --net chroot --userspec=$uid:$uid "$root" /usr/bin/env -i \
		HOME=/home/$user USER=$user LOGNAME=$user PATH=/usr/bin:/bin LANG=C.UTF-8 \
		QT_QPA_PLATFORM=offscreen /bin/bash -o pipefail -c "cd && $1"
}

phase "prepare a clean Debian $suite root ($variant, $arch)"
if [ ! -f "$cached" ]; then
	command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }
	# The host's configured Debian mirror (deb822 sources, else the one-line format).
	mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null ||
		true)
	[ -n "$mirror" ] ||
		mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
	[ -n "$mirror" ] || fail "no Debian mirror in /etc/apt/sources.list.d/debian.sources" \
		"or /etc/apt/sources.list"
	build=$(mktemp -d /var/tmp/ember-debootstrap.XXXXXX)
	show debootstrap --variant=$variant --arch="$arch" "$suite" "$build" "$mirror" | tail -3 || {
		tail -20 "$build/debootstrap/debootstrap.log" 2>/dev/null
		fail "debootstrap"
	}
	mkdir -p "$cache_dir"
	tar -C "$build" --numeric-owner -czf "$cached.part" . || fail "could not write $cached.part"
	mv "$cached.part" "$cached"
	remove_root "$build"
	build=""
fi
printf 'root tarball: %s (%s)\n' "$cached" "$(du -h "$cached" | cut -f1)"
root=$(mktemp -d /var/tmp/ember-clean-root.XXXXXX)
tar -C "$root" --numeric-owner -xzf "$cached"
chmod 755 "$root"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# Downloaded .debs are kept beside the root's tarball, so a rerun fetches only what changed.
mkdir -p "$cache_dir/apt-archives-$suite-$arch/partial"
mount --bind "$cache_dir/apt-archives-$suite-$arch" "$root/var/cache/apt/archives"
cp "$deb" "$root/tmp/"
pkg=/tmp/$(basename "$deb")
in_root "cat /etc/debian_version; dpkg -l | grep -c '^ii'"

phase "dpkg -i without the Depends; the window names what is missing"
in_root "dpkg --force-depends -i $pkg 2>&1 | tail -4"
in_root "dpkg -s ember | grep -E '^(Status|Depends):'"
out=$(in_root "EMBER_STARTUP_PROBE=1 QT_QPA_PLATFORM=offscreen ember 2>&1; echo exit=\$?" || true)
printf '%s\n' "$out"
message=$(grep -o "needs the system library [^ ]*, which is not installed.*" <<<"$out" || true)
[ -n "$message" ] || fail "the window did not name a missing system library"
named=$(grep -o 'apt install [a-z0-9.+-]*' <<<"$message" | cut -d' ' -f3 || true)
depends=$(dpkg-deb -f "$deb" Depends)
if [ -n "$named" ] && grep -qw -- "$named" <<<"$depends"; then
	echo "ok: the message names $named, which is in the package's Depends"
else
	fail "the message names no Debian package from Depends (named: '${named:-none}')"
fi

phase "apt-get install -f (network: this phase only)"
in_root "apt-get update -qq && apt-get install -f -y -q --no-install-recommends 2>&1 | grep -E '^[0-9]+ upgraded|^Need to get|^Setting up ember'"
in_root "dpkg -s ember | grep '^Status:'; echo packages installed: \$(dpkg -l | grep -c '^ii')"

phase "an unprivileged user, no network"
in_root "useradd --create-home --uid $uid --user-group --shell /bin/bash $user && id $user"
as_user "echo network interfaces: \$(tail -n +3 /proc/net/dev | cut -d: -f1); if timeout 5 bash -c 'exec 3<>/dev/tcp/1.1.1.1/80' 2>&1; then exit 1; else echo 'ok: TCP connect to 1.1.1.1:80 failed'; fi" ||
	fail "the network namespace can reach the outside"

docs="$root/home/$user/docs"
mkdir -p "$docs"
cat >"$docs/harbour.md" <<'EOF'
# Port Ellery harbour notes

The lighthouse keeper of Port Ellery is Mirela Vantongeren. She lights the lamp at 19:40 every
evening and logs each passing ship in a green ledger.
EOF
# A small real PDF (one page, Helvetica text), written byte by byte with a correct xref table.
python3 - "$docs/ferry-timetable.pdf" <<'EOF'
import sys
text = "The ferry to Kessock Island leaves from pier 7 every Tuesday at 06:15."
stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
objects = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >>"
    b" /Contents 5 0 R >>",
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
]
out = bytearray(b"%PDF-1.4\n")
offsets = []
for number, body in enumerate(objects, 1):
    offsets.append(len(out))
    out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
xref = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
open(sys.argv[1], "wb").write(out)
EOF
chown -R $uid:$uid "$docs"
as_user "ls -l docs && head -c 8 docs/ferry-timetable.pdf && echo"

phase "ember doctor"
out=$(as_user "ember doctor" 2>&1) || { printf '%s\n' "$out"; fail "ember doctor"; }
printf '%s\n' "$out"
# A part that does not load (llama.cpp, the embedded models) must not pass for a working install.
! grep -qE '^\s+(installed|available|sha256_ok): False' <<<"$out" || fail "ember doctor: a part is missing"
echo "ok: llama.cpp and the embedded chat model and embedder load"

phase "ember index ~/docs"
as_user "ember index ~/docs" || fail "ember index"

phase "ember ask (a cited source)"
question="Who is the lighthouse keeper of Port Ellery?"
out=$(as_user "ember ask '$question'" 2>&1) || { printf '%s\n' "$out"; fail "ember ask"; }
printf '%s\n' "$out"
grep -q "harbour.md" <<<"$out" || fail "the answer does not cite harbour.md"
echo "ok: the answer cites harbour.md"

phase "ember chat (kept in the chat history)"
as_user "printf '%s\n' 'When does the ferry to Kessock Island leave?' | ember chat && ember chat list" ||
	fail "ember chat"

phase "the window, offscreen, to its first paint"
out=$(as_user "EMBER_STARTUP_PROBE=1 ember" 2>&1) || { printf '%s\n' "$out"; fail "the window"; }
printf '%s\n' "$out"
grep -qE '^\{.*\}$' <<<"$out" || fail "no JSON line from the startup probe"
echo "ok: one JSON line at the first paint"

phase "apt-get purge ember; the user's data stays"
data=".local/share/Ember"
as_user "ls -la $data $data/knowledge; ls -la .config/Ember .cache/Ember 2>&1 || true"
[ -s "$root/home/$user/$data/chats.sqlite3" ] || fail "no chats database before the purge"
[ -n "$(ls -A "$root/home/$user/$data/knowledge")" ] || fail "no index before the purge"
# Every file of the user's: data (chats, index), settings and caches.
keep=$(cd "$root/home/$user" && { find "$data" .config/Ember .cache/Ember -type f 2>/dev/null || true; } |
	sort | tr '\n' ' ')
before=$(as_user "sha256sum $keep")
printf '%s\n' "$before"
OFFLINE=1 in_root "apt-get purge -y -qq ember 2>&1 | tail -2 && { dpkg -s ember 2>&1 || true; } | head -1" ||
	fail "apt-get purge ember"
in_root "ls -d /opt/ember /usr/bin/ember 2>&1 || true"
[ ! -e "$root/opt/ember" ] || fail "/opt/ember is still there"
[ ! -e "$root/usr/bin/ember" ] && [ ! -L "$root/usr/bin/ember" ] || fail "/usr/bin/ember is still there"
after=$(as_user "sha256sum $keep")
printf '%s\n' "$after"
[ "$before" = "$after" ] || fail "the user's data changed with the purge"
echo "ok: /opt/ember is gone; the chats database, index and settings are unchanged"

timings
printf '\nPASSED: the .deb on a clean Debian %s root (transcript: %s)\n' "$suite" "$transcript"
