// SPDX-License-Identifier: BSD-2-Clause
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "output/text.h"

int text__width(FILE *out)
{
	struct winsize ws;
	int fd = fileno(out);

	if (fd < 0 || !isatty(fd) || ioctl(fd, TIOCGWINSZ, &ws) ||
	    ws.ws_col == 0)
		return 0;
	return ws.ws_col;
}

static bool continuation(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

size_t text__columns(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += !continuation(*s);
	return n;
}

/* A bounded string being built; too long is cut at len - 1 bytes. */
struct sbuf {
	char *buf;
	size_t len, used;
};

static void put(struct sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n && b->used + 1 < b->len; i++) {
		unsigned char c = s[i];

		b->buf[b->used++] = c < 0x20 || c == 0x7f ? '?' : c;
	}
	if (b->len)
		b->buf[b->used] = 0;
}

static void puts_(struct sbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* After "/lib/python" or "/lib64/python": "3.11/" or "3/"; its length. */
static size_t version_dir(const char *s)
{
	size_t i = 0;

	while (isdigit((unsigned char)s[i]) || s[i] == '.')
		i++;
	return i && s[i] == '/' && isdigit((unsigned char)s[0]) ? i + 1 : 0;
}

/* Start of what follows the last "/dir/" in path, or NULL. */
static const char *after_last(const char *path, const char *dir)
{
	const char *found = NULL, *p = path;
	size_t n = strlen(dir);

	while ((p = strstr(p, dir))) {
		found = p + n;
		p++;
	}
	return found;
}

const char *text__short_path(const char *path, char *buf, size_t len)
{
	static const char *const packages[] = {"/site-packages/",
					       "/dist-packages/"};
	static const char *const libs[] = {"/lib/python", "/lib64/python"};
	const char *best = NULL, *rest;
	struct sbuf b = {buf, len, 0};

	if (len)
		buf[0] = 0;
	for (size_t i = 0; i < 2; i++) {
		rest = after_last(path, packages[i]);
		if (rest && (!best || rest > best))
			best = rest;
	}
	if (best) {
		/* "site-packages/..." from the component's own start. */
		const char *start = best - 1;

		while (start > path && start[-1] != '/')
			start--;
		puts_(&b, start);
		return buf;
	}
	for (size_t i = 0; i < 2; i++) {
		rest = after_last(path, libs[i]);
		if (rest && version_dir(rest)) {
			puts_(&b, "<stdlib>/");
			puts_(&b, rest + version_dir(rest));
			return buf;
		}
	}
	puts_(&b, path);
	return buf;
}

/* The last n columns of s (all of s when shorter). */
static const char *tail_of(const char *s, size_t n)
{
	const char *p = s + strlen(s);
	size_t cols = 0;

	while (p > s && cols < n) {
		p--;
		cols += !continuation(*p);
	}
	return p;
}

size_t text__function(char *buf, size_t len, const char *name, const char *path,
		      int64_t line, int width)
{
	char sp[PATH_MAX + 32], tail[32] = ")";
	struct sbuf b = {buf, len, 0};
	size_t fixed, avail;
	const char *cut;

	if (len)
		buf[0] = 0;
	puts_(&b, name);
	if (!path || !*path)
		return text__columns(buf);
	text__short_path(path, sp, sizeof(sp));
	if (line >= 0)
		snprintf(tail, sizeof(tail), ":%" PRId64 ")", line);
	fixed = text__columns(name) + 2 + strlen(tail);
	avail = width > 0 && (size_t)width > fixed ? width - fixed : 0;
	cut = sp;
	if (width > 0 && text__columns(sp) > avail) {
		/* The longest tail that fits, from a directory boundary. */
		const char *base = strrchr(sp, '/');

		cut = base ? base + 1 : sp;
		for (const char *s = strchr(sp, '/'); s; s = strchr(s + 1, '/'))
			if (1 + text__columns(s) <= avail) {
				cut = s;
				break;
			}
		if (*cut != '/' && text__columns(cut) > avail)
			cut = tail_of(cut, avail > 4 ? avail - 1 : 3);
	}
	puts_(&b, " (");
	if (cut != sp && (*cut == '/' || cut[-1] != '/'))
		puts_(&b, TEXT_ELLIPSIS);
	puts_(&b, cut);
	puts_(&b, tail);
	return text__columns(buf);
}

size_t text__frame(char *buf, size_t len, const struct profile *p,
		   const struct profile_frame *f, int width)
{
	const char *name = profile__str(p, f->name);
	const char *file = profile__str(p, f->file), *slash;
	struct sbuf b = {buf, len, 0};

	if (!*name)
		name = "[unknown]";
	if (len)
		buf[0] = 0;
	switch (f->kind) {
	case FRAME_PYTHON:
		return text__function(buf, len, name, file, f->start_line,
				      width);
	case FRAME_KERNEL:
		puts_(&b, name);
		puts_(&b, "_[k]");
		break;
	case FRAME_NATIVE:
		puts_(&b, name);
		if (*file) {
			slash = strrchr(file, '/');
			puts_(&b, " [");
			puts_(&b, slash ? slash + 1 : file);
			puts_(&b, "]");
		}
		break;
	case FRAME_MARKER:
	default:
		puts_(&b, name);
		break;
	}
	return text__columns(buf);
}

/*
 * v scaled by step through units[] until it shows in at most three digits
 * before the point; three significant digits after rounding.
 */
static const char *scaled(char *buf, double v, double step,
			  const char *const *units, size_t nr_units)
{
	double a = fabs(v);
	size_t u = 0;

	if (v == 0) {
		snprintf(buf, TEXT_VALUE_LEN, "0");
		return buf;
	}
	while (u + 1 < nr_units && a >= 999.5) {
		a /= step;
		v /= step;
		u++;
	}
	if (u == 0 || a >= 99.95)
		snprintf(buf, TEXT_VALUE_LEN, "%.0f %s", v, units[u]);
	else if (a >= 9.995)
		snprintf(buf, TEXT_VALUE_LEN, "%.1f %s", v, units[u]);
	else
		snprintf(buf, TEXT_VALUE_LEN, "%.2f %s", v, units[u]);
	return buf;
}

const char *text__ns(char *buf, double ns)
{
	static const char *const units[] = {"ns", "µs", "ms", "s"};

	return scaled(buf, ns, 1000, units, 4);
}

const char *text__bytes(char *buf, double bytes)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};

	return scaled(buf, bytes, 1024, units, 5);
}

const char *text__value(char *buf, int64_t v, const char *unit)
{
	if (strcmp(unit, "nanoseconds") == 0)
		return text__ns(buf, v);
	if (strcmp(unit, "bytes") == 0)
		return text__bytes(buf, v);
	snprintf(buf, TEXT_VALUE_LEN, "%" PRId64, v);
	return buf;
}

void text__wrap_start(struct text_wrap *w, FILE *out, const char *head)
{
	w->out = out;
	w->width = text__width(out);
	w->indent = w->col = text__columns(head) + 1;
	fputs(head, out);
}

void text__wrap_word(struct text_wrap *w, const char *word)
{
	int n = text__columns(word);

	if (w->width && w->col > w->indent && w->col + 1 + n > w->width) {
		fprintf(w->out, "\n%*s", w->indent - 1, "");
		w->col = w->indent - 1;
	}
	fprintf(w->out, " %s", word);
	w->col += 1 + n;
}

void text__wrap_end(struct text_wrap *w)
{
	fputc('\n', w->out);
}

void text__right(FILE *out, const char *s, int width)
{
	for (int n = width - (int)text__columns(s); n > 0; n--)
		fputc(' ', out);
	fputs(s, out);
}
