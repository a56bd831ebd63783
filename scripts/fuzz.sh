#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Build the line-table fuzzer (libFuzzer + ASan + UBSan) and run it for a
# bounded time, seeded from the real-interpreter fixtures. Exits non-zero on a
# crash, a sanitizer report, a failed property or a build failure.
#
#   FUZZ_SECONDS=60   run time (default 60)
#   CLANG=clang       compiler with libFuzzer (libclang-rt-*-dev)
#   Extra arguments go to libFuzzer, e.g. scripts/fuzz.sh -jobs=2
set -euo pipefail

cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
CLANG=${CLANG:-clang}
OUT=.output/fuzz
CORPUS=tests/fuzz/corpus-linetable # grows across runs; git-ignored
SEEDS=$OUT/seeds-linetable
CFLAGS=(-std=gnu11 -O1 -g -Wall -Wextra -Werror -fno-omit-frame-pointer
	-Iuser -Ibpf)

case $FUZZ_SECONDS in
'' | *[!0-9]*)
	echo "fuzz.sh: FUZZ_SECONDS must be a number of seconds" >&2
	exit 2
	;;
esac

mkdir -p "$OUT" "$CORPUS"
rm -rf "$SEEDS"
mkdir -p "$SEEDS"

"$CLANG" "${CFLAGS[@]}" -DFUZZ_SEED_WRITER -Itests/unit \
	tests/fuzz/fuzz_linetable.c user/linetable.c -o "$OUT/fuzz_linetable_seeds"
"$OUT/fuzz_linetable_seeds" "$SEEDS"

"$CLANG" "${CFLAGS[@]}" -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all \
	tests/fuzz/fuzz_linetable.c user/linetable.c -o "$OUT/fuzz_linetable"

# -timeout: a decode is linear in the table; seconds on one input is a hang.
exec "$OUT/fuzz_linetable" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
	-max_len=8192 -print_final_stats=1 -artifact_prefix="$OUT/" "$@" \
	"$CORPUS" "$SEEDS"
