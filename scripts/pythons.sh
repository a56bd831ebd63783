#!/usr/bin/env bash
# Lists the Python interpreters available for tests, one per line:
#
#   LABEL ROOT PYTHON_PATH
#
# ROOT is / for interpreters on the host, else the debootstrap root made by
# scripts/provision-pythons.sh; PYTHON_PATH is the interpreter's path inside
# ROOT (run it with `chroot ROOT PYTHON_PATH`). Interpreters that are not
# there (root not provisioned, pyenv version absent) are skipped.
#
# With --slim, lists instead the interpreters of the slim roots (the
# interpreter package alone, no headers), labels 3.X-slim.
set -euo pipefail

CACHE=${PYSTROBE_CACHE:-/var/cache/pystrobe}
ROOTS=$CACHE/roots
PYENV_VERSIONS=${PYENV_ROOT:-/root/.pyenv}/versions

# emit LABEL ROOT PATH, if PATH is an executable inside ROOT.
emit() {
	local label=$1 root=$2 path=$3 full
	if [ "$root" = / ]; then
		full=$path
	else
		# Only finished roots (their stamp is written last).
		[ -f "$root.stamp" ] || return 0
		full=$root$path
	fi
	# -e on the resolved path: the root's symlinks are absolute, so resolve
	# them inside the root rather than on the host.
	if [ "$root" != / ] && [ -L "$full" ]; then
		local target
		target=$(readlink "$full")
		case "$target" in
		/*) full=$root$target ;;
		*) full=$(dirname "$full")/$target ;;
		esac
	fi
	[ -x "$full" ] && [ -f "$full" ] || return 0
	echo "$label $root $path"
}

# pyenv: the newest patch release of each minor version present.
pyenv() {
	local minor=$1 best="" v
	for v in "$PYENV_VERSIONS"/"$minor".*; do
		[ -d "$v" ] || continue
		case "${v##*/}" in
		"$minor".[0-9] | "$minor".[0-9][0-9]) ;;
		*) continue ;; # 3.13.0t, 3.13-dev, ...
		esac
		best=$(printf '%s\n%s\n' "$best" "${v##*/}" | sed '/^$/d' |
			sort -V | tail -n1)
	done
	[ -n "$best" ] || return 0
	emit "$minor-pyenv" / "$PYENV_VERSIONS/$best/bin/python$minor"
}

if [ "${1:-}" = --slim ]; then
	emit 3.9-slim "$ROOTS/bullseye-slim" /usr/bin/python3.9
	emit 3.13-slim "$ROOTS/trixie-slim" /usr/bin/python3.13
	emit 3.14-slim "$ROOTS/sid-slim" /usr/bin/python3.14
	emit 3.15-slim "$ROOTS/sid-slim" /usr/bin/python3.15
	exit 0
fi

emit 3.9-bullseye "$ROOTS/bullseye" /usr/bin/python3.9
pyenv 3.9
pyenv 3.10
emit 3.11-debian / /usr/bin/python3.11
pyenv 3.11
pyenv 3.12
emit 3.13-trixie "$ROOTS/trixie" /usr/bin/python3.13
emit 3.13-trixie-pie "$ROOTS/trixie" /usr/bin/python3.13-pie
pyenv 3.13
emit 3.14-sid "$ROOTS/sid" /usr/bin/python3.14
emit 3.15-sid "$ROOTS/sid" /usr/bin/python3.15
