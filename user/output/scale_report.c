// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include "output/findings_report.h"
#include "output/html.h"
#include "output/json_doc.h"
#include "output/scale_report.h"

static const char *skip_text(enum scale_skip s)
{
	return s == SCALE_MISSING ? "not in every run" : "too small to fit";
}

static const char *secs(char *buf, double s)
{
	if (s >= 1)
		snprintf(buf, 32, "%.2f s", s);
	else if (s >= 1e-3)
		snprintf(buf, 32, "%.1f ms", s * 1e3);
	else
		snprintf(buf, 32, "%.1f us", s * 1e6);
	return buf;
}

static double predicted(const struct scale_fit *fit, double n)
{
	return exp(fit->intercept) * pow(n, fit->exponent);
}

int scale_report__table(const struct scale_result *r, int max_rows, FILE *out)
{
	size_t rows = r->nr_funcs, last = r->nr_sizes - 1;
	double n = r->nr_sizes ? r->sizes[last] : 0;
	char head[32], at[32];

	if (!r->nr_sizes)
		return -EINVAL;
	if (max_rows > 0 && (size_t)max_rows < rows)
		rows = max_rows;
	fprintf(out, "n =");
	for (size_t i = 0; i < r->nr_sizes; i++)
		fprintf(out, "%s %.0f", i ? "," : "", r->sizes[i]);
	fprintf(out,
		" (%zu run%s in all, %s mode); time: %s, median per size; "
		"fit: t = a * n^k on log-log, 95 %% interval of k\n",
		r->nr_runs, r->nr_runs == 1 ? "" : "s", r->mode,
		r->have_calls ? "inclusive wall time" : "inclusive CPU time");
	snprintf(head, sizeof(head), "TIME@%.0f", n);
	snprintf(at, sizeof(at), "AT n=%.0f", 10 * n);
	fprintf(out, "%11s  %-20s %6s  %-10s %6s %8s %6s %11s  %s\n", head,
		"TIME EXP [95 %]", "R2", "CLASS", "CALLS", "PER-CALL", "SELF",
		at, "FUNCTION");
	for (size_t i = 0; i < rows; i++) {
		const struct scale_function *f = &r->funcs[i];
		char t[32], p[32], k[40], c[16] = "-", pc[16] = "-",
					  self[16] = "-";

		secs(t, scale__median_at(r, f->seconds, last));
		if (f->skip) {
			fprintf(out,
				"%11s  %-20s %6s  %-10s %6s %8s %6s %11s  "
				"%s (%s:%ld)\n",
				t, skip_text(f->skip), "", "", "", "", "", "",
				f->name, f->file, f->line);
			continue;
		}
		snprintf(k, sizeof(k), "%5.2f [%5.2f, %5.2f]", f->time.exponent,
			 f->time.lo, f->time.hi);
		if (r->have_calls) {
			snprintf(c, sizeof(c), "%6.2f", f->calls_fit.exponent);
			snprintf(pc, sizeof(pc), "%8.2f",
				 f->time.exponent - f->calls_fit.exponent);
		}
		if (!f->self_skip)
			snprintf(self, sizeof(self), "%6.2f", f->self.exponent);
		fprintf(out,
			"%11s  %-20s %6.3f  %-10s %6s %8s %6s %11s  %s "
			"(%s:%ld)\n",
			t, k, f->time.r2,
			scale__complexity_name(f->time.complexity), c, pc, self,
			secs(p, predicted(&f->time, 10 * n)), f->name, f->file,
			f->line);
	}
	if (rows < r->nr_funcs)
		fprintf(out, "(%zu more functions)\n", r->nr_funcs - rows);
	return ferror(out) ? -EIO : 0;
}

/* A number, or null when not fitted. */
static struct json_object *num(bool ok, double v)
{
	char digits[32];

	if (!ok || !isfinite(v))
		return NULL;
	snprintf(digits, sizeof(digits), "%.4g", v);
	return json_object_new_double_s(v, digits);
}

/* Per-size medians of a per-run series. */
static struct json_object *medians(const struct scale_result *r,
				   const double *series)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < r->nr_sizes; i++)
		json_object_array_add(
			a, num(true, scale__median_at(r, series, i)));
	return a;
}

