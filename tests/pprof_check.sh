#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Checks a pprof file with a real consumer: `go tool pprof -top` must parse
# it, exit 0, and list every FUNCTION given.
#
#   tests/pprof_check.sh FILE [FUNCTION...]
#
# PPROF_FLAGS adds options (e.g. PPROF_FLAGS=-sample_index=samples).
# Example, with the unit-test fixture:
#   PYSTROBE_PPROF_SAMPLE=/tmp/s.pb.gz .output/tests/test_pprof &&
#   tests/pprof_check.sh /tmp/s.pb.gz main Worker.run rec do_syscall_64
set -euo pipefail

if [[ $# -lt 1 ]]; then
	echo "usage: $0 FILE [FUNCTION...]" >&2
	exit 2
fi
file=$1
shift

if ! command -v go >/dev/null; then
	echo "pprof_check: go not found (apt-get install golang-go)" >&2
	exit 2
fi

# go needs writable HOME and GOCACHE; keep them out of the caller's.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME=$tmp GOCACHE=$tmp/gocache GOPATH=$tmp/gopath GOFLAGS='' GO111MODULE=off
# shellcheck disable=SC2086 # PPROF_FLAGS is a word list
if ! go tool pprof -top -nodecount=0 -nodefraction=0 -edgefraction=0 \
	${PPROF_FLAGS:-} "$file" >"$tmp/top" 2>&1; then
	echo "pprof_check: go tool pprof failed on $file:" >&2
	cat "$tmp/top" >&2
	exit 1
fi

if ! grep -q 'flat%' "$tmp/top"; then
	echo "pprof_check: no table in go tool pprof output:" >&2
	cat "$tmp/top" >&2
	exit 1
fi

# Function names are the last column of -top rows ("... cum%  NAME").
sed -n 's/^.*[0-9]%  //p' "$tmp/top" >"$tmp/names"
missing=0
for fn in "$@"; do
	if ! grep -qxF -- "$fn" "$tmp/names"; then
		echo "pprof_check: $fn missing from go tool pprof -top" >&2
		missing=1
	fi
done
if [[ $missing -ne 0 ]]; then
	cat "$tmp/top" >&2
	exit 1
fi
echo "pprof_check: $file OK ($(wc -l <"$tmp/names") functions)"
