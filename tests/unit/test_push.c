// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for user/output/push.c against a small HTTP server on
 * 127.0.0.1 in a thread of the test: the request line (query, escaped
 * labels), the body (the process's own samples, readable pprof), and what
 * is counted when the server refuses, fails or is not there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "output/pprof.h"
#include "output/push.h"

#define MAX_REQ 8

struct server {
	int fd, port, status, expect;
	int nr;
	char line[MAX_REQ][2048]; /* request lines */
	char *body[MAX_REQ];
	size_t len[MAX_REQ];
	pthread_t thread;
};

/* Reads one request (headers, then Content-Length bytes), answers status
 * and closes: curl opens a new connection for the next. */
static void serve_one(struct server *s, int c)
{
	char buf[65536], *end, *cl;
	size_t got = 0, want;
	ssize_t n;

	while (got < sizeof(buf) - 1 &&
	       (n = read(c, buf + got, sizeof(buf) - 1 - got)) > 0) {
		got += n;
		buf[got] = 0;
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	end = strstr(buf, "\r\n\r\n");
	cl = strcasestr(buf, "Content-Length:");
	if (!end || !cl)
		return;
	want = strtoul(cl + 15, NULL, 10);
	snprintf(s->line[s->nr], sizeof(s->line[0]), "%.*s",
		 (int)(strchr(buf, '\r') - buf), buf);
	s->body[s->nr] = malloc(want + 1);
	s->len[s->nr] = 0;
	memcpy(s->body[s->nr], end + 4, got - (end + 4 - buf));
	s->len[s->nr] = got - (end + 4 - buf);
	while (s->len[s->nr] < want &&
	       (n = read(c, s->body[s->nr] + s->len[s->nr],
			 want - s->len[s->nr])) > 0)
		s->len[s->nr] += n;
	s->nr++;
	dprintf(c,
		"HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n"
		"\r\n",
		s->status);
}

static void *serve(void *arg)
{
	struct server *s = arg;

	while (s->nr < s->expect) {
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			break;
		serve_one(s, c);
		close(c);
	}
	return NULL;
}

/* A server answering status to the next expect requests. */
static void server_start(struct server *s, int status, int expect)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->status = status;
	s->expect = expect;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 16), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

/* Stops serving; what it got stays readable until server_free. */
static void server_stop(struct server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->fd);
}

static void server_free(struct server *s)
{
	for (int i = 0; i < s->nr; i++)
		free(s->body[i]);
}

/* Two processes; pid 20's cgroup label holds what a series name cannot. */
static struct profile *two_processes(void)
{
	struct profile *p = profile__new();
	struct profile_frame f = {.kind = FRAME_PYTHON, .line = 3};
	uint32_t a, b;
	int64_t v[2] = {2, 2000};

	profile__add_type(p, "samples", "count");
	profile__add_type(p, "cpu", "nanoseconds");
	p->period = 1000;
	f.name = profile__intern(p, "work");
	f.file = profile__intern(p, "/srv/a.py");
	a = profile__add_frame(p, &f);
	f.name = profile__intern(p, "main");
	b = profile__add_frame(p, &f);
	assert_int_equal(profile__add_sample(p, (uint32_t[]){a, b}, 2, v, 10,
					     10, "main", "py"),
			 0);
	v[0] = 5;
	v[1] = 5000;
	assert_int_equal(profile__add_sample(p, &b, 1, v, 20, 21, "w", "py"),
			 0);
	assert_int_equal(
		profile__set_process_label(p, 20, "cgroup", "/cg,x{y}=z"), 0);
	return p;
}

static char *expected_line(int pid, const char *extra)
{
	char host[256] = "", *s;

	gethostname(host, sizeof(host) - 1);
	assert_true(asprintf(&s,
			     "POST "
			     "/ingest?name=pst.unit.cpu%%7Bpid%%3D%d%%2Chost%%"
			     "3D%s%s%%7D&from=1700000000&until=1700000010&"
			     "format=pprof&sampleRate=99&spyName=pystrobe "
			     "HTTP/1.1",
			     pid, host, extra) > 0);
	return s;
}

/* Each process's request: its query and its own samples. */
static void test_requests(void **state)
{
	struct profile *p = two_processes(), *back;
	struct push_opts o = {
		.app = "pst.unit", .type = "cpu", .sample_rate = 99};
	struct push_stats st;
	struct pusher *ps;
	struct server s;
	char url[64], why[256], path[] = "/tmp/pystrobe-push-XXXXXX", *want;
	int fd;

	server_start(&s, 200, 2);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
	o.url = url;
	ps = push__new(&o, why, sizeof(why));
	assert_non_null(ps);
	assert_int_equal(push__interval(ps, p, p, 1700000000123456789LL,
					1700000010987654321LL),
			 0);
	push__free(ps, 10, &st);
	server_stop(&s);
	assert_int_equal(s.nr, 2);
	assert_int_equal(st.queued, 2);
	assert_int_equal(st.sent, 2);
	assert_int_equal(st.bytes, s.len[0] + s.len[1]);
	assert_int_equal(push__dropped(&st), 0);
	want = expected_line(10, "");
	assert_string_equal(s.line[0], want);
	free(want);
	/* ',', '{', '}', '=' in a label value become '_'. */
	want = expected_line(20, "%2Ccgroup%3D%2Fcg_x_y__z");
	assert_string_equal(s.line[1], want);
	free(want);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, s.body[1], s.len[1]), (ssize_t)s.len[1]);
	close(fd);
	assert_int_equal(pprof__read(path, &back), 0);
	unlink(path);
	assert_int_equal(back->nr_samples, 1);
	assert_int_equal(back->samples[0].pid, 20);
	assert_int_equal(back->samples[0].values[1], 5000);
	assert_int_equal(back->time_nanos, 1700000000123456789LL);
	profile__free(back);
	profile__free(p);
	server_free(&s);
}

