/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Renders a writer into a real terminal (a pseudo-terminal of a chosen
 * width), so that the tables' width fitting is tested through the same
 * TIOCGWINSZ call a user's terminal answers. cmocka.
 */
#ifndef PYSTROBE_TTY_H
#define PYSTROBE_TTY_H

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

struct tty_reader {
	int fd;
	char *buf;
	size_t len;
};

/* Reads the terminal's output until its last writer closed it. */
static void *tty_read(void *arg)
{
	struct tty_reader *r = arg;
	FILE *f = open_memstream(&r->buf, &r->len);
	char chunk[4096];
	ssize_t n;

	while ((n = read(r->fd, chunk, sizeof(chunk))) > 0)
		fwrite(chunk, 1, n, f);
	fclose(f);
	return NULL;
}

/*
 * Calls write(out, arg) with out a terminal cols columns wide (raw: no
 * "\r\n"); returns what it wrote (free it) and write's result in *err.
 */
static inline char *tty_render(int cols, int (*write)(FILE *, void *), void *arg,
			int *err)
{
	struct winsize ws = {.ws_row = 50, .ws_col = cols};
	struct tty_reader r = {};
	struct termios tio;
	pthread_t reader;
	int slave;
	FILE *out;

	r.fd = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(r.fd >= 0);
	assert_int_equal(grantpt(r.fd), 0);
	assert_int_equal(unlockpt(r.fd), 0);
	slave = open(ptsname(r.fd), O_RDWR | O_NOCTTY);
	assert_true(slave >= 0);
	assert_int_equal(tcgetattr(slave, &tio), 0);
	cfmakeraw(&tio);
	assert_int_equal(tcsetattr(slave, TCSANOW, &tio), 0);
	assert_int_equal(ioctl(slave, TIOCSWINSZ, &ws), 0);
	assert_int_equal(pthread_create(&reader, NULL, tty_read, &r), 0);
	out = fdopen(slave, "w");
	assert_non_null(out);
	*err = write(out, arg);
	fclose(out); /* the reader sees EIO once it has read everything */
	pthread_join(reader, NULL);
	close(r.fd);
	return r.buf;
}

/* The widest line of text, in columns (UTF-8 code points). */
static inline size_t widest_line(const char *text)
{
	size_t widest = 0, cols = 0;

	for (const char *c = text; *c; c++) {
		if (*c == '\n') {
			widest = cols > widest ? cols : widest;
			cols = 0;
		} else {
			cols += ((unsigned char)*c & 0xc0) != 0x80;
		}
	}
	return cols > widest ? cols : widest;
}

#endif
