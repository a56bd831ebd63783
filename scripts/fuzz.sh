#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Build the fuzzers (libFuzzer + ASan + UBSan) and run each for a bounded
# time, in turn:
#   fuzz_linetable  line-table decoders, seeded from the real-interpreter
#                   fixtures;
#   fuzz_pprof      the pprof reader and the text writers, seeded with small
#                   profiles (gzipped and plain) from pprof__write.
# Exits non-zero on a crash, a sanitizer report, a failed property or a build
# failure (after running the other fuzzer too).
#
#   FUZZ_SECONDS=60   run time of each fuzzer (default 60)
#   CLANG=clang       compiler with libFuzzer (libclang-rt-*-dev)
#   Extra arguments go to libFuzzer, e.g. scripts/fuzz.sh -jobs=2
# Needs protoc-c (make generates .output/profile.pb-c.c) and the
# protobuf-c and zlib development libraries.
set -euo pipefail

cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
CLANG=${CLANG:-clang}
OUT=.output/fuzz
CFLAGS=(-std=gnu11 -O1 -g -Wall -Wextra -Werror -fno-omit-frame-pointer
	-D_GNU_SOURCE -iquote user -iquote . -iquote tests/unit)
FUZZFLAGS=("-fsanitize=fuzzer,address,undefined" -fno-sanitize-recover=all)
# pprof__read buffers a whole decompressed file: keep a gzip bomb well under
# libFuzzer's RSS limit.
PPROF_FLAGS=(-I.output '-DPPROF_MAX_SIZE=(16u << 20)')
PPROF_SRCS=(user/output/pprof_read.c user/output/pprof_write.c user/model/profile.c user/output/folded.c user/output/table.c
	.output/profile.pb-c.c)
PPROF_LIBS=(-lprotobuf-c -lz -lm)

case $FUZZ_SECONDS in
'' | *[!0-9]*)
	echo "fuzz.sh: FUZZ_SECONDS must be a number of seconds" >&2
	exit 2
	;;
esac

# Corpora grow across runs (git-ignored); seeds are rebuilt every run.
mkdir -p "$OUT" tests/fuzz/corpus-linetable tests/fuzz/corpus-pprof
rm -rf "$OUT/seeds-linetable" "$OUT/seeds-pprof"
mkdir -p "$OUT/seeds-linetable" "$OUT/seeds-pprof"

"$CLANG" "${CFLAGS[@]}" -DFUZZ_SEED_WRITER -Itests/unit \
	tests/fuzz/fuzz_linetable.c user/cpython/linetable.c -o "$OUT/fuzz_linetable_seeds"
"$OUT/fuzz_linetable_seeds" "$OUT/seeds-linetable"
"$CLANG" "${CFLAGS[@]}" "${FUZZFLAGS[@]}" \
	tests/fuzz/fuzz_linetable.c user/cpython/linetable.c -o "$OUT/fuzz_linetable"

make --no-print-directory .output/profile.pb-c.c
"$CLANG" "${CFLAGS[@]}" "${PPROF_FLAGS[@]}" -DFUZZ_SEED_WRITER \
	tests/fuzz/fuzz_pprof.c "${PPROF_SRCS[@]}" "${PPROF_LIBS[@]}" \
	-o "$OUT/fuzz_pprof_seeds"
"$OUT/fuzz_pprof_seeds" "$OUT/seeds-pprof"
"$CLANG" "${CFLAGS[@]}" "${PPROF_FLAGS[@]}" "${FUZZFLAGS[@]}" \
	tests/fuzz/fuzz_pprof.c "${PPROF_SRCS[@]}" "${PPROF_LIBS[@]}" \
	-o "$OUT/fuzz_pprof"

# run NAME MAX_LEN [libFuzzer args]: fuzz NAME on its corpus and seeds.
# -timeout: every target is linear in its input; seconds on one is a hang.
run() {
	local name=$1 max_len=$2
	shift 2
	echo "== fuzz_$name: ${FUZZ_SECONDS}s"
	"$OUT/fuzz_$name" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
		-max_len="$max_len" -print_final_stats=1 \
		-artifact_prefix="$OUT/$name-" "$@" \
		"tests/fuzz/corpus-$name" "$OUT/seeds-$name"
}

status=0
run linetable 8192 "$@" || status=1
run pprof 65536 "$@" || status=1
exit $status
