#!/usr/bin/env bash
# Installs what the viewer tests open reports with: Debian's chromium, and
# npm's playwright-core (drives that chromium) and speedscope (the real
# app), into ${PYSTROBE_CACHE:-/var/cache/pystrobe}/npm, outside the
# checkout. Idempotent: an existing install of the pinned versions is kept.
set -euo pipefail
CACHE="${PYSTROBE_CACHE:-/var/cache/pystrobe}"
NPM_DIR="$CACHE/npm"
PLAYWRIGHT_VERSION=1.65.1
SPEEDSCOPE_VERSION=1.25.0

# npm comes with nodejs where that is NodeSource's build; Debian's needs
# its own package (asking for both on NodeSource's conflicts).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ "${#missing[@]}" -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

have() { # package version
	[ -f "$NPM_DIR/node_modules/$1/package.json" ] &&
		grep -q "\"version\": \"$2\"" "$NPM_DIR/node_modules/$1/package.json"
}
if ! have playwright-core "$PLAYWRIGHT_VERSION" || ! have speedscope "$SPEEDSCOPE_VERSION"; then
	mkdir -p "$NPM_DIR"
	[ -f "$NPM_DIR/package.json" ] || echo '{"name":"pystrobe-viewers","private":true}' >"$NPM_DIR/package.json"
	# playwright-core never downloads a browser: the tests use /usr/bin/chromium.
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$NPM_DIR" --no-audit --no-fund \
		--loglevel=error "playwright-core@$PLAYWRIGHT_VERSION" "speedscope@$SPEEDSCOPE_VERSION" >/dev/null
fi
