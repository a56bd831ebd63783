#!/usr/bin/env bash
# Installs the Debian 12 packages pystrobe needs to build, test and benchmark.
# Idempotent: packages already present are skipped by apt.
set -euo pipefail
pkgs=(
	make clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config
	libprotobuf-c-dev protobuf-c-compiler libcmocka-dev
	golang-go debootstrap austin clang-format linux-perf util-linux
	libclang-rt-14-dev uthash-dev python3 libcap-dev libjson-c-dev systemtap-sdt-dev
	bpftrace xxd
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# What the viewer tests open reports with (chromium, playwright-core,
# speedscope), outside the checkout.
bash "$(dirname "$0")/install-viewers.sh"
