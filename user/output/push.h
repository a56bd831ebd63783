/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Pushing profiles to a Pyroscope server while recording, through its HTTP
 * ingest API:
 *
 *   POST URL/ingest?name=APP.TYPE{pid=..,host=..[,cgroup=..]}&from=S&until=S
 *        &format=pprof[&sampleRate=HZ]&spyName=pystrobe
 *   body: the interval's profile of that process, gzipped profile.proto
 *
 * TYPE and the rate are the command's: record's "cpu", "offcpu" or "wall"
 * at its frequency; memory's "memory", a heap profile (Go's sample types,
 * which is what Pyroscope's pprof ingestion reads the profile type from)
 * without a rate.
 *
 * A command hands each interval's profile to push__interval (one request per
 * process in it); a thread of the pusher sends them with libcurl. Nothing
 * here ever waits on the server: requests wait in a bounded queue (when it
 * is full the oldest is dropped), a failed one is retried with a growing
 * pause, and one that keeps failing is dropped. Every drop is counted; the
 * command says what was sent and dropped at the end.
 */
#ifndef PYSTROBE_PUSH_H
#define PYSTROBE_PUSH_H

#include <stddef.h>
#include <stdint.h>
#include "model/profile.h"

struct push_opts {
	const char *url;  /* server: http[s]://host[:port][/prefix] */
	const char *app;  /* application name */
	const char *type; /* profile type suffix: "cpu", "memory", ... */
	long sample_rate; /* Hz; 0: no sampleRate parameter */
	int queue;	  /* requests waiting at most; 0: 8 */
	int retries;	  /* further attempts per request; 0: 3 */
	double backoff_s; /* pause before the first retry, doubled after
			     each; 0: 0.5 s */
	double timeout_s; /* one attempt at most; 0: 10 s */
};

struct push_stats {
	uint64_t queued;	 /* requests handed to the queue */
	uint64_t sent;		 /* accepted by the server (2xx) */
	uint64_t bytes;		 /* bodies sent */
	uint64_t retried;	 /* attempts that failed and were retried */
	uint64_t dropped_full;	 /* the queue was full: the oldest went */
	uint64_t dropped_failed; /* refused (4xx) or failing past retries */
	uint64_t dropped_exit;	 /* still waiting when the command ended */
	char last_error[160];	 /* of the last failed attempt; "" if none */
};

struct pusher;

/*
 * Checks the options (the URL's scheme, the names), starts the sending
 * thread. NULL with errno set and a one-line reason in why.
 */
struct pusher *push__new(const struct push_opts *o, char *why, size_t why_len);

/*
 * Queues one request per process in p (p's samples of that process; its
 * "cgroup" process label in labels, p or the whole recording, becomes a
 * series label), covering the wall clock interval [from_ns, until_ns).
 * Processes without samples send nothing. Never waits on the server. 0 or
 * a negative errno.
 */
int push__interval(struct pusher *ps, const struct profile *p,
		   const struct profile *labels, int64_t from_ns,
		   int64_t until_ns);

void push__stats(struct pusher *ps, struct push_stats *out);

/* All dropped requests so far. */
uint64_t push__dropped(const struct push_stats *st);

/*
 * What a command says at the end, into buf: "pushed S of N profiles (SIZE)
 * to URL", and when some were dropped "; dropped D (F queue full, X
 * failed, E at exit): LAST ERROR".
 */
void push__summary(const struct push_stats *st, const char *url, char *buf,
		   size_t len);

/*
 * Sends what is still queued for at most grace_s seconds (an attempt under
 * way is cut at that deadline), then stops the thread; what is left is
 * counted in dropped_exit. Fills *final (may be NULL) and frees. Accepts
 * NULL.
 */
void push__free(struct pusher *ps, double grace_s, struct push_stats *final);

#endif
