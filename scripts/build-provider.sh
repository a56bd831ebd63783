#!/usr/bin/env bash
# Builds pystrobe's USDT provider, provider/pystrobe_provider.c:
#
#   scripts/build-provider.sh OUTDIR
#
# writes OUTDIR/3.X/_pystrobe_provider.so for every supported minor version
# (VERSIONS below), and provider/sitecustomize.py as OUTDIR/sitecustomize.py
# and OUTDIR/3.X/sitecustomize.py: for `pystrobe calls -- CMD`, either
# OUTDIR or OUTDIR/3.X goes on PYTHONPATH (the sitecustomize handles both
# layouts).
#
# The module is compiled once, against CPython's stable ABI of 3.9
# (Py_LIMITED_API in the source), so one binary loads into every interpreter
# 3.9-3.15, Debian's static ones and slim container Pythons without headers
# included; what it needs beyond the stable ABI it finds in the running
# interpreter (see the source). Any one CPython's headers (3.9 or later) will
# do to compile it, taken from, in order:
#   $PYSTROBE_PYTHON_INCLUDE    a directory with Python.h (and pyconfig.h)
#   the host's /usr/include/python3.*  (python3-dev; skipped when
#                               PYSTROBE_HOST_HEADERS=0)
#   Debian's libpython3.11-dev  (bookworm), fetched once with apt-get into
#                               ${PYSTROBE_CACHE:-/var/cache/pystrobe}/headers
#                               (a private sources list and state: the host's
#                               apt configuration is not touched) and reused
#                               offline afterwards
# sys/sdt.h comes from the host (systemtap-sdt-dev). The module is linked
# against the host's glibc and checked to need no symbol version newer than
# GLIBC_MAX (the oldest glibc it is meant to load with).
#
# Idempotent: a module newer than its sources (and this script) is kept.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
HERE=$(cd "$(dirname "$0")/.." && pwd)
SRC=$HERE/provider/pystrobe_provider.c
# memory_hooks.c: the sampled allocation probes (`pystrobe memory`)
SRCS=("$SRC" "$HERE/provider/memory_hooks.c")
SITE=$HERE/provider/sitecustomize.py
SELF=$HERE/scripts/build-provider.sh
OUT=$1
CC=${CC:-gcc}
HDR=$HERE/bpf/call_tracer.h # the ring's layout, shared with the tracer
# -mno-red-zone: a probe site's 5-byte nop becomes a call on kernels with
# optimized uprobes, and a call writes below the stack pointer, where a leaf
# function may keep live values (x86-64's red zone).
CFLAGS=(-O2 -fPIC -shared -fvisibility=hidden -Wall -Wextra -Werror
	-I"$HERE/bpf")
