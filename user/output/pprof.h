/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pprof (profile.proto, gzipped) writer and reader. The mapping between the
 * profile model and pprof is fixed so that pprof__read(pprof__write(p))
 * renders exactly as p does:
 *   - string_table[0] == ""; mapping, function and location ids are index+1;
 *     location i is frame i; every location holds exactly one Line;
 *   - a frame's kind is its location's mapping: PPROF_MAP_PYTHON,
 *     PPROF_MAP_KERNEL, PPROF_MAP_MARKER, or a native module path (the
 *     native frame's file; a native frame without file has no mapping);
 *   - Function{name, filename (not for native frames), start_line},
 *     Line{line};
 *   - labels "pid", "tid" (num) and "thread_name", "comm" (str, "" when
 *     unset) on every sample;
 *   - counters are comments "name=value".
 */
#ifndef PYSTROBE_PPROF_H
#define PYSTROBE_PPROF_H

#include <stdio.h>
#include "model/profile.h"

#define PPROF_MAP_PYTHON "[python]"
#define PPROF_MAP_KERNEL "[kernel.kallsyms]"
#define PPROF_MAP_MARKER "[pystrobe]"

#ifndef PPROF_MAX_SIZE
#define PPROF_MAX_SIZE (512u << 20) /* decompressed bytes pprof__read takes */
#endif
#ifndef PPROF_MAX_DEPTH
#define PPROF_MAX_DEPTH 65536 /* frames per sample, inlined lines included */
#endif

/*
 * Writes p gzip-compressed to out. Returns 0 or a negative errno; on
 * failure out may hold a partial profile.
 */
int pprof__write(const struct profile *p, FILE *out);

/*
 * Reads a gzipped or plain profile.proto from path ("-": stdin) into a new
 * profile (*out, free with profile__free). Any pprof producer's file is
 * accepted; locations with inlined lines become one frame per line. Returns
 * 0, or a negative errno (-EINVAL: malformed or inconsistent data, -EFBIG:
 * over PPROF_MAX_SIZE, or the open/read error, e.g. -ENOENT, -EISDIR) with
 * *out untouched.
 */
int pprof__read(const char *path, struct profile **out);

#endif /* PYSTROBE_PPROF_H */
