// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include "output/pprof.h"
#include "output/push.h"
#include "output/text.h"

/* One POST waiting to be sent. */
struct request {
	char *url;
	char *body;
	size_t len;
};

struct pusher {
	struct push_opts o;
	char *base; /* the URL without a trailing '/' */
	char host[256];
	bool curl_ready, started;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct request *ring; /* o.queue slots */
	int head, nr;
	bool stopping;
	int64_t deadline_ns; /* CLOCK_MONOTONIC; while stopping */
	struct push_stats st;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void free_request(struct request *r)
{
	free(r->url);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* Label names and the app name: what Pyroscope's series names allow. */
static bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		      *s == '.'))
			return false;
	return true;
}

struct pusher *push__new(const struct push_opts *o, char *why, size_t why_len)
{
	struct pusher *ps = calloc(1, sizeof(*ps));
	size_t n;

	if (!ps) {
		snprintf(why, why_len, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	ps->o = *o;
	ps->o.queue = o->queue > 0 ? o->queue : 8;
	ps->o.retries = o->retries > 0 ? o->retries : 3;
	ps->o.backoff_s = o->backoff_s > 0 ? o->backoff_s : 0.5;
	ps->o.timeout_s = o->timeout_s > 0 ? o->timeout_s : 10;
	pthread_mutex_init(&ps->lock, NULL);
	pthread_cond_init(&ps->cond, NULL);
	if (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8)) {
		snprintf(why, why_len,
			 "--push %.200s: not an http:// or https:// URL",
			 o->url);
		goto fail_inval;
	}
	if (!valid_name(o->app) || !valid_name(o->type)) {
		snprintf(why, why_len,
			 "--app %.100s: use letters, digits, '_', '-' and '.'",
			 o->app);
		goto fail_inval;
	}
	ps->base = strdup(o->url);
	ps->ring = calloc(ps->o.queue, sizeof(*ps->ring));
	if (!ps->base || !ps->ring) {
		snprintf(why, why_len, "out of memory");
		push__free(ps, 0, NULL);
		errno = ENOMEM;
		return NULL;
	}
	for (n = strlen(ps->base); n && ps->base[n - 1] == '/'; n--)
		ps->base[n - 1] = 0;
	if (gethostname(ps->host, sizeof(ps->host) - 1) || !ps->host[0])
		snprintf(ps->host, sizeof(ps->host), "unknown");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(why, why_len, "cannot initialize libcurl");
		push__free(ps, 0, NULL);
		errno = EIO;
		return NULL;
	}
	ps->curl_ready = true;
	return ps;
fail_inval:
	push__free(ps, 0, NULL);
	errno = EINVAL;
	return NULL;
}

/* Cuts a transfer short once the pusher is stopping past its deadline. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct pusher *ps = arg;
	bool stop;

	pthread_mutex_lock(&ps->lock);
	stop = ps->stopping && mono_ns() >= ps->deadline_ns;
	pthread_mutex_unlock(&ps->lock);
	return stop;
}

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
	return size * n;
}

enum outcome { SENT, RETRY, REFUSED };

/* One POST; a reason in err when it was not accepted. */
static enum outcome attempt(struct pusher *ps, CURL *c, const struct request *r,
			    char *err, size_t len)
{
	struct curl_slist *hdrs = NULL, *h;
	char curl_err[CURL_ERROR_SIZE] = "";
	long code = 0, timeout = ps->o.timeout_s * 1000;
	CURLcode rc;

	h = curl_slist_append(NULL, "Content-Type: application/octet-stream");
	hdrs = h ? curl_slist_append(h, "Expect:") : NULL;
	if (!hdrs) {
		curl_slist_free_all(h);
		snprintf(err, len, "out of memory");
		return RETRY;
	}
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "pystrobe");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 timeout < 3000 ? timeout : 3000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, ps);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	rc = curl_easy_perform(c);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		snprintf(err, len, "%s",
			 curl_err[0] ? curl_err : curl_easy_strerror(rc));
		return RETRY;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300)
		return SENT;
	snprintf(err, len, "HTTP status %ld", code);
	/* The server may take it later; anything else it never will. */
	return code == 408 || code == 429 || code >= 500 ? RETRY : REFUSED;
}

/*
 * Waits until ns from now, or until stopping makes waiting pointless (the
 * deadline passes). Called and returns with the lock held; false: give up.
 */
