#!/usr/bin/env bash
# Generates user/cpython/py_offsets_table.c (on stdout) from the real headers of each
# CPython minor version:
#
#   make offsets   (= bash scripts/gen-offsets.sh > user/cpython/py_offsets_table.c)
#
# For every header set found, scripts/py_offsets_probe.c is compiled with the
# host's cc against that set (-DPy_BUILD_CORE, internal headers included) and
# run; scripts/gen_offsets_emit.py turns the outputs into one
# struct py_version_info per minor version. When a minor version has more than
# one header set (another patch release, another build), all of them must give
# identical offsets, else this fails and names the fields.
#
# Header sets (first one per minor is the one the entry is generated from):
#   3.9   pyenv 3.9.18,  Debian bullseye 3.9.2 (root)
#   3.10  pyenv 3.10.13
#   3.11  pyenv 3.11.7,  Debian bookworm 3.11.2 (host /usr/include/python3.11)
#   3.12  pyenv 3.12.1
#   3.13  Debian trixie (root), pyenv 3.13.0
#   3.14  Debian sid (root)
#   3.15  Debian experimental (sid root)
# Roots come from scripts/provision-pythons.sh (make provision). A minor version
# with no header set at all is an error (the table would silently lose it)
# unless PYSTROBE_OFFSETS_ALLOW_MISSING=1.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
CACHE=${PYSTROBE_CACHE:-/var/cache/pystrobe}
ROOTS=$CACHE/roots
PYENV_VERSIONS=${PYENV_ROOT:-/root/.pyenv}/versions
CC=${CC:-cc}
MULTIARCH=x86_64-linux-gnu

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

die() {
	echo "gen-offsets: $*" >&2
	exit 1
}

# probe OUT MINOR INCDIR PLATDIR SOURCE: compiles and runs the probe against
# the headers in INCDIR (Python.h, internal/), with pyconfig.h from PLATDIR
# (Debian's multiarch directory; empty when pyconfig.h is in INCDIR).
# Returns 1, leaving no OUT, when INCDIR is absent; dies if it is there but
# the probe does not build or run.
probe() {
	local out=$1 minor=$2 inc=$3 plat=$4 source=$5
	local shim=$tmp/shim-${out##*/} flags=()
	[ -f "$inc/Python.h" ] && [ -d "$inc/internal" ] || return 1
	if [ -n "$plat" ]; then
		[ -f "$plat/pyconfig.h" ] || return 1
		# Debian's $inc/pyconfig.h includes <MULTIARCH/pythonX.Y/pyconfig.h>;
		# resolve it through a shim directory instead of adding the root's
		# /usr/include (its libc headers must not replace the host's).
		mkdir -p "$shim/$MULTIARCH"
		ln -sfn "$plat" "$shim/$MULTIARCH/python$minor"
		flags+=(-I"$shim")
	fi
	if ! "$CC" -std=gnu11 -O0 -w -DPy_BUILD_CORE -I"$inc" "${flags[@]}" \
		-o "$out.bin" "$here/py_offsets_probe.c" 2>"$out.err"; then
		cat "$out.err" >&2
		die "probe for Python $minor ($source) does not compile"
	fi
	{
		echo "source $source"
		"$out.bin"
	} >"$out" || die "probe for Python $minor ($source) failed to run"
	local got
	got=$(awk '$1 == "version" { print $2 }' "$out")
	case "$got" in
	"$minor".*) ;;
	*) die "$inc: headers are Python $got, expected $minor" ;;
	esac
	echo "gen-offsets: $minor: $got from $source" >&2
}

args=()
missing=()
# minor SETS...: each set is "INCDIR|PLATDIR|SOURCE".
minor() {
	local m=$1 set inc plat source files=() n=0
	shift
	for set in "$@"; do
		IFS='|' read -r inc plat source <<<"$set"
		n=$((n + 1))
		if probe "$tmp/$m-$n.txt" "$m" "$inc" "$plat" "$source"; then
			files+=("$tmp/$m-$n.txt")
		fi
	done
	if [ "${#files[@]}" -eq 0 ]; then
		missing+=("$m")
		return 0
	fi
	args+=("$m=$(
		IFS=,
		echo "${files[*]}"
	)")
}

pyenv_set() { # MINOR PATCH
	echo "$PYENV_VERSIONS/$1.$2/include/python$1||pyenv $1.$2"
}
root_set() { # MINOR ROOT DESCRIPTION
	echo "$ROOTS/$2/usr/include/python$1|$ROOTS/$2/usr/include/$MULTIARCH/python$1|$3"
}

minor 3.9 "$(pyenv_set 3.9 18)" "$(root_set 3.9 bullseye "Debian bullseye libpython3.9-dev")"
minor 3.10 "$(pyenv_set 3.10 13)"
minor 3.11 "$(pyenv_set 3.11 7)" \
	"/usr/include/python3.11|/usr/include/$MULTIARCH/python3.11|Debian bookworm libpython3.11-dev"
minor 3.12 "$(pyenv_set 3.12 1)"
minor 3.13 "$(root_set 3.13 trixie "Debian trixie libpython3.13-dev")" "$(pyenv_set 3.13 0)"
minor 3.14 "$(root_set 3.14 sid "Debian sid libpython3.14-dev")"
minor 3.15 "$(root_set 3.15 sid "Debian experimental libpython3.15-dev")"

if [ "${#missing[@]}" -gt 0 ]; then
	if [ "${PYSTROBE_OFFSETS_ALLOW_MISSING:-0}" = 1 ]; then
		echo "gen-offsets: WARNING: no headers for Python ${missing[*]}: left out of the table" >&2
	else
		die "no headers for Python ${missing[*]} (run make provision, or set PYSTROBE_OFFSETS_ALLOW_MISSING=1)"
	fi
fi

# Emit to a file first: print nothing unless every step succeeded.
python3 "$here/gen_offsets_emit.py" "${args[@]}" >"$tmp/table.c"
# Formatted with the repository's .clang-format, so `make check-format` passes.
(cd "$here/.." && clang-format --assume-filename=user/cpython/py_offsets_table.c) \
	<"$tmp/table.c" >"$tmp/table.fmt.c"
cat "$tmp/table.fmt.c"
