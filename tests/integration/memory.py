# SPDX-License-Identifier: BSD-2-Clause
"""pystrobe memory: sampled allocation sites against the workload's own
truth (sizes measured with tracemalloc, counts by construction), leaks
against caches, temporaries, the peak, tracemalloc's exact live bytes,
realloc, fork and threads, bad input."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from harness import (
    BadInputs, check, dur, Fail, load_pprof, once, parse_folded, per_interp, pick_interps,
    provider_copy, read_result, run, Skip, tail, workload_env)

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


def bare_name(name):
    """qualname -> name (3.9/3.10 report co_name)."""
    return name.split(".")[-1]


def same_facts(doc, errs, what="json"):
    """The document's findings are its leaks and temporaries, one each, at
    the same places (one analysis, shown twice)."""
    fs = doc.get("findings")
    if not isinstance(fs, list):
        errs.append("%s: no findings array" % what)
        return
    got = sorted((f["kind"], f["function"], f["file"], f["line"]) for f in fs
                 if f["kind"] in ("leak", "temporaries"))
    want = sorted([("leak", e["name"], e["file"], e["line"]) for e in doc["leaks"]] +
                  [("temporaries", e["name"], e["file"], e["line"])
                   for e in doc["temporaries"]])
    if got != want:
        errs.append("%s: findings %s, but leaks and temporaries %s" % (what, got, want))


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
    pts = [p for p in doc["timeline"] if p.get("rss_bytes") is not None]
    if len(pts) < 5 or not all(p["rss_bytes"] > 0 for p in pts):
        errs.append("timeline: %d points with RSS" % len(pts))
    elif max(p.get("heap_live_bytes", 0) for p in pts) < truth["inuse"]["leak"][0] * 0.5:
        errs.append("timeline: live heap never above half the leak: %s" % pts[-3:])
    views = [v for v in doc["views"] if v["view"] == "heap"]
    if len(views) != 1:
        errs.append("views %s" % doc["views"])
    same_facts(doc, errs)
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


def growth_rows(doc, script):
    """Growth of our workload per function (its lines summed)."""
    rows = {}
    for e in doc.get("growth", []):
        if e["file"].endswith("/" + script):
            r = rows.setdefault(e["name"].split(".")[-1], dict.fromkeys(
                ("faulted_bytes", "mapped_bytes", "unmapped_bytes"), 0))
            for k in r:
                r[k] += e[k]
    return rows


@per_interp("memory-kernel", order=163)
def t_memory_kernel(ctx, it):
    """--faults: the kernel-only view charges mappings and first touches
    of pages to the Python functions that make them; what stays mapped is
    a leak; RSS over time."""
    tout, hout = it.out("memory-kernel.out")
    prof = os.path.join(ctx.tmp, "%s-memory-kernel.json" % it.label)
    rc, out, err, doc = memory_json(ctx, it, prof, it.argv("memory_kernel.py", tout, 2),
                                    extra=["--faults"], timeout=120)
    check(rc == 0, "exit status %d; stderr: %s" % (rc, tail(err)))
    check(b"kernel-only view (--faults)" in err, "no line naming the view: %s" % tail(err))
    truth = read_result(hout)
    rows = growth_rows(doc, "memory_kernel.py")
    errs, msgs = [], []
    for name, want in truth["mapped"].items():
        got = rows.get(name, {}).get("mapped_bytes", 0)
        msgs.append("%s mapped %s/%s MiB" % (name, mib(got), mib(want)))
        if not within(got, want, 0.05):
            errs.append("%s mapped %d, truth %d" % (name, got, want))
    for name, want in truth["touched"].items():
        got = rows.get(name, {}).get("faulted_bytes", 0)
        msgs.append("%s touched %s/%s MiB" % (name, mib(got), mib(want)))
        if not within(got, want, 0.15):
            errs.append("%s touched %d, truth %d" % (name, got, want))
    leaks = rows_of(doc["leaks"], "memory_kernel.py")
    if not {"map_pages", "big_blocks"} <= set(leaks):
        errs.append("leaks %s, expected map_pages and big_blocks" % sorted(leaks))
    views = [v["view"] for v in doc["views"]]
    if views != ["kernel"]:
        errs.append("views %s" % views)
    rss = [p["rss_bytes"] for p in doc["timeline"] if p.get("rss_bytes")]
    grown = max(rss or [0]) - min(rss or [0])
    msgs.append("RSS grew %s MiB" % mib(grown))
    want_rss = truth["touched"]["touch_pages"] + truth["touched"]["big_blocks"]
    if grown < 0.7 * want_rss:
        errs.append("RSS grew %d over the timeline, %d touched" % (grown, want_rss))
    check_lost(doc, errs, ("live_map_full", "site_map_full", "syscall_map_full",
                           "probe_runs_skipped"))
    if errs:
        raise Fail("; ".join(errs) + " [" + "; ".join(msgs) + "]")
    return "; ".join(msgs)


def evidence_mib(f, pattern, errs):
    """The MiB figure pattern's group matches in f's evidence, in bytes."""
    m = re.search(pattern, f["evidence"])
    if not m:
        errs.append("%s evidence %r does not match %r" % (f["kind"], f["evidence"], pattern))
        return None
    return float(m.group(1)) * 1048576


@per_interp("memory-findings", order=164, quick=True)
def t_memory_findings(ctx, it):
    """memory --findings: the leak and the two temporaries planted in the
    workload, each at its allocating line, with the bytes and rates the
    workload measured; neither the cache that fills then plateaus nor the
    objects replaced every round."""
    scale = dur(ctx, 1.0, 0.25)
    tout, hout = it.out("memory-findings.out")
    prof = os.path.join(ctx.tmp, "%s-memory-findings.json" % it.label)
    rc, out, err, doc = memory_json(ctx, it, prof, it.argv("memory.py", tout, scale),
                                    extra=["--findings"])
    check(rc == 0, "exit status %d; stderr: %s" % (rc, tail(err)))
    truth = read_result(hout)
    lines = truth["lines"]
    check(sorted(doc) == ["findings"], "--findings -f json wrote %s" % sorted(doc))
    errs, msgs, ours = [], [], []
    for f in doc["findings"]:
        missing = [k for k in ("kind", "severity", "function", "file", "line", "share",
                               "evidence") if k not in f]
        check(not missing, "finding %r lacks %s" % (f, missing))
        check(0 <= f["share"] <= 1, "share %r" % f["share"])
        if f["kind"] in ("leak", "temporaries") and f["file"].endswith("/memory.py"):
            check(f["file"] == it.script("memory.py"), "finding in %r, expected %r" % (
                f["file"], it.script("memory.py")))
            ours.append(f)
    planted = (("leak", "leak"), ("temporaries", "temp_a"), ("temporaries", "temp_b"))
    for kind, name in planted:
        got = [f for f in ours if f["kind"] == kind and bare_name(f["function"]) == name]
        if len(got) != 1:
            errs.append("%d %s findings for %s, expected 1" % (len(got), kind, name))
            continue
        f = got[0]
        if f["line"] != lines[name]:
            errs.append("%s for %s at line %s, allocated at %d" % (kind, name, f["line"],
                                                                  lines[name]))
        if kind == "leak":
            held = evidence_mib(f, r"([\d.]+) MiB in use at the end", errs)
            rate = evidence_mib(f, r"still growing ([\d.]+) MiB/s", errs)
            want_held, want_rate = truth["inuse"]["leak"][0], truth["leak_bytes_per_s"]
            if held is not None:
                msgs.append("leak %s/%s MiB held" % (mib(held), mib(want_held)))
                if not within(held, want_held, 0.15):
                    errs.append("leak holds %s MiB, truth %s" % (mib(held), mib(want_held)))
            if rate is not None:
                msgs.append("%s/%s MiB/s" % (mib(rate), mib(want_rate)))
                if not within(rate, want_rate, 0.25):
                    errs.append("leak grows %s MiB/s, truth %s" % (mib(rate), mib(want_rate)))
        else:
            alloc = evidence_mib(f, r"allocates ([\d.]+) MiB", errs)
            want = truth["alloc"][name][0]
            if alloc is not None:
                msgs.append("%s %s/%s MiB" % (name, mib(alloc), mib(want)))
                if not within(alloc, want, 0.10):
                    errs.append("%s allocates %s MiB, truth %s" % (name, mib(alloc), mib(want)))
    wanted = {(k, lines[n]) for k, n in planted}
    extra = [f for f in ours if (f["kind"], f["line"]) not in wanted]
    if extra:
        errs.append("not planted, yet found: %s" % ", ".join(
            "%s %s:%s" % (f["kind"], f["function"], f["line"]) for f in extra))
    if errs:
        raise Fail("; ".join(errs[:8]) + " [" + "; ".join(msgs) + "]")
    return "; ".join(msgs)


def attach_memory(ctx, it, script, wargs, env, seconds):
    """Starts a workload, attaches memory -p for `seconds`; -> (rc, err, doc, workload)."""
    prof = os.path.join(ctx.tmp, "%s-memory-attach.json" % it.label)
    if os.path.exists(prof):
        os.unlink(prof)
    wenv = workload_env()
    wenv.update(env)
    p = ctx.spawn(it.argv(script, *wargs), env=wenv, stdout=subprocess.PIPE)
    time.sleep(1.0)
    check(p.p.poll() is None, "workload exited early (%s)" % p.p.returncode)
    rc, out, err, dt = ctx.ps(["memory", "-p", str(p.pid), "-d", str(seconds), "--rate", RATE,
                               "--interval", "0.2", "-f", "json", "-o", prof], seconds + 60)
    check(os.path.exists(prof), "no output (rc %d): %s" % (rc, tail(err)))
    with open(prof) as f:
        doc = json.load(f)
    return rc, err, doc, p


@once("memory-attach", order=120)
def t_memory_attach(ctx, interps):
    """memory -p: a loaded provider (3.12, told the rate), PEP 768 (3.14,
    3.15), the kernel-only view without either (3.11); the target runs on
    unharmed after pystrobe leaves."""
    msgs, errs = [], []
    by = dict((i.label, i) for i in interps if i.exists())
    for label, how in (("3.12-pyenv", "loaded"), ("3.14-sid", "PEP 768"),
                       ("3.15-sid", "PEP 768"), ("3.11-pyenv", "kernel")):
        it = by.get(label)
        if not it:
            continue
        if not it.tdir:
            it.setup(ctx.run_id)
        env = {"PYTHONPATH": provider_copy(ctx, it)} if how == "loaded" else {}
        tout, hout = it.out("memory-attach.out")
        e = []
        if how == "kernel":
            rc, err, doc, p = attach_memory(ctx, it, "memory_kernel.py", (tout, 4), env, 2)
            rows = growth_rows(doc, "memory_kernel.py")
            if b"kernel-only view (no pystrobe provider loaded" not in err:
                e.append("no line naming the kernel-only view: %s" % tail(err))
            if [v["view"] for v in doc["views"]] != ["kernel"]:
                e.append("views %s" % doc["views"])
            if rows.get("map_pages", {}).get("mapped_bytes", 0) <= 0:
                e.append("no mappings charged to map_pages: %s" % sorted(rows))
        else:
            rc, err, doc, p = attach_memory(ctx, it, "memory.py", (tout, 1.0, 36), env, 2.5)
            fns = rows_of(doc["functions"], "memory.py")
            leaks = rows_of(doc["leaks"], "memory.py")
            if [v["view"] for v in doc["views"]] != ["heap"]:
                e.append("views %s" % doc["views"])
            if set(leaks) != {"leak"}:
                e.append("leaks %s" % sorted(leaks))
            check_lost(doc, e)
        if rc != 0:
            e.append("pystrobe exited %d: %s" % (rc, tail(err)))
        wrc = p.wait(120)
        wout = p.p.stdout.read()
        if wrc != 0 or b"done" not in wout:
            e.append("workload exited %d after pystrobe left: %r" % (wrc, tail(wout)))
        if how != "kernel" and not e:
            truth = read_result(hout)
            rate = truth["alloc"]["temp_a"][0] / truth["elapsed"]
            got = fns.get("temp_a", {}).get("alloc_bytes", 0)
            want = rate * doc["duration_ns"] / 1e9
            msgs.append("%s (%s): temp_a %s/%s MiB" % (label, how, mib(got), mib(want)))
            if not within(got, want, 0.25):
                e.append("temp_a %d bytes in %.1f s, the workload's rate gives %d" % (
                    got, doc["duration_ns"] / 1e9, want))
        elif not e:
            msgs.append("%s (%s view)" % (label, how))
        errs += ["%s (%s): %s" % (label, how, x) for x in e]
    if not msgs and not errs:
        raise Skip("none of the interpreters is here")
    if errs:
        raise Fail("; ".join(errs[:8]) + " [" + "; ".join(msgs) + "]")
    return "; ".join(msgs)


@once("memory-exit-midrun", order=121)
def t_memory_exit_midrun(ctx, interps):
    """A target that exits during the run is still reported."""
    it = pick_interps(ctx, interps, ["3.14-sid", "3.12-pyenv", "3.13-trixie"], 1)[0]
    env = {"PYTHONPATH": provider_copy(ctx, it)} if it.label != "3.14-sid" else {}
    tout, hout = it.out("memory-exit.out")
    t0 = time.monotonic()
    rc, err, doc, p = attach_memory(ctx, it, "memory.py", (tout, 0.5, 24), env, 30)
    took = time.monotonic() - t0
    p.wait(60)
    fns = rows_of(doc["functions"], "memory.py")
    msg = "%s: stopped after %.1f s; temp_a %s MiB, leak %s MiB in use" % (
        it.label, took, mib(fns.get("temp_a", {}).get("alloc_bytes", 0)),
        mib(fns.get("leak", {}).get("inuse_bytes", 0)))
    check(rc == 0, "exit status %d: %s" % (rc, tail(err)))
    check(took < 20, "did not stop when the target exited: " + msg)
    check(fns.get("temp_a", {}).get("alloc_bytes", 0) > 0 and
          fns.get("leak", {}).get("inuse_bytes", 0) > 0, msg)
    return msg


@once("memory-invisible", order=122)
def t_memory_invisible(ctx, interps):
    """The provider loaded but untraced: the workload's output, exit code and
    measured results are unchanged."""
    msgs, errs = [], []
    for it in pick_interps(ctx, interps, ["3.9-pyenv", "3.12-pyenv", "3.14-sid"], 3):
        res = []
        for env in ({}, {"PYTHONPATH": provider_copy(ctx, it)}):
            tout, hout = it.out("memory-inv.out")
            wenv = workload_env()
            wenv.update(env)
            rc, out, err, dt = run(it.argv("memory.py", tout, 0.1, 4), 120, env=wenv)
            r = read_result(hout)
            res.append((rc, out, err, r["alloc"], r["inuse"], r["sizes"]))
        if res[0] != res[1]:
            errs.append("%s: without %r, with the provider %r" % (it.label, res[0][:3], res[1][:3]))
        msgs.append("%s same" % it.label)
    if errs:
        raise Fail("; ".join(errs))
    return "; ".join(msgs)


@once("memory-formats", order=123, quick=True)
def t_memory_formats(ctx, interps):
    """table, folded (--metric) and pprof with Go's heap sample types; the
    findings in the table's FINDINGS section, the JSON's and the HTML
    page's findings array, the same as the temporaries found."""
    it = pick_interps(ctx, interps, ["3.12-pyenv", "3.13-trixie", "3.11-pyenv"], 1)[0]
    tout, hout = it.out("memory-formats.out")
    outs, errs, msgs = {}, [], []
    for fmt, extra in (("table", []), ("folded", ["--metric", "inuse_space"]),
                       ("pprof", []), ("json", []), ("html", [])):
        prof = os.path.join(ctx.tmp, "memory-formats.%s" % fmt)
        rc, out, err, dt = ctx.ps(["memory", "--rate", RATE, "-f", fmt, "-o", prof] + extra
                                  + ["--"] + it.argv("memory.py", tout, 0.25, 8), 120)
        check(rc == 0, "-f %s: exit status %d: %s" % (fmt, rc, tail(err)))
        outs[fmt] = prof
    with open(outs["json"]) as f:
        doc = json.load(f)
    fns = rows_of(doc["functions"], "memory.py")
    with open(outs["table"]) as f:
        table = f.read()
    for name in ("temp_a", "leak", "make_objects"):
        if not re.search(r"\b%s \(.*memory\.py:\d+\)$" % name, table, re.M):
            errs.append("table: no row for %s" % name)
    for section in ("^leaks ", "^temporaries ", "^lost: ", "^FINDINGS"):
        if not re.search(section, table, re.M):
            errs.append("table: no %r section" % section)
    # Each temporary found is a finding in every format (each run finds
    # temp_a and temp_b; the leak needs more series points than 8 rounds).
    same_facts(doc, errs)
    with open(outs["html"]) as f:
        m = re.search(r'<script type="application/json" id="pystrobe-data">(.*?)</script>',
                      f.read(), re.S)
    if not m:
        errs.append("html: no embedded document")
    else:
        same_facts(json.loads(m.group(1)), errs, "html")
    for name in ("temp_a", "temp_b"):
        if not any(bare_name(e["name"]) == name for e in doc["temporaries"]):
            errs.append("json: %s not among the temporaries" % name)
        if not re.search(r"^  \w+ +temporaries +[\d.]+ %%  %s \(.*memory\.py:\d+\): "
                         r"allocates" % name, table, re.M):
            errs.append("table: no temporaries finding for %s" % name)
    with open(outs["folded"]) as f:
        stacks = parse_folded(f.read())
    held = {}
    for frames, v in stacks:
        py = [fr for fr in frames if fr.py]
        if py:
            held[py[-1].name] = held.get(py[-1].name, 0) + v
    top = max(held, key=held.get) if held else None
    msgs.append("folded inuse_space top %s" % top)
    if top != "leak":
        errs.append("folded --metric inuse_space: top leaf %s, expected leak" % top)
    pp, samples = load_pprof(outs["pprof"], [("alloc_objects", "count"), ("alloc_space", "bytes"),
                                             ("inuse_objects", "count"), ("inuse_space", "bytes")])
    got = sum(s.v["alloc_space"] for s in samples if s.names and s.names[0] == "temp_a")
    want = fns.get("temp_a", {}).get("alloc_bytes", 0)
    msgs.append("pprof temp_a %s MiB" % mib(got))
    if not within(got, want, 0.10):
        errs.append("pprof temp_a alloc_space %d, json %d (another run)" % (got, want))
    if shutil.which("go"):
        home = tempfile.mkdtemp(prefix="gohome-", dir=ctx.tmp)
        env = dict(os.environ, HOME=home, GOCACHE=os.path.join(home, "cache"),
                   GOPATH=os.path.join(home, "go"), PPROF_TMPDIR=home)
        rc, out, err, _ = run(["go", "tool", "pprof", "-sample_index=alloc_space", "-top",
                               outs["pprof"]], timeout=180, env=env)
        top = [l.split()[-1] for l in out.decode().splitlines() if re.match(r"\s*[\d.]+[kMG]?B ", l)]
        msgs.append("go tool pprof -sample_index=alloc_space: top %s" % (top[:1],))
        if rc != 0 or not top or top[0] != "temp_a":
            errs.append("go tool pprof -sample_index=alloc_space -top: rc %d, top %s: %s" % (
                rc, top[:3], tail(out + err, 800)))
    if errs:
        raise Fail("; ".join(errs) + " [" + "; ".join(msgs) + "]")
    return "; ".join(msgs)