static bool pause_locked(struct pusher *ps, int64_t ns)
{
	int64_t until = mono_ns() + ns;
	struct timespec ts;

	for (;;) {
		int64_t now = mono_ns(), end = until;

		if (ps->stopping && now >= ps->deadline_ns)
			return false;
		if (now >= until)
			return true;
		if (ps->stopping && ps->deadline_ns < end)
			end = ps->deadline_ns;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (end - now) / 1000000000LL;
		ts.tv_nsec += (end - now) % 1000000000LL;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ps->cond, &ps->lock, &ts);
	}
}

static void *sender(void *arg)
{
	struct pusher *ps = arg;
	CURL *c = curl_easy_init();
	struct request r;
	char err[160];

	pthread_mutex_lock(&ps->lock);
	for (;;) {
		int64_t backoff = ps->o.backoff_s * 1e9;
		enum outcome out = RETRY;

		while (!ps->nr && !ps->stopping)
			pthread_cond_wait(&ps->cond, &ps->lock);
		if (!ps->nr || (ps->stopping && mono_ns() >= ps->deadline_ns))
			break;
		r = ps->ring[ps->head];
		memset(&ps->ring[ps->head], 0, sizeof(r));
		ps->head = (ps->head + 1) % ps->o.queue;
		ps->nr--;
		for (int i = 0; i <= ps->o.retries; i++) {
			pthread_mutex_unlock(&ps->lock);
			if (c)
				out = attempt(ps, c, &r, err, sizeof(err));
			else
				snprintf(err, sizeof(err), "no curl handle");
			pthread_mutex_lock(&ps->lock);
			if (out != RETRY)
				break;
			snprintf(ps->st.last_error, sizeof(ps->st.last_error),
				 "%s", err);
			if (i == ps->o.retries)
				break;
			ps->st.retried++;
			if (!pause_locked(ps, backoff)) {
				out = RETRY;
				ps->st.dropped_exit++;
				goto next;
			}
			backoff *= 2;
		}
		if (out == SENT) {
			ps->st.sent++;
			ps->st.bytes += r.len;
		} else {
			if (out == REFUSED)
				snprintf(ps->st.last_error,
					 sizeof(ps->st.last_error), "%s", err);
			ps->st.dropped_failed++;
		}
	next:
		free_request(&r);
	}
	pthread_mutex_unlock(&ps->lock);
	curl_easy_cleanup(c);
	return NULL;
}

