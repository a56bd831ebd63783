#!/usr/bin/env bash
# Builds pystrobe's USDT provider, provider/pystrobe_provider.c, once per
# CPython minor version that scripts/pythons.sh lists:
#
#   scripts/build-provider.sh OUTDIR
#
# writes OUTDIR/3.X/_pystrobe_provider.so, and provider/sitecustomize.py as
# OUTDIR/sitecustomize.py and OUTDIR/3.X/sitecustomize.py: for `pystrobe
# calls -- CMD`, either OUTDIR or OUTDIR/3.X goes on PYTHONPATH (the
# sitecustomize handles both layouts).
#
# The extension ABI is per minor version, so one build serves every
# interpreter of that version (Debian's static ones too: they export the C
# API, and the .so is not linked against libpython). Of the header sets
# available for a minor version, the oldest patch release is used, so the
# module only needs API that every interpreter of that version has. Headers
# inside a debootstrap root are compiled with -isysroot ROOT (that root's
# libc headers and pyconfig.h); the module is linked against the host's
# glibc and checked to need no symbol version newer than the root's
# (bullseye has 2.31). sys/sdt.h comes from the host (systemtap-sdt-dev).
#
# Idempotent: a .so newer than its sources (and this script) is kept.
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
CFLAGS=(-O2 -fPIC -shared -Wall -Wextra -Werror)

# Pick one header directory per minor version: the oldest patch release.
declare -A best_ver best_inc best_root
while read -r label root py; do
	minor=${py##*/python}
	minor=${minor%%-*} # python3.13-pie
	inc=${root%/}$(dirname "$(dirname "$py")")/include/python$minor
	if [ ! -f "$inc/Python.h" ] || [ ! -f "$inc/patchlevel.h" ]; then
		echo "build-provider: $label: no headers in $inc, skipped" >&2
		continue
	fi
	ver=$(sed -n 's/^#define[[:space:]]*PY_VERSION[[:space:]]*"\(.*\)"/\1/p' \
		"$inc/patchlevel.h")
	old=${best_ver[$minor]:-}
	if [ -n "$old" ] &&
		[ "$(printf '%s\n%s\n' "$old" "$ver" | sort -V | head -n1)" = "$old" ]; then
		continue
	fi
	best_ver[$minor]=$ver
	best_inc[$minor]=$inc
	best_root[$minor]=$root
done < <("$HERE/scripts/pythons.sh")

if [ "${#best_ver[@]}" -eq 0 ]; then
	echo "build-provider: no interpreters with headers found" >&2
	exit 1
fi

# sys/sdt.h (and sdt-config.h) alone, for builds against a root's headers.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sdt=$(printf '#include <sys/sdt.h>\n' | "$CC" -E -x c - 2>/dev/null |
	sed -n 's|^# [0-9]* "\(/[^"]*/sys/sdt\.h\)".*|\1|p' | head -n1)
if [ -z "$sdt" ]; then
	echo "build-provider: sys/sdt.h not found (install systemtap-sdt-dev)" >&2
	exit 1
fi
mkdir -p "$tmp/sdt/sys"
for h in "$(dirname "$sdt")"/sdt*.h; do
	ln -s "$h" "$tmp/sdt/sys/"
done

# Every glibc symbol version the module needs must be in the oldest glibc
# it loads into: the root's (all interpreters of a minor version share the
# build) or the host's.
glibc_max() {
	objdump -T "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sort -uV | tail -n1
}
check_glibc() {
	local so=$1 root=$2 need have
	need=$(glibc_max "$so")
	for libc in /lib/x86_64-linux-gnu/libc.so.6 \
		"${root%/}/lib/x86_64-linux-gnu/libc.so.6"; do
		[ -f "$libc" ] || continue
		have=$(glibc_max "$libc")
		if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | tail -n1)" != "$have" ]; then
			echo "build-provider: $so needs $need, $libc has $have" >&2
			rm -f "$so"
			exit 1
		fi
	done
}

# Copies provider/sitecustomize.py into directory $1 unless it is there.
install_site() {
	if ! cmp -s "$SITE" "$1/sitecustomize.py"; then
		cp "$SITE" "$1/sitecustomize.py.tmp"
		mv "$1/sitecustomize.py.tmp" "$1/sitecustomize.py"
	fi
}

mkdir -p "$OUT"
install_site "$OUT"
for minor in $(printf '%s\n' "${!best_ver[@]}" | sort -V); do
	dir=$OUT/$minor
	so=$dir/_pystrobe_provider.so
	mkdir -p "$dir"
	install_site "$dir"
	fresh=1
	for f in "${SRCS[@]}" "$HERE"/provider/*.h "$SELF"; do
		[ "$so" -nt "$f" ] || fresh=0
	done
	[ "$fresh" = 1 ] && continue
	root=${best_root[$minor]}
	# Headers (libc's too) from the root that has these Python headers;
	# linked against the host's libc, and checked below.
	sysroot=()
	[ "$root" = / ] || sysroot=(-isysroot "$root")
	"$CC" "${CFLAGS[@]}" "${sysroot[@]}" -I"$tmp/sdt" \
		-I"${best_inc[$minor]}" -o "$so.tmp" "${SRCS[@]}" -lm
	check_glibc "$so.tmp" "$root"
	mv "$so.tmp" "$so"
	echo "build-provider: $so (headers: ${best_ver[$minor]}, ${best_inc[$minor]})"
done
