/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Text for people: what every terminal table (record, calls, top) shares.
 *
 *   width     the output's terminal width, or unlimited (a file, a pipe)
 *   paths     "site-packages/pkg/mod.py", "<stdlib>/os.py", then cut
 *             from the left ("…/pkg/mod.py") only when the row must fit
 *   functions "name (path:line)": the name is never cut, the path gives way
 *   units     one scale per value: 812 ns, 15.3 µs, 3.02 s, 1.50 MiB
 *
 * Columns are counted in code points (a wide East Asian character is
 * counted as one). Control characters in names (a target's memory is
 * hostile) are shown as '?', so a name cannot break a row.
 */
#ifndef PYSTROBE_TEXT_H
#define PYSTROBE_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "model/profile.h"

#define TEXT_ELLIPSIS "\xe2\x80\xa6" /* U+2026, one column */

/* A table row's function text fits here (a name is never cut short). */
#define TEXT_ROW_LEN 8192

/* Formatted values fit here ("1023 µs", "-999 MiB", NUL). */
#define TEXT_VALUE_LEN 24

/* Columns of out's terminal; 0 (unlimited) when out is not a terminal. */
int text__width(FILE *out);

/* Columns s takes: its UTF-8 code points (stray bytes count one each). */
size_t text__columns(const char *s);

/*
 * A Python source path as a table shows it: from the last site-packages/
 * or dist-packages/ component on ("site-packages/requests/api.py"); a
 * standard library file as "<stdlib>/json/decoder.py" (a file under
 * .../lib/pythonX.Y/); anything else unchanged. Writes a NUL-terminated
 * string of at most len bytes to buf and returns buf.
 */
const char *text__short_path(const char *path, char *buf, size_t len);

/*
 * "name (path:line)" in at most width columns (0: unlimited): the path
 * is shortened (text__short_path), then cut from the left at a directory
 * ("…/mod.py"), then to its file name alone, then to the end of that
 * ("…load.py", three characters at least); the name is never cut, so a
 * long name may still overflow. line < 0 leaves ":line" out; path NULL or
 * "" gives the name alone. Returns the columns written.
 */
size_t text__function(char *buf, size_t len, const char *name, const char *path,
		      int64_t line, int width);

/*
 * A profile frame as a table row names it: Python frames as
 * text__function with the function's first line, native frames as
 * "symbol [module]" (the module's file name), kernel frames "symbol_[k]",
 * pseudo-frames as they are. Returns the columns written.
 */
size_t text__frame(char *buf, size_t len, const struct profile *p,
		   const struct profile_frame *f, int width);

/*
 * Scaled to three significant digits, one unit per value: nanoseconds as
 * ns, µs, ms or s ("0" for zero); bytes as B, KiB, MiB, GiB or TiB.
 * buf holds TEXT_VALUE_LEN bytes. Both return buf.
 */
const char *text__ns(char *buf, double ns);
const char *text__bytes(char *buf, double bytes);

/*
 * A value of a profile's sample type in its unit: "nanoseconds" and
 * "bytes" scaled as above, anything else (counts) as a whole number.
 */
const char *text__value(char *buf, int64_t v, const char *unit);

/* Writes s right-aligned in a field of width columns (fputs when wider). */
void text__right(FILE *out, const char *s, int width);

/*
 * A line of words ("lost: a=0 b=3 ...") that breaks between words to stay
 * within out's terminal width, continuation lines indented under the first
 * word: text__wrap_start writes the head, text__wrap_word one word (a space
 * or a line break before it), text__wrap_end the final newline.
 */
struct text_wrap {
	FILE *out;
	int width, col, indent;
};

void text__wrap_start(struct text_wrap *w, FILE *out, const char *head);
void text__wrap_word(struct text_wrap *w, const char *word);
void text__wrap_end(struct text_wrap *w);

#endif
