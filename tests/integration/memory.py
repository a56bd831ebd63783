# SPDX-License-Identifier: BSD-2-Clause
"""pystrobe memory: sampled allocation sites against the workload's own
truth (sizes measured with tracemalloc, counts by construction), leaks
against caches, temporaries, the peak, tracemalloc's exact live bytes,
realloc, fork and threads, bad input."""

import json
import os

from harness import (
    check, dur, Fail, once, per_interp, pick_interps, read_result, run, tail,
    workload_env)

# Sampling every 16 KiB: a site's estimate is within a few % at these sizes
# (the error of a site of B bytes is about sqrt(rate / B)).
RATE = "16K"
SITES = ("temp_a", "temp_b", "leak", "fill_cache", "make_objects")


def memory_json(ctx, it, prof, argv_tail, env=None, extra=(), timeout=240):
    """pystrobe memory -f json -o prof [extra] -- argv_tail -> (rc, out, err, doc)."""
    if os.path.exists(prof):
        os.unlink(prof)
    rc, out, err, dt = ctx.ps(["memory", "--rate", RATE, "--interval", "0.2", "-f", "json",
                               "-o", prof] + list(extra) + ["--"] + argv_tail, timeout, env=env)
    check(os.path.exists(prof), "no output written (rc %d): %s" % (rc, tail(err)))
    with open(prof) as f:
        try:
            return rc, out, err, json.load(f)
        except ValueError as e:
            raise Fail("memory JSON does not parse: %s" % e)


def rows_of(entries, script):
    """Entries of our workload by bare function name."""
    return {e["name"].split(".")[-1]: e for e in entries if e["file"].endswith("/" + script)}


def within(got, want, tol):
    return want > 0 and abs(got - want) <= tol * want


def mib(b):
    return "%.1f" % (b / 1048576.0)


def check_lost(doc, errs, names=("unknown_frees", "untracked_samples", "live_map_full",
                                 "site_map_full", "proc_map_full", "probe_runs_skipped")):
    bad = {k: doc["lost"].get(k) for k in names if doc["lost"].get(k)}
    if bad:
        errs.append("drops %s" % bad)


@per_interp("memory", order=160, quick=True)
def t_memory(ctx, it):
    """memory -- CMD: bytes and objects per site, in use, peak, the leak
    flagged and neither the cache nor the temporaries."""
    scale = dur(ctx, 1.0, 0.25)
    tout, hout = it.out("memory.out")
    prof = os.path.join(ctx.tmp, "%s-memory.json" % it.label)
    rc, out, err, doc = memory_json(ctx, it, prof, it.argv("memory.py", tout, scale))
    check(rc == 0, "exit status %d; stderr: %s" % (rc, tail(err)))
    check(b"memory workload done" in out, "command's stdout not passed through: %r" % tail(out))
    truth = read_result(hout)
    fns = rows_of(doc["functions"], "memory.py")
    errs, msgs = [], []
    for name in SITES:
        f = fns.get(name)
        want_b, want_n = truth["alloc"][name]
        use_b, use_n = truth["inuse"][name]
        if not f:
            errs.append("no row for %s" % name)
            continue
        msgs.append("%s %s/%s MiB" % (name, mib(f["alloc_bytes"]), mib(want_b)))
        if not within(f["alloc_bytes"], want_b, 0.10):
            errs.append("%s allocated %d bytes, truth %d" % (name, f["alloc_bytes"], want_b))
        if use_b == 0 and f["inuse_bytes"] > 0.01 * want_b:
            errs.append("%s in use %d, but all freed" % (name, f["inuse_bytes"]))
        if name in ("leak", "fill_cache") and not within(f["inuse_bytes"], use_b, 0.15):
            errs.append("%s in use %d bytes, truth %d" % (name, f["inuse_bytes"], use_b))
        # peak: the leak and the cache are whole at the end, the peak
        if name in ("leak", "fill_cache") and not within(f["peak_bytes"], use_b, 0.15):
            errs.append("%s at peak %d bytes, truth %d" % (name, f["peak_bytes"], use_b))
        if name in ("temp_a", "temp_b") and f["peak_bytes"] > 4 * truth["sizes"]["block"] * 2:
            errs.append("%s at peak %d bytes: a temporary holds one block" % (
                name, f["peak_bytes"]))
    mo = fns.get("make_objects")
    if mo:
        want_n = truth["alloc"]["make_objects"][1]
        msgs.append("objects %d/%d" % (mo["alloc_objects"], want_n))
        if not within(mo["alloc_objects"], want_n, 0.15):
            errs.append("make_objects %d objects, truth %d" % (mo["alloc_objects"], want_n))
    leaks = rows_of(doc["leaks"], "memory.py")
    temps = rows_of(doc["temporaries"], "memory.py")
    if set(leaks) != {"leak"}:
        errs.append("leaks %s, expected only leak" % sorted(leaks))
    if set(temps) != {"temp_a", "temp_b"}:
        errs.append("temporaries %s, expected temp_a and temp_b" % sorted(temps))
    lk = leaks.get("leak")
    if lk:
        r = lk["growth_bytes_per_s"] / truth["leak_bytes_per_s"]
        msgs.append("leak growth %s MiB/s (x%.2f)" % (mib(lk["growth_bytes_per_s"]), r))
        if not 0.75 <= r <= 1.25:
            errs.append("leak growth %.0f B/s, truth %.0f" % (lk["growth_bytes_per_s"],
                                                             truth["leak_bytes_per_s"]))
        if not 0.5 * truth["elapsed"] <= lk["age_s"] <= truth["elapsed"] + 1:
            errs.append("leak oldest sample %.2f s old, run %.2f s" % (lk["age_s"],
                                                                      truth["elapsed"]))
    pts = [p for p in doc["timeline"] if p["rss_bytes"] is not None]
    if len(pts) < 5 or not all(p["rss_bytes"] > 0 for p in pts):
        errs.append("timeline: %d points with RSS" % len(pts))
    elif max(p["heap_live_bytes"] or 0 for p in pts) < truth["inuse"]["leak"][0] * 0.5:
        errs.append("timeline: live heap never above half the leak: %s" % pts[-3:])
    views = [v for v in doc["views"] if v["view"] == "heap"]
    if len(views) != 1:
        errs.append("views %s" % doc["views"])
    check_lost(doc, errs)
    if errs:
        raise Fail("; ".join(errs[:8]) + " [" + "; ".join(msgs) + "]")
    return "; ".join(msgs)


