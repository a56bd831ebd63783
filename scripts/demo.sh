#!/usr/bin/env bash
# Profiles the bundled demo workload and prints the table.
set -euo pipefail
bin=${1:-./pystrobe}
py=$(command -v python3.11 || command -v python3)
cd "$(dirname "$0")/.."
exec "$bin" record -F 499 -- "$py" scripts/demo_workload.py
