#!/usr/bin/env bash
# Profiles the bundled demo workload twice and prints both tables: CPU
# samples (record), then every call traced (calls).
set -euo pipefail
bin=${1:-./pystrobe}
py=$(command -v python3.11 || command -v python3)
cd "$(dirname "$0")/.."
echo "== pystrobe record (CPU samples)"
"$bin" record -F 499 -- "$py" scripts/demo_workload.py
echo
echo "== pystrobe calls (every call, CPU vs off-CPU)"
"$bin" calls --top 15 -- "$py" scripts/demo_workload.py