@once("memory-badinput", order=124, quick=True)
def t_memory_badinput(ctx, interps):
    """Bad flags and targets: one error line, non-zero exit, nothing attached."""
    bad = BadInputs(ctx)
    py = sys.executable
    idle = ctx.spawn([py, "-c", "import time\nwhile True: time.sleep(0.05)"])
    p = str(idle.pid)
    for label, args in [
        ("--rate 0", ["memory", "--rate", "0", "-p", p, "-d", "1"]),
        ("--rate abc", ["memory", "--rate", "abc", "-p", p, "-d", "1"]),
        ("--rate 12Q", ["memory", "--rate", "12Q", "-p", p, "-d", "1"]),
        ("--rate 2G", ["memory", "--rate", "2G", "-p", p, "-d", "1"]),
        ("--rate -5", ["memory", "--rate", "-5", "-p", p, "-d", "1"]),
        ("--interval 0", ["memory", "--interval", "0", "-p", p, "-d", "1"]),
        ("--interval abc", ["memory", "--interval", "abc", "-p", p, "-d", "1"]),
        ("--metric foo", ["memory", "--metric", "foo", "-p", p, "-d", "1"]),
        ("-f chrome", ["memory", "-f", "chrome", "-p", p, "-d", "1"]),
        ("pprof to a terminal", ["memory", "-f", "pprof", "-p", p, "-d", "1"]),
        ("no target", ["memory", "-d", "1"]),
        ("two targets", ["memory", "-p", p, "--all", "-d", "1"]),
        ("-p nonexistent", ["memory", "-p", "999999999", "-d", "1"]),
        ("command not found", ["memory", "--", "/nonexistent/python3"]),
    ]:
        bad.expect(label, args, meaning=True)
    return bad.result()