case "$(uname -m)" in x86_64) CFLAGS+=(-mno-red-zone) ;; esac
VERSIONS="3.9 3.10 3.11 3.12 3.13 3.14 3.15"
GLIBC_MAX=2.17
CACHE=${PYSTROBE_CACHE:-/var/cache/pystrobe}
MIRROR=${PYSTROBE_MIRROR:-http://deb.debian.org/debian}
HEADERS_SUITE=bookworm
HEADERS_PKG=libpython3.11-dev

log() { echo "build-provider: $*" >&2; }

# Prints "-I... -I..." for a header set, or nothing. $1: directory holding
# Python.h; $2: the include root above it (for Debian's multiarch
# pyconfig.h wrapper).
include_flags() {
	[ -f "$1/Python.h" ] && [ -f "$1/patchlevel.h" ] || return 0
	echo "-I$1 -I$2"
}

header_version() {
	sed -n 's/^#define[[:space:]]*PY_VERSION[[:space:]]*"\(.*\)"/\1/p' \
		"$1/patchlevel.h"
}

# The host's newest CPython headers of 3.9 or later, if any.
host_headers() {
	local best="" inc v
	for inc in /usr/include/python3.*; do
		[ -f "$inc/Python.h" ] || continue
		v=${inc##*/python}
		case "$v" in 3.[0-8] | *[!0-9.]*) continue ;; esac
		best=$(printf '%s\n%s\n' "$best" "$inc" | sed '/^$/d' |
			sort -V | tail -n1)
	done
	[ -n "$best" ] && include_flags "$best" /usr/include
}

# Debian's libpython3.11-dev, fetched once into the cache.
fetched_headers() {
	local dir=$CACHE/headers/$HEADERS_SUITE
	local inc=$dir/root/usr/include/python3.11
	local apt=$dir/apt arch
	mkdir -p "$dir"
	(
		flock 9
		[ -f "$dir/.done" ] && exit 0
		log "fetching $HEADERS_PKG ($HEADERS_SUITE) into $dir"
		arch=$(dpkg --print-architecture)
		rm -rf "$apt" "$dir/root"
		mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" \
			"$apt/deb"
		: >"$apt/status"
		echo "deb $MIRROR $HEADERS_SUITE main" >"$apt/sources.list"
		opts=(-q -o "Dir::Etc::SourceList=$apt/sources.list"
			-o "Dir::Etc::SourceParts=$apt/none"
			-o "Dir::State::Lists=$apt/lists"
			-o "Dir::State::status=$apt/status"
			-o "Dir::Cache=$apt/cache"
			-o "APT::Architecture=$arch" -o "APT::Architectures=$arch"
			-o "Acquire::Languages=none"
			-o "APT::Sandbox::User=root")
		apt-get "${opts[@]}" update >"$dir/apt.log" 2>&1 &&
			(cd "$apt/deb" && apt-get "${opts[@]}" download \
				"$HEADERS_PKG") >>"$dir/apt.log" 2>&1 || {
			log "apt-get failed; last lines of $dir/apt.log:"
			tail -n 5 "$dir/apt.log" >&2
			exit 1
		}
		dpkg-deb -x "$apt/deb/${HEADERS_PKG}"_*.deb "$dir/root"
		# keep the headers only (not the static library, nor apt's lists)
		find "$dir/root" -mindepth 1 -maxdepth 1 ! -name usr -exec rm -rf {} +
		find "$dir/root/usr" -mindepth 1 -maxdepth 1 ! -name include \
			-exec rm -rf {} +
		rm -rf "$apt"
		touch "$dir/.done"
	) 9>"$dir.lock" || return 1
	include_flags "$inc" "$dir/root/usr/include"
}

glibc_max() {
	objdump -T "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' |
		sort -uV | tail -n1
}

install_site() {
	if ! cmp -s "$SITE" "$1/sitecustomize.py"; then
		cp "$SITE" "$1/sitecustomize.py.tmp"
		mv "$1/sitecustomize.py.tmp" "$1/sitecustomize.py"
	fi
}

mkdir -p "$OUT"
so=$OUT/_pystrobe_provider.so
fresh=1
for f in "${SRCS[@]}" "$HERE"/provider/*.h "$HDR" "$SELF"; do
	[ "$so" -nt "$f" ] || fresh=0
done
if [ "$fresh" = 0 ]; then
	flags="" from=""
	if [ -n "${PYSTROBE_PYTHON_INCLUDE:-}" ]; then
		flags=$(include_flags "$PYSTROBE_PYTHON_INCLUDE" \
			"$(dirname "$PYSTROBE_PYTHON_INCLUDE")")
		from=$PYSTROBE_PYTHON_INCLUDE
		[ -n "$flags" ] || {
			log "no Python.h in PYSTROBE_PYTHON_INCLUDE=$from"
			exit 1
		}
	fi
	if [ -z "$flags" ] && [ "${PYSTROBE_HOST_HEADERS:-1}" != 0 ]; then
		flags=$(host_headers)
		from=${flags%% *}
		from=${from#-I}
	fi
	if [ -z "$flags" ]; then
		flags=$(fetched_headers) || {
			log "no CPython headers: install python3-dev, or allow" \
				"the fetch from $MIRROR"
			exit 1
		}
		from=${flags%% *}
		from=${from#-I}
	fi
	if ! printf '#include <sys/sdt.h>\n' | "$CC" -E -x c - >/dev/null 2>&1; then
		log "sys/sdt.h not found (install systemtap-sdt-dev)"
		exit 1
	fi
	# shellcheck disable=SC2086 # flags is a list of -I options
	"$CC" "${CFLAGS[@]}" $flags -o "$so.tmp" "${SRCS[@]}" -lm
	need=$(glibc_max "$so.tmp")
	if [ -n "$need" ] &&
		[ "$(printf '%s\n%s\n' "$need" "$GLIBC_MAX" | sort -V | tail -n1)" != "$GLIBC_MAX" ]; then
		log "$so needs GLIBC_$need, more than GLIBC_$GLIBC_MAX"
		rm -f "$so.tmp"
		exit 1
	fi
	mv "$so.tmp" "$so"
	log "$so (stable ABI 3.9; headers: $(header_version "$from") in $from)"
fi

install_site "$OUT"
for v in $VERSIONS; do
	mkdir -p "$OUT/$v"
	install_site "$OUT/$v"
	if ! cmp -s "$so" "$OUT/$v/_pystrobe_provider.so"; then
		cp "$so" "$OUT/$v/_pystrobe_provider.so.tmp"
		mv "$OUT/$v/_pystrobe_provider.so.tmp" "$OUT/$v/_pystrobe_provider.so"
	fi
done
