// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static char *captured;
static size_t captured_len;
static FILE *capture;

void cli__error(const char *fmt, ...)
{
	va_list ap;

	fputs("pystrobe: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli__capture_errors(struct argp_state *state)
{
	if (!capture)
		capture = open_memstream(&captured, &captured_len);
	if (capture)
		state->err_stream = capture;
}

int cli__parse(const struct argp *argp, int argc, char **argv, void *input)
{
	int err = argp_parse(argp, argc, argv, 0, NULL, input);
	char *msg, *colon;

	if (capture) {
		fclose(capture);
		capture = NULL;
	}
	if (!err && !captured_len) {
		free(captured);
		captured = NULL;
		return 0;
	}
	/* argp writes "prog: message\nTry ...": keep the message only. */
	msg = captured ? captured : "";
	msg[strcspn(msg, "\n")] = 0;
	colon = strstr(msg, ": ");
	cli__error("%s", colon ? colon + 2 : (*msg ? msg : strerror(err)));
	free(captured);
	captured = NULL;
	captured_len = 0;
	return -1;
}

int cli__parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int cli__parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int cli__parse_format(const char *s, enum output_format *out)
{
	if (strcmp(s, "table") == 0)
		*out = FORMAT_TABLE;
	else if (strcmp(s, "folded") == 0)
		*out = FORMAT_FOLDED;
	else if (strcmp(s, "pprof") == 0)
		*out = FORMAT_PPROF;
	else
		return -EINVAL;
	return 0;
}
