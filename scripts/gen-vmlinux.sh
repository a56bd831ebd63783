#!/usr/bin/env bash
# Regenerates vmlinux/<arch>/vmlinux.h from the running kernel's BTF. The header
# is committed so the BPF side builds on hosts without BTF (CO-RE relocates it
# to the target kernel at load time).
set -euo pipefail
arch=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
cd "$(dirname "$0")/.."
mkdir -p "vmlinux/$arch"
bpftool btf dump file /sys/kernel/btf/vmlinux format c > "vmlinux/$arch/vmlinux.h"