/* Starts the thread on first use: after the session forked its command. */
static int start(struct pusher *ps)
{
	sigset_t all, old;
	int err;

	if (ps->started)
		return 0;
	/* Signals are the main thread's (stop signals, ptrace stops). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&ps->thread, NULL, sender, ps);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!err) {
		ps->started = true;
		pthread_setname_np(ps->thread, "pystrobe-push");
	}
	return err;
}

/* Takes r into the queue; the oldest waiting request goes when full. */
static void enqueue(struct pusher *ps, struct request *r)
{
	pthread_mutex_lock(&ps->lock);
	if (ps->nr == ps->o.queue) {
		free_request(&ps->ring[ps->head]);
		ps->head = (ps->head + 1) % ps->o.queue;
		ps->nr--;
		ps->st.dropped_full++;
	}
	ps->ring[(ps->head + ps->nr) % ps->o.queue] = *r;
	ps->nr++;
	ps->st.queued++;
	pthread_cond_signal(&ps->cond);
	pthread_mutex_unlock(&ps->lock);
	memset(r, 0, sizeof(*r));
}

/* A label value as a series name can hold it: no ',', '{', '}', '=', '"'. */
static void label_value(char *dst, size_t len, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		dst[i] = strchr(",{}=\"", s[i]) || (unsigned char)s[i] < 0x20
				 ? '_'
				 : s[i];
	dst[i] = 0;
}

/* The URL of pid's request: the query, each value escaped. */
static char *request_url(struct pusher *ps, const struct profile *labels,
			 int64_t pid, int64_t from_ns, int64_t until_ns)
{
	const char *cg = profile__process_label(labels, pid, "cgroup");
	char name[1024], value[512], rate[40] = "", *esc, *url = NULL;
	int64_t from = from_ns / 1000000000LL, until = until_ns / 1000000000LL;

	label_value(value, sizeof(value), cg ? cg : "");
	snprintf(name, sizeof(name), "%s.%s{pid=%lld,host=%s%s%s}", ps->o.app,
		 ps->o.type, (long long)pid, ps->host, cg ? ",cgroup=" : "",
		 value);
	esc = curl_easy_escape(NULL, name, 0);
	if (!esc)
		return NULL;
	if (until <= from)
		until = from + 1;
	if (ps->o.sample_rate > 0)
		snprintf(rate, sizeof(rate), "&sampleRate=%ld",
			 ps->o.sample_rate);
	if (asprintf(&url,
		     "%s/ingest?name=%s&from=%lld&until=%lld&format=pprof"
		     "%s&spyName=pystrobe",
		     ps->base, esc, (long long)from, (long long)until,
		     rate) < 0)
		url = NULL;
	curl_free(esc);
	return url;
}

/* p's samples of pid over [from_ns, until_ns), gzipped pprof, into r. */
static int encode(const struct profile *p, const struct profile *labels,
		  int64_t pid, int64_t from_ns, int64_t until_ns,
		  struct request *r)
{
	struct profile *one = profile__new_like(p);
	const char *cg;
	FILE *f;
	int err;

	if (!one)
		return -ENOMEM;
	one->time_nanos = from_ns;
	one->duration_nanos = until_ns - from_ns;
	err = profile__merge(one, p, pid);
	cg = profile__process_label(labels, pid, "cgroup");
	if (!err && cg)
		err = profile__set_process_label(one, pid, "cgroup", cg);
	f = err ? NULL : open_memstream(&r->body, &r->len);
	if (!err && !f)
		err = -errno;
	if (!err) {
		err = pprof__write(one, f);
		if (fclose(f) && !err)
			err = -ENOMEM;
	}
	profile__free(one);
	return err;
}

static int cmp_pid(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int push__interval(struct pusher *ps, const struct profile *p,
		   const struct profile *labels, int64_t from_ns,
		   int64_t until_ns)
{
	int64_t *pids = malloc((p->nr_samples ?: 1) * sizeof(*pids));
	size_t n = 0;
	int err;

	if (!pids)
		return -ENOMEM;
	for (size_t i = 0; i < p->nr_samples; i++)
		pids[n++] = p->samples[i].pid;
	qsort(pids, n, sizeof(*pids), cmp_pid);
	err = n ? start(ps) : 0;
	for (size_t i = 0; !err && i < n; i++) {
		struct request r = {};

		if (i && pids[i] == pids[i - 1])
			continue;
		r.url = request_url(ps, labels, pids[i], from_ns, until_ns);
		err = r.url ? encode(p, labels, pids[i], from_ns, until_ns, &r)
			    : -ENOMEM;
		if (!err)
			enqueue(ps, &r);
		free_request(&r);
	}
	free(pids);
	return err;
}

void push__stats(struct pusher *ps, struct push_stats *out)
{
	pthread_mutex_lock(&ps->lock);
	*out = ps->st;
	pthread_mutex_unlock(&ps->lock);
}

uint64_t push__dropped(const struct push_stats *st)
{
	return st->dropped_full + st->dropped_failed + st->dropped_exit;
}

void push__summary(const struct push_stats *st, const char *url, char *buf,
		   size_t len)
{
	char size[TEXT_VALUE_LEN];
	int n;

	n = snprintf(buf, len, "pushed %llu of %llu profiles (%s) to %s",
		     (unsigned long long)st->sent,
		     (unsigned long long)st->queued,
		     text__bytes(size, st->bytes), url);
	if (push__dropped(st) && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - n,
			 "; dropped %llu (%llu queue full, %llu failed, %llu "
			 "at exit): %s",
			 (unsigned long long)push__dropped(st),
			 (unsigned long long)st->dropped_full,
			 (unsigned long long)st->dropped_failed,
			 (unsigned long long)st->dropped_exit, st->last_error);
}

void push__free(struct pusher *ps, double grace_s, struct push_stats *final)
{
	if (!ps)
		return;
	if (ps->started) {
		pthread_mutex_lock(&ps->lock);
		ps->stopping = true;
		ps->deadline_ns = mono_ns() + grace_s * 1e9;
		pthread_cond_broadcast(&ps->cond);
		pthread_mutex_unlock(&ps->lock);
		pthread_join(ps->thread, NULL);
	}
	for (; ps->ring && ps->nr; ps->nr--) {
		free_request(&ps->ring[ps->head]);
		ps->head = (ps->head + 1) % ps->o.queue;
		ps->st.dropped_exit++;
	}
	if (final)
		*final = ps->st;
	if (ps->curl_ready)
		curl_global_cleanup();
	pthread_cond_destroy(&ps->cond);
	pthread_mutex_destroy(&ps->lock);
	free(ps->ring);
	free(ps->base);
	free(ps);
}
