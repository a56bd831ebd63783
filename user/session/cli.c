// SPDX-License-Identifier: BSD-2-Clause
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "session/cli.h"

void cli__error(const char *fmt, ...)
{
	va_list ap;

	fputs("pystrobe: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

error_t cli__arg_error(struct argp_state *state, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	argp_error(state, "%s", msg);
	return EINVAL;
}

static bool wants_help(int argc, char **argv)
{
	static const char *const help[] = {"--help", "-?", "--usage",
					   "--version", "-V"};

	for (int i = 1; i < argc; i++)
		for (size_t j = 0; j < sizeof(help) / sizeof(help[0]); j++)
			if (strcmp(argv[i], help[j]) == 0)
				return true;
	return false;
}

int cli__parse(const struct argp *argp, int argc, char **argv, void *input)
{
	char msg[512] = "", *colon;
	int err, saved, fd;
	ssize_t n;

	/* Help and version print and exit as argp always does. */
	if (wants_help(argc, argv))
		return argp_parse(argp, argc, argv, 0, NULL, input) ? -1 : 0;

	/*
	 * argp and getopt print "prog: message" plus a "Try --help" line to
	 * stderr: catch what they print and reissue its first line as ours.
	 */
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = memfd_create("argp-errors", MFD_CLOEXEC);
	if (saved < 0 || fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
		if (saved >= 0)
			close(saved);
		if (fd >= 0)
			close(fd);
		return argp_parse(argp, argc, argv, 0, NULL, input) ? -1 : 0;
	}
	err = argp_parse(argp, argc, argv, ARGP_NO_EXIT, NULL, input);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, msg, sizeof(msg) - 1, 0);
	close(fd);
	msg[n > 0 ? n : 0] = 0;
	if (!err && !msg[0])
		return 0;
	msg[strcspn(msg, "\n")] = 0;
	colon = strstr(msg, ": ");
	cli__error("%s", colon ? colon + 2
			       : (msg[0] ? msg : strerror(err ? err : EINVAL)));
	return -1;
}

/* strtol and strtod skip leading blanks: a value must start at once. */
static bool starts_blank(const char *s)
{
	return isspace((unsigned char)*s);
}

int cli__parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (starts_blank(s))
		return -EINVAL;
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

	if (starts_blank(s))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int cli__parse_size(const char *s, unsigned long long min,
		    unsigned long long max, unsigned long long *out)
{
	unsigned long long v, unit = 1;
	char *end;

	if (*s < '0' || *s > '9') /* no sign, no space */
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end == 'K' || *end == 'k')
		unit = 1ULL << 10;
	else if (*end == 'M' || *end == 'm')
		unit = 1ULL << 20;
	else if (*end == 'G' || *end == 'g')
		unit = 1ULL << 30;
	if (unit > 1)
		end++;
	if (*end || v > max / unit || v * unit < min)
		return -EINVAL;
	*out = v * unit;
	return 0;
}

/* Root, or the capabilities BPF sampling and reading targets need. */
bool cli__has_privileges(void)
{
	cap_value_t need[] = {CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE};
	cap_flag_value_t v;
	bool ok = true;
	cap_t caps;

	if (geteuid() == 0)
		return true;
	caps = cap_get_proc();
	if (!caps)
		return false;
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (cap_get_flag(caps, need[i], CAP_EFFECTIVE, &v) ||
		    v != CAP_SET)
			ok = false;
	cap_free(caps);
	return ok;
}

int cli__check_privileges(void)
{
	if (cli__has_privileges())
		return 0;
	cli__error("pystrobe needs root (or CAP_BPF, CAP_PERFMON and "
		   "CAP_SYS_PTRACE)");
	return -1;
}

error_t cli__parse_pids(const char *arg, struct argp_state *state, pid_t *pids,
			int *nr, int max)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	error_t err = 0;
	long v;

	if (!copy)
		return ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (cli__parse_long(tok, 1, 0x3fffffff, &v)) {
			err = cli__arg_error(state, "invalid PID '%s'", tok);
			break;
		}
		if (*nr == max) {
			err = cli__arg_error(state, "at most %d PIDs", max);
			break;
		}
		pids[(*nr)++] = v;
	}
	free(copy);
	if (!err && !*nr)
		err = cli__arg_error(state, "invalid PID list '%s'", arg);
	return err;
}

volatile sig_atomic_t cli__stop_signal;

static void on_stop_signal(int sig)
{
	cli__stop_signal = sig;
}

void cli__catch_stop_signals(void)
{
	struct sigaction sa = {.sa_handler = on_stop_signal};

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int64_t cli__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

error_t cli__unexpected_arg(struct argp_state *state, const char *arg)
{
	return cli__arg_error(
		state, "unexpected argument '%s' (a command goes after --)",
		arg);
}

int cli__split_command(int argc, char **argv, char ***cmd)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			*cmd = &argv[i + 1];
			return i;
		}
	return argc;
}

int cli__check_output(const char *path)
{
	int fd;

	if (!path)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		cli__error("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}