/* Without a sample rate (memory's heap profiles): no sampleRate. */
static void test_no_rate(void **state)
{
	struct profile *p = two_processes();
	struct push_opts o = {.app = "pst.unit", .type = "memory"};
	char url[64], why[256], host[256] = "", *want;
	struct push_stats st;
	struct pusher *ps;
	struct server s;

	server_start(&s, 200, 2);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
	o.url = url;
	ps = push__new(&o, why, sizeof(why));
	assert_non_null(ps);
	assert_int_equal(push__interval(ps, p, p, 1700000000000000000LL,
					1700000001000000000LL),
			 0);
	push__free(ps, 10, &st);
	server_stop(&s);
	assert_int_equal(st.sent, 2);
	gethostname(host, sizeof(host) - 1);
	assert_true(
		asprintf(&want,
			 "POST "
			 "/ingest?name=pst.unit.memory%%7Bpid%%3D10%%2Chost%%"
			 "3D%s%%7D&from=1700000000&until=1700000001&"
			 "format=pprof&spyName=pystrobe HTTP/1.1",
			 host) > 0);
	assert_string_equal(s.line[0], want);
	free(want);
	profile__free(p);
	server_free(&s);
}

/*
 * Refused (400): dropped at once. Failing (503): retried, then dropped.
 * Both say why.
 */
static void test_refused_and_failing(void **state)
{
	struct profile *p = two_processes();
	struct push_opts o = {
		.app = "a", .type = "cpu", .retries = 2, .backoff_s = 0.01};
	struct push_stats st;
	struct pusher *ps;
	struct server s;
	char url[64], why[256];

	server_start(&s, 400, 2);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
	o.url = url;
	ps = push__new(&o, why, sizeof(why));
	assert_int_equal(push__interval(ps, p, p, 0, 1000000000), 0);
	push__free(ps, 10, &st);
	server_stop(&s);
	assert_int_equal(s.nr, 2);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.retried, 0);
	assert_int_equal(st.dropped_failed, 2);
	assert_string_equal(st.last_error, "HTTP status 400");
	server_free(&s);

	server_start(&s, 503, 6);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
	ps = push__new(&o, why, sizeof(why));
	assert_int_equal(push__interval(ps, p, p, 0, 1000000000), 0);
	push__free(ps, 10, &st);
	server_stop(&s);
	assert_int_equal(s.nr, 6); /* 2 requests x (1 + 2 retries) */
	assert_int_equal(st.retried, 4);
	assert_int_equal(st.dropped_failed, 2);
	assert_string_equal(st.last_error, "HTTP status 503");
	server_free(&s);
	profile__free(p);
}

/*
 * Nobody listening: pushing never waits, the queue keeps the newest, and
 * every request is accounted for as sent or dropped.
 */
static void test_nobody_there(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct profile *p = two_processes();
	struct push_opts o = {.app = "a",
			      .type = "cpu",
			      .queue = 2,
			      .retries = 1,
			      .backoff_s = 0.05};
	socklen_t len = sizeof(a);
	struct push_stats st;
	struct pusher *ps;
	char url[64], why[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* A port just free: bound, then closed. */
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
	o.url = url;
	ps = push__new(&o, why, sizeof(why));
	for (int i = 0; i < 5; i++) /* 10 requests into 2 places */
		assert_int_equal(push__interval(ps, p, p, 0, 1000000000), 0);
	push__free(ps, 0.5, &st);
	assert_int_equal(st.queued, 10);
	assert_int_equal(st.sent, 0);
	assert_true(st.dropped_full >= 10 - 2 - 1);
	assert_int_equal(push__dropped(&st), 10);
	assert_non_null(strstr(st.last_error, "onnect"));
	profile__free(p);
}

static void test_bad_options(void **state)
{
	struct push_opts o = {.url = "ftp://x/", .app = "a", .type = "cpu"};
	char why[256];

	assert_null(push__new(&o, why, sizeof(why)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(why, "http://"));
	o.url = "http://x/";
	o.app = "a b";
	assert_null(push__new(&o, why, sizeof(why)));
	assert_non_null(strstr(why, "--app"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_no_rate),
		cmocka_unit_test(test_refused_and_failing),
		cmocka_unit_test(test_nobody_there),
		cmocka_unit_test(test_bad_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
