/* SPDX-License-Identifier: BSD-2-Clause */
/* pprof__write to a file by path, for the tests and the fuzzer. */
#ifndef PYSTROBE_TEST_PPROF_FILE_H
#define PYSTROBE_TEST_PPROF_FILE_H

#include <errno.h>
#include <stdio.h>
#include "output/pprof.h"

/* 0 or a negative errno (the open, the write or the close failed). */
static inline int write_pprof_file(const struct profile *p, const char *path)
{
	FILE *f = fopen(path, "we");
	int err;

	if (!f)
		return -errno;
	err = pprof__write(p, f);
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

#endif
