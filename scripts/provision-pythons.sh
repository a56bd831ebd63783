#!/usr/bin/env bash
# Provisions the Python interpreters the integration tests and the offset
# generator use, into a cache outside the checkout:
#
#   ${PYSTROBE_CACHE:-/var/cache/pystrobe}/roots/bullseye  3.9 (+ headers)
#   ${PYSTROBE_CACHE:-/var/cache/pystrobe}/roots/trixie    3.13, 3.13-pie (+ headers)
#   ${PYSTROBE_CACHE:-/var/cache/pystrobe}/roots/sid       3.14, and 3.15 from
#                                                          experimental (+ headers)
#   ${PYSTROBE_CACHE:-/var/cache/pystrobe}/roots/*-slim    the same interpreters
#                                                          alone (python3.X-minimal,
#                                                          no headers)
#
# plus Debian bookworm's /usr/bin/python3.11 on the host. The pyenv builds in
# /root/.pyenv/versions come with the machine image and are not provisioned
# here (scripts/pythons.sh lists whatever exists).
#
# Idempotent: each finished root has a stamp (roots/NAME.stamp) holding its
# recipe; a rerun with a matching stamp does nothing. A root is built in
# roots/NAME.tmp and renamed only when complete, so an interrupted run leaves
# no half-built root behind (the .tmp directory is removed on the next run).
# Prints one line per root.
set -euo pipefail

