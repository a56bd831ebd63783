// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for profile diffs (user/model/profile_diff.c) and their
 * table and JSON writers (user/output/diff_report.c). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "profile_fixture.h"

#include "output/diff_report.h"

static const char *const labels[2] = {"base.pb.gz", "new.pb.gz"};

/* main -> {hot, cold}; weights differ between the two; each profile has
 * a function the other lacks. Strings are interned in different orders. */
static struct profile *cpu_profile(int64_t hot, int64_t cold, bool base)
{
	struct profile *p = profile__new();
	uint32_t m, h, c, only;
	int64_t v;

	profile__add_type(p, "samples", "count");
	if (!base)
		frame(p, FRAME_PYTHON, "padding", "/p.py", 1, 1);
	m = frame(p, FRAME_PYTHON, "main", "/a.py", 3, 1);
	h = frame(p, FRAME_PYTHON, "hot", "/a.py", 11, 10);
	c = frame(p, FRAME_PYTHON, "cold", "/a.py", 21, 20);
	only = frame(p, FRAME_PYTHON, base ? "gone" : "added", "/a.py", 31, 30);
	v = hot;
	profile__add_sample(p, (uint32_t[]){h, m}, 2, &v, 1, 1, NULL, NULL);
	v = cold;
	profile__add_sample(p, (uint32_t[]){c, m}, 2, &v, 1, 1, NULL, NULL);
	v = 10;
	profile__add_sample(p, (uint32_t[]){only, m}, 2, &v, 1, 1, NULL, NULL);
	return p;
}

static const struct diff_func *find(const struct profile_diff *d,
				    const char *name)
{
	for (size_t i = 0; i < d->nr; i++)
		if (!strcmp(d->funcs[i].name, name))
			return &d->funcs[i];
	fail_msg("no function %s", name);
	return NULL;
}

static void test_model(void **state)
{
	struct profile *b = cpu_profile(30, 60, true);
	struct profile *n = cpu_profile(60, 30, false);
	struct profile_diff d;
	char why[256];

	assert_int_equal(
		profile_diff__build(b, n, labels, &d, why, sizeof(why)), 0);
	assert_string_equal(d.kind, "cpu");
	assert_int_equal(d.nr_types, 1);
	const struct diff_func *hot = find(&d, "hot");

	assert_int_equal(hot->line, 10);
	assert_int_equal(profile_diff__value(&d, hot, DIFF_BASE, 0, false), 30);
	assert_int_equal(profile_diff__value(&d, hot, DIFF_NEW, 0, false), 60);
	assert_true(fabs(profile_diff__share(&d, hot, DIFF_BASE, 0, false) -
			 0.3) < 1e-9);
	assert_true(fabs(profile_diff__share(&d, hot, DIFF_NEW, 0, false) -
			 0.6) < 1e-9);
	assert_null(find(&d, "gone")->side[DIFF_NEW]);
	assert_null(find(&d, "added")->side[DIFF_BASE]);
	assert_int_equal(
		profile_diff__value(&d, find(&d, "main"), DIFF_NEW, 0, true),
		100);
	profile_diff__free(&d);
	profile__free(b);
	profile__free(n);
}

static char *render(int (*fn)(const struct profile_diff *, FILE *),
		    const struct profile_diff *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fn(d, f), 0);
	fclose(f);
	return buf;
}

static int table_all(const struct profile_diff *d, FILE *f)
{
	return diff_report__table(d, 0, f);
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no member %s", key);
	return v;
}

static void test_writers(void **state)
{
	struct profile *b = cpu_profile(30, 60, true);
	struct profile *n = cpu_profile(60, 30, false);
	struct profile_diff d;
	struct json_object *doc, *f0;
	char why[256], *s;

	assert_int_equal(
		profile_diff__build(b, n, labels, &d, why, sizeof(why)), 0);
	s = render(table_all, &d);
	/* hot and cold moved by 30 points each; sorted by the change. */
	assert_non_null(strstr(s, "diff of cpu profiles, by samples (count)\n"
				  "base: 100  base.pb.gz\n"
				  "new:  100  new.pb.gz\n"));
	assert_non_null(
		strstr(s, "\n  30.00%   60.00%  +30.00%    30.00%   "
			  "60.00%  +30.00%            +30           "
			  "+30  hot (/a.py:10)\n  60.00%   30.00%  -30.00%"));
	assert_true(strstr(s, "hot (") < strstr(s, "gone ("));
	assert_null(strstr(s, "padding"));
	free(s);

	s = render(diff_report__json, &d);
	doc = json_tokener_parse(s);
	assert_non_null(doc);
	assert_string_equal(json_object_get_string(get(doc, "kind")), "diff");
	assert_string_equal(json_object_get_string(get(doc, "diff_of")), "cpu");
	f0 = json_object_array_get_idx(get(doc, "functions"), 0);
	assert_true(!strcmp(json_object_get_string(get(f0, "name")), "hot") ||
		    !strcmp(json_object_get_string(get(f0, "name")), "cold"));
	assert_int_equal(
		json_object_get_int64(get(f0, "delta_self_samples")) *
				json_object_get_double(
					get(f0, "delta_self_share_samples")) >
			0,
		1);
	assert_int_equal(json_object_get_int64(get(
				 get(get(doc, "new"), "totals"), "samples")),
			 100);
	assert_int_equal(
		json_object_array_length(get(get(doc, "tree"), "columns")), 2);
	json_object_put(doc);
	free(s);
	profile_diff__free(&d);

	/* A profile against itself: every change is zero. */
	assert_int_equal(
		profile_diff__build(b, b, labels, &d, why, sizeof(why)), 0);
	s = render(diff_report__json, &d);
	doc = json_tokener_parse(s);
	for (size_t i = 0; i < json_object_array_length(get(doc, "functions"));
	     i++) {
		json_object_object_foreach(
			json_object_array_get_idx(get(doc, "functions"), i), k,
			v)
		{
			if (!strncmp(k, "delta_", 6))
				assert_true(json_object_get_double(v) == 0);
		}
	}
	json_object_put(doc);
	free(s);
	profile_diff__free(&d);
	profile__free(b);
	profile__free(n);
}

static void test_refused(void **state)
{
	struct profile *b = cpu_profile(1, 1, true);
	struct profile *w = profile__new();
	struct profile_diff d;
	char why[256];

	profile__add_type(w, "offcpu", "nanoseconds");
	assert_int_equal(
		profile_diff__build(b, w, labels, &d, why, sizeof(why)),
		-EINVAL);
	assert_string_equal(why, "cannot compare profiles of different kinds: "
				 "cpu (base.pb.gz) and offcpu (new.pb.gz)");
	profile_diff__free(&d);
	profile__free(b);
	profile__free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_writers),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