@once("memory-cgroup", order=125)
def t_memory_cgroup(ctx, interps):
    """--cgroup: a Python process of the scope gets the kernel-only view,
    with its growth charged to its Python functions."""
    from containers import TestCgroup, ns_argv
    from harness import cgroup_mount
    mount = cgroup_mount("cgroup2")
    if not mount:
        raise Skip("no cgroup v2 mount")
    it = pick_interps(ctx, interps, ["3.13-trixie", "3.12-pyenv", "3.11-pyenv"], 1)[0]
    cg = TestCgroup(mount, "pystrobe-mem-%s" % ctx.run_id)
    try:
        tout, hout = it.out("memory-cg.out")
        p = ctx.spawn(cg.wrap(ns_argv(it, "memory_kernel.py", tout, 4)))
        time.sleep(0.5)
        prof = os.path.join(ctx.tmp, "memory-cgroup.json")
        rc, out, err, dt = ctx.ps(["memory", "--cgroup", cg.path, "-d", "2.5", "--rate", RATE,
                                   "--interval", "0.2", "-f", "json", "-o", prof], 120)
        check(rc == 0 and os.path.exists(prof), "exit status %d: %s" % (rc, tail(err)))
        with open(prof) as f:
            doc = json.load(f)
        p.wait(60)
    finally:
        ctx.cleanup()
        cerr = cg.remove()
    views = [(v["view"], v["why"]) for v in doc["views"]]
    rows = growth_rows(doc, "memory_kernel.py")
    msg = "%s: views %s; map_pages mapped %s MiB" % (
        it.label, views, mib(rows.get("map_pages", {}).get("mapped_bytes", 0)))
    check(views == [("kernel", "in a --cgroup/--all scope")], msg)
    check(rows.get("map_pages", {}).get("mapped_bytes", 0) > 0, msg)
    check(b"kernel-only view (in a --cgroup/--all scope)" in err, "no view line: " + tail(err))
    check(not cerr, cerr or "")
    return msg