CACHE=${PYSTROBE_CACHE:-/var/cache/pystrobe}
ROOTS=$CACHE/roots
MIRROR=${PYSTROBE_MIRROR:-http://deb.debian.org/debian}
RETRIES=${PYSTROBE_RETRIES:-3}
# Bump to force every root to be rebuilt.
RECIPE_VERSION=1

log() { echo "provision: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
	echo "provision: must run as root (debootstrap, chroot)" >&2
	exit 1
fi

mkdir -p "$ROOTS"
# One provisioning at a time: concurrent `make provision` runs wait here.
exec 9>"$CACHE/.lock"
flock 9

# retry N CMD...: runs CMD up to N times, 10 s apart (network hiccups).
retry() {
	local n=$1 i=1
	shift
	while :; do
		if "$@"; then
			return 0
		fi
		if [ "$i" -ge "$n" ]; then
			log "failed after $n attempts: $*"
			return 1
		fi
		log "attempt $i failed, retrying in 10 s: $*"
		i=$((i + 1))
		sleep 10
	done
}

# Unmounts everything mounted at or below DIR (a /proc left by an
# interrupted chroot), so that `rm -rf` never descends into a live /proc.
umount_under() {
	local dir=$1 m
	[ -d "$dir" ] || return 0
	dir=$(realpath "$dir")
	awk '{print $2}' /proc/self/mounts | sort -r | while read -r m; do
		case "$m" in
		"$dir" | "$dir"/*) umount -l "$m" 2>/dev/null || true ;;
		esac
	done
}
BUILDING=""
trap '[ -z "$BUILDING" ] || umount_under "$BUILDING"' EXIT

# in_root DIR CMD...: runs CMD chrooted in DIR, with /proc mounted for its
# duration only.
in_root() {
	local root=$1 rc=0 mounted=0
	shift
	if ! mountpoint -q "$root/proc"; then
		mount -t proc proc "$root/proc"
		mounted=1
	fi
	DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin chroot "$root" "$@" || rc=$?
	if [ "$mounted" = 1 ]; then
		umount -l "$root/proc" || true
	fi
	return "$rc"
}

# debootstrap_once SUITE DIR INCLUDE: one attempt, from an empty directory.
debootstrap_once() {
	local suite=$1 dir=$2 include=$3
	umount_under "$dir"
	rm -rf "$dir"
	# Valid-Until is not checked by debootstrap itself; apt inside the root
	# is told to ignore it (sid/experimental Release files may be stale).
	debootstrap --variant=minbase --include="$include" \
		"$suite" "$dir" "$MIRROR" >"$dir.log" 2>&1 || {
		log "debootstrap $suite failed; last lines of $dir.log:"
		tail -n 5 "$dir.log" >&2
		return 1
	}
}

# Extra steps per root, run inside the finished debootstrap (in DIR).
post_sid() {
	local dir=$1
	echo "deb $MIRROR experimental main" \
		>"$dir/etc/apt/sources.list.d/experimental.list"
	retry "$RETRIES" in_root "$dir" apt-get -q \
		-o Acquire::Check-Valid-Until=false update >>"$dir.log" 2>&1
	retry "$RETRIES" in_root "$dir" apt-get -q -y \
		-o Acquire::Check-Valid-Until=false --no-install-recommends \
		-t experimental install python3.15-minimal libpython3.15-dev \
		>>"$dir.log" 2>&1
}

# sid-slim: 3.15 from experimental, the interpreter alone (no headers).
post_sid_slim() {
	local dir=$1
	echo "deb $MIRROR experimental main" \
		>"$dir/etc/apt/sources.list.d/experimental.list"
	retry "$RETRIES" in_root "$dir" apt-get -q \
		-o Acquire::Check-Valid-Until=false update >>"$dir.log" 2>&1
	retry "$RETRIES" in_root "$dir" apt-get -q -y \
		-o Acquire::Check-Valid-Until=false --no-install-recommends \
		-t experimental install python3.15-minimal >>"$dir.log" 2>&1
}

post_none() { :; }

# Sanity check, run on the finished root: each listed binary runs.
check_root() {
	local dir=$1
	shift
	local py
	for py in "$@"; do
		in_root "$dir" "$py" -c 'import sys' || {
			log "$py does not run in $dir"
			return 1
		}
	done
}

# provision NAME SUITE INCLUDE POSTFN PYTHONS...
provision() {
	local name=$1 suite=$2 include=$3 post=$4
	shift 4
	local root=$ROOTS/$name tmp=$ROOTS/$name.tmp stamp=$ROOTS/$name.stamp
	local recipe="v$RECIPE_VERSION suite=$suite include=$include post=$post"
	local t0=$SECONDS

	if [ -f "$stamp" ] && [ -d "$root" ] &&
		[ "$(head -n1 "$stamp")" = "$recipe" ]; then
		echo "$name: ok (cached) $root: $(tail -n1 "$stamp")"
		return 0
	fi
	umount_under "$tmp"
	umount_under "$root"
	rm -rf "$tmp" "$root" "$stamp"
	log "building $name ($suite) in $tmp ..."
	BUILDING=$tmp
	retry "$RETRIES" debootstrap_once "$suite" "$tmp" "$include"
	"$post" "$tmp"
	# apt's caches are not needed afterwards: keep the roots small.
	rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*_Packages
	check_root "$tmp" "$@"
	local versions=""
	local py
	for py in "$@"; do
		versions+="$py=$(in_root "$tmp" "$py" -c \
			'import sys; print(sys.version.split()[0])') "
	done
	umount_under "$tmp"
	mv "$tmp" "$root"
	BUILDING=""
	mv "$tmp.log" "$ROOTS/$name.log" 2>/dev/null || true
	printf '%s\n%s\n' "$recipe" "$versions" >"$stamp"
	echo "$name: built in $((SECONDS - t0)) s $root: $versions"
}

# Host: Debian bookworm's python3.11 (static, stripped, with USDT probes).
if [ ! -x /usr/bin/python3.11 ]; then
	export DEBIAN_FRONTEND=noninteractive
	retry "$RETRIES" apt-get update -qq
	retry "$RETRIES" apt-get install -y -qq --no-install-recommends \
		python3.11-minimal libpython3.11-dev >/dev/null
fi
echo "host: /usr/bin/python3.11 $(/usr/bin/python3.11 -c \
	'import sys; print(sys.version.split()[0])')"

provision bullseye bullseye python3.9-minimal,libpython3.9-dev post_none \
	/usr/bin/python3.9
provision trixie trixie python3.13-minimal,python3.13-nopie,libpython3.13-dev \
	post_none /usr/bin/python3.13 /usr/bin/python3.13-pie
provision sid sid python3.14-minimal,libpython3.14-dev post_sid \
	/usr/bin/python3.14 /usr/bin/python3.15
# Slim roots: python3.X-minimal and nothing else (no headers, no -dev), as
# in slim containers; `calls` must trace them with the provider `make` built.
provision bullseye-slim bullseye python3.9-minimal post_none /usr/bin/python3.9
provision trixie-slim trixie python3.13-minimal post_none /usr/bin/python3.13
provision sid-slim sid python3.14-minimal post_sid_slim /usr/bin/python3.14 \
	/usr/bin/python3.15