@per_interp("memory-tracemalloc", order=161)
def t_memory_tracemalloc(ctx, it):
    """Live bytes of the workload's own lines against tracemalloc's exact
    figure (PYTHONTRACEMALLOC=1: tracemalloc's hooks are installed before
    ours, so ours wrap another tool's)."""
    tout, hout = it.out("memory-tm.out")
    prof = os.path.join(ctx.tmp, "%s-memory-tm.json" % it.label)
    env = workload_env()
    env["PYTHONTRACEMALLOC"] = "1"
    rc, out, err, doc = memory_json(ctx, it, prof, it.argv("memory.py", tout, 1.0, 12),
                                    env=env)
    check(rc == 0, "exit status %d; stderr: %s" % (rc, tail(err)))
    truth = read_result(hout)
    want = truth["tracemalloc_live"]
    got = sum(e["inuse_bytes"] for e in doc["lines"] if e["file"].endswith("/memory.py"))
    msg = "live %s MiB, tracemalloc %s MiB" % (mib(got), mib(want))
    check(want >= 50e6, "tracemalloc saw only %d live bytes: " % want + msg)
    check(within(got, want, 0.10), msg)
    errs = []
    check_lost(doc, errs)
    check(not errs, "; ".join(errs) + " [" + msg + "]")
    return msg


@per_interp("memory-misc", order=162, quick=True)
def t_memory_misc(ctx, it):
    """Threads, realloc (a block grown in place or moved), allocations
    without the GIL, and a fork while threads allocate: figures right, every
    sampled free matched, the child unharmed."""
    scale = dur(ctx, 1.0, 0.5)
    tout, hout = it.out("memory-misc.out")
    prof = os.path.join(ctx.tmp, "%s-memory-misc.json" % it.label)
    rc, out, err, doc = memory_json(ctx, it, prof, it.argv("memory_misc.py", tout, scale),
                                    timeout=120)
    check(rc == 0, "exit status %d; stderr: %s" % (rc, tail(err)))
    truth = read_result(hout)
    fns = rows_of(doc["functions"], "memory_misc.py")
    errs, msgs = [], []
    for name, key, tol in (("in_thread", "alloc_bytes", 0.10),
                           ("keep_in_thread", "inuse_bytes", 0.15),
                           ("grow", "inuse_bytes", 0.15)):
        want = truth["grow_inuse" if name == "grow" else name]
        got = fns.get(name, {}).get(key, 0)
        msgs.append("%s %s %s/%s MiB" % (name, key, mib(got), mib(want)))
        if not within(got, want, tol):
            errs.append("%s %s %d, truth %d" % (name, key, got, want))
    if "compress" not in fns or fns["compress"]["alloc_bytes"] <= 0:
        errs.append("no allocations charged to compress (RAW, without the GIL)")
    if truth["child_status"] != 0:
        errs.append("forked child exited %s" % truth["child_status"])
    check_lost(doc, errs)
    if errs:
        raise Fail("; ".join(errs) + " [" + "; ".join(msgs) + "]")
    return "; ".join(msgs) + "; child ok, no unknown frees"