/* The document, or NULL when out of memory. */
static struct json_object *scale_doc(const struct scale_result *r,
				     const struct finding_list *findings)
{
	struct json_object *root = json_object_new_object();
	struct json_object *sizes = json_object_new_array();
	struct json_object *funcs = json_object_new_array();
	double n = r->nr_sizes ? r->sizes[r->nr_sizes - 1] : 0;
	int err = 0;

	if (!root || !sizes || !funcs) {
		json_object_put(root);
		json_object_put(sizes);
		json_object_put(funcs);
		return NULL;
	}
	json_object_object_add(root, "kind", json_object_new_string("scale"));
	json_object_object_add(root, "mode", json_object_new_string(r->mode));
	json_object_object_add(root, "runs", json_object_new_int64(r->nr_runs));
	for (size_t i = 0; i < r->nr_sizes; i++)
		json_object_array_add(sizes,
				      json_object_new_int64(r->sizes[i]));
	json_object_object_add(root, "sizes", sizes);
	for (size_t i = 0; i < r->nr_funcs; i++) {
		const struct scale_function *f = &r->funcs[i];
		struct json_object *o = json_object_new_object();
		struct json_object *iv = NULL, *self_iv = NULL;
		bool fit = !f->skip, calls = fit && r->have_calls;

		if (!o) {
			err = -ENOMEM;
			break;
		}
		json_object_object_add(o, "name",
				       json_object_new_string(f->name));
		json_object_object_add(o, "file",
				       json_object_new_string(f->file));
		json_object_object_add(o, "line",
				       json_object_new_int64(f->line));
		json_object_object_add(o, "time_exponent",
				       num(fit, f->time.exponent));
		if (fit) {
			iv = json_object_new_array();
			json_object_array_add(iv, num(true, f->time.lo));
			json_object_array_add(iv, num(true, f->time.hi));
		}
		json_object_object_add(o, "time_interval", iv);
		json_object_object_add(o, "calls_exponent",
				       num(calls, f->calls_fit.exponent));
		json_object_object_add(
			o, "per_call_exponent",
			num(calls, f->time.exponent - f->calls_fit.exponent));
		json_object_object_add(o, "self_exponent",
				       num(!f->self_skip, f->self.exponent));
		if (!f->self_skip) {
			self_iv = json_object_new_array();
			json_object_array_add(self_iv, num(true, f->self.lo));
			json_object_array_add(self_iv, num(true, f->self.hi));
		}
		json_object_object_add(o, "self_interval", self_iv);
		json_object_object_add(
			o, "complexity",
			json_object_new_string(
				fit ? scale__complexity_name(f->time.complexity)
				    : skip_text(f->skip)));
		json_object_object_add(o, "r2", num(fit, f->time.r2));
		json_object_object_add(o, "predicted_seconds",
				       num(fit, predicted(&f->time, 10 * n)));
		json_object_object_add(o, "seconds", medians(r, f->seconds));
		json_object_object_add(o, "self_seconds",
				       medians(r, f->self_seconds));
		json_object_object_add(o, "calls",
				       r->have_calls ? medians(r, f->calls)
						     : NULL);
		json_object_array_add(funcs, o);
	}
	json_object_object_add(root, "functions", funcs);
	json_object_object_add(root, "predicted_at",
			       json_object_new_int64(10 * n));
	if (findings)
		json_object_object_add(root, "findings",
				       findings_report__json(findings));
	if (err) {
		json_object_put(root);
		return NULL;
	}
	return root;
}

int scale_report__json(const struct scale_result *r,
		       const struct finding_list *findings, FILE *out)
{
	struct json_object *doc = scale_doc(r, findings);
	int err;

	if (!doc)
		return -ENOMEM;
	err = json_doc__put(out, doc, false, true);
	if (!err && fputc('\n', out) == EOF)
		err = -EIO;
	json_object_put(doc);
	return err;
}

int scale_report__html(const struct scale_result *r,
		       const struct finding_list *findings, FILE *out)
{
	struct json_object *doc = scale_doc(r, findings);
	int err;

	if (!doc)
		return -ENOMEM;
	err = html__write_document(doc, out);
	json_object_put(doc);
	return err;
}
