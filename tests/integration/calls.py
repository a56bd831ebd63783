# SPDX-License-Identifier: BSD-2-Clause
"""pystrobe calls: exact call counts, thread churn, output formats,
attaching, the provider's invisibility."""

import json
import os
import re

from harness import (
    check, dur, Fail, load_pprof, once, parse_folded, per_interp, pick_interps, provider_copy,
    read_result, run, Skip, tail, wait_attached, wait_for_file, workload_env)


def calls_funcs(doc, path=None):
    """Rows of our workload (calls.py, or the one at path), by bare name
    (3.9/3.10 have no qualname)."""
    rows, dup = {}, set()
    for f in doc["functions"]:
        if f["file"] == path if path else f["file"].endswith("/calls.py"):
            name = f["name"].split(".")[-1]
            if name in rows:
                dup.add(name)
            rows[name] = f
    for name in dup:  # e.g. two <genexpr>: not ours to check
        del rows[name]
    return rows


def calls_json(ctx, argv, prof, timeout=180):
    rc, out, err, dt = ctx.ps(argv, timeout)
    return rc, out, err, dt, calls_load(prof, err)


def calls_load(prof, err=b""):
    check(os.path.exists(prof), "no output written to %s; stderr %s" % (prof, tail(err)))
    with open(prof) as f:
        try:
            return json.load(f)
        except ValueError as e:
            raise Fail("calls JSON does not parse: %s" % e)


def check_counts(doc, truth, errs, kinds=("calls", "resumes", "unwinds"), skip=(), path=None):
    rows = calls_funcs(doc, path)
    for kind in kinds:
        for name, want in truth[kind].items():
            if name in skip:
                continue
            got = rows.get(name, {}).get(kind)
            if got != want:
                errs.append("%s %s=%s, expected %d" % (name, kind, got, want))
    return rows


def check_lost_zero(doc, errs, names=("calls_too_deep", "returns_missed", "path_map_full",
                                      "thread_map_full", "name_map_full",
                                      "probe_runs_skipped")):
    bad = {k: v for k, v in doc.get("lost", {}).items() if k in names and v}
    if bad:
        errs.append("drops %s" % bad)


@per_interp("calls", order=140, quick=True)
def t_calls(ctx, it):
    """calls -- CMD: exact counts, recursion, generators, exceptions, CPU vs off-CPU.
    With --raw: the times are checked against the workload's own clocks,
    which run under tracing and so include its cost (calls-calibrated checks
    the calibrated times)."""
    scale = dur(ctx, 10, 1)
    tout, hout = it.out("calls.out")
    prof = os.path.join(ctx.tmp, "%s-calls.json" % it.label)
    rc, out, err, dt, doc = calls_json(
        ctx, ["calls", "-f", "json", "-o", prof, "--raw", "--"]
        + it.argv("calls.py", tout, scale, 5), prof)
    check(rc == 5, "exit status %d, expected the command's 5; stderr: %s" % (rc, tail(err)))
    check(b"calls workload done" in out, "command's stdout not passed through: %r" % tail(out))
    truth = read_result(hout)
    errs = []
    rows = check_counts(doc, truth, errs)
    check_lost_zero(doc, errs)
    fib, slp, brn = rows.get("fib"), rows.get("sleeper"), rows.get("burner")
    msgs = ["%d functions, %d of ours" % (len(doc["functions"]), len(rows))]
    if fib:
        # recursion counted once: fib's inclusive time is that of fib(20)
        r = fib["total_ns"] / 1e9 / truth["fib_wall"]
        msgs.append("fib total %.1f/%.1fms self %.1fms" % (
            fib["total_ns"] / 1e6, truth["fib_wall"] * 1e3, fib["self_ns"] / 1e6))
        if not 0.6 <= r <= 1.05:
            errs.append("fib total %.1f ms vs fib(20) wall %.1f ms" % (
                fib["total_ns"] / 1e6, truth["fib_wall"] * 1e3))
        if abs(fib["self_ns"] - fib["total_ns"]) > 0.05 * fib["total_ns"]:
            errs.append("fib self %.1f ms != total %.1f ms (only fib under fib)" % (
                fib["self_ns"] / 1e6, fib["total_ns"] / 1e6))
    if slp:
        want_off = (truth["sleep_wall"] - truth["sleep_cpu"]) * 1e9
        msgs.append("sleeper off %.1f/%.1fms cpu %.2fms" % (
            slp["offcpu_ns"] / 1e6, want_off / 1e6, slp["cpu_ns"] / 1e6))
        if abs(slp["total_ns"] - truth["sleep_wall"] * 1e9) > 0.1 * truth["sleep_wall"] * 1e9:
            errs.append("sleeper total %.1f ms vs measured %.1f ms" % (
                slp["total_ns"] / 1e6, truth["sleep_wall"] * 1e3))
        missed = doc["lost"].get("switch_out_missed", 0)
        if abs(slp["offcpu_ns"] - want_off) > 0.1 * want_off:
            if slp["offcpu_ns"] < want_off and missed:
                # the kernel skipped our sched_switch program; counted
                msgs.append("sleeper off-CPU short, counted: switch_out_missed=%d" % missed)
            else:
                errs.append("sleeper off-CPU %.1f ms vs measured %.1f ms (lost %s)" % (
                    slp["offcpu_ns"] / 1e6, want_off / 1e6, doc["lost"]))
    if brn:
        msgs.append("burner cpu %.1f/%.1fms" % (brn["cpu_ns"] / 1e6, truth["burn_cpu"] * 1e3))
        if abs(brn["cpu_ns"] - truth["burn_cpu"] * 1e9) > 0.1 * truth["burn_cpu"] * 1e9 + 5e6:
            errs.append("burner CPU %.1f ms vs thread_time %.1f ms" % (
                brn["cpu_ns"] / 1e6, truth["burn_cpu"] * 1e3))
    for f in doc["functions"]:
        if f["self_ns"] > f["total_ns"] * 1.001 + 1000 and f["name"].split(".")[-1] not in ("fib", "fib_calls"):
            errs.append("%s self %d > total %d" % (f["name"], f["self_ns"], f["total_ns"]))
        if f["cpu_ns"] + f["offcpu_ns"] != f["total_ns"]:
            errs.append("%s cpu+offcpu != total" % f["name"])
    names = [f["name"].split(".")[-1] for f in doc["functions"]]
    idx = {n: i for i, n in enumerate(names)}
    edge = [e for e in doc["edges"] if e["caller"] == idx.get("catcher") and e["callee"] == idx.get("boom")]
    if not edge or edge[0]["calls"] != 50:
        errs.append("edge catcher->boom %s, expected 50 calls" % edge)
    if errs:
        raise Fail("; ".join(errs[:8]) + " [" + "; ".join(msgs) + "]")
    return "exact counts for %d functions; " % len(truth["calls"]) + "; ".join(msgs)


@once("calls-churn", order=90)
def t_calls_churn(ctx, interps):
    """More short-lived threads than the thread map holds: exact counts."""
    it = pick_interps(ctx, interps, ["3.12-pyenv", "3.13-trixie", "3.11-pyenv"], 1)[0]
    threads = dur(ctx, 6000, 5000)
    tout, hout = it.out("churn.out")
    prof = os.path.join(ctx.tmp, "calls-churn.json")
    rc, out, err, dt, doc = calls_json(
        ctx, ["calls", "-f", "json", "-o", prof, "--"] + it.argv("churn.py", tout, threads, 3), prof)
    check(rc == 0, "exit status %d: %s" % (rc, tail(err)))
    truth = read_result(hout)
    rows = {f["name"]: f for f in doc["functions"] if f["file"].endswith("/churn.py")}
    got = {k: rows.get(k, {}).get("calls") for k in ("leaf", "work")}
    msg = "%s: %d threads (%d distinct tids), leaf %s/%d, work %s/%d, lost %s" % (
        it.label, threads, truth["distinct_tids"], got["leaf"], truth["leaf"], got["work"],
        truth["work"], {k: v for k, v in doc["lost"].items() if v})
    check(got["leaf"] == truth["leaf"] and got["work"] == truth["work"], msg)
    check(not doc["lost"].get("thread_map_full"), msg)
    return msg


@once("calls-formats", order=80, quick=True)
def t_calls_formats(ctx, interps):
    """table, folded, pprof and chrome from one workload."""
    it = pick_interps(ctx, interps, ["3.12-pyenv", "3.13-trixie", "3.11-pyenv"], 1)[0]
    tout, hout = it.out("calls.out")
    msgs, errs = [], []
    outs = {}
    for fmt in ("table", "folded", "pprof", "chrome"):
        prof = os.path.join(ctx.tmp, "calls-formats.%s" % fmt)
        # the table by calls (fib's calibrated time may rank it past --top);
        # folded --raw: its deep fib paths are calls of ~0.1 us that the
        # calibration can take down to 0 us, and folded leaves those out
        extra = {"chrome": ["--min-duration", "50000"], "table": ["--sort", "calls"],
                 "folded": ["--raw"]}.get(fmt, [])
        rc, out, err, dt = ctx.ps(["calls", "-f", fmt, "-o", prof] + extra + ["--"]
                                  + it.argv("calls.py", tout, 1), 120)
        check(rc == 0, "-f %s: exit status %d: %s" % (fmt, rc, tail(err)))
        outs[fmt] = prof
    truth = read_result(hout)
    with open(outs["table"]) as f:
        table = f.read()
    row = [l for l in table.splitlines() if re.search(r"\bfib \(.*calls\.py:\d+\)$", l)]
    if not row or int(row[0].split()[0]) != truth["calls"]["fib"]:
        errs.append("table: fib row %r, expected %d calls" % (row, truth["calls"]["fib"]))
    if not re.search(r"^lost: ", table, re.M):
        errs.append("table has no lost: line")
    with open(outs["folded"]) as f:
        stacks = parse_folded(f.read())
    # fib's path 20 deep is one call of fib(1), under a µs: folded writes
    # µs and leaves out what rounds to 0; 15 deep has hundreds of calls
    # (measured: --raw)
    deep = [fr for fr, _ in stacks if len([x for x in fr if x.name == "fib"]) >= 15]
    if not deep:
        errs.append("folded: no stack 15 fib frames deep")
    pp, samples = load_pprof(outs["pprof"], [("calls", "count"), ("wall", "nanoseconds"),
                                             ("cpu", "nanoseconds"), ("offcpu", "nanoseconds")])
    n = sum(s.v["calls"] for s in samples if s.names and s.names[0] == "fib")
    msgs.append("pprof fib calls %d" % n)
    if n != truth["calls"]["fib"]:
        errs.append("pprof: fib calls %d, expected %d" % (n, truth["calls"]["fib"]))
    with open(outs["chrome"]) as f:
        try:
            tr = json.load(f)
        except ValueError as e:
            raise Fail("chrome trace does not parse: %s" % e)
    ev = [e for e in tr.get("traceEvents", []) if e.get("ph") == "X"]
    short = [e for e in ev if e["dur"] < 50000]
    slp = [e for e in ev if e["name"].endswith("sleeper")]
    msgs.append("chrome %d events" % len(ev))
    if short:
        errs.append("chrome: %d events shorter than --min-duration" % len(short))
    if len(slp) != 1 or abs(slp[0]["dur"] - truth["sleep_wall"] * 1e6) > 0.1 * truth["sleep_wall"] * 1e6 \
            or slp[0]["args"]["offcpu_us"] < 0.8 * slp[0]["dur"]:
        errs.append("chrome: sleeper events %s (measured %.0f us)" % (slp, truth["sleep_wall"] * 1e6))
    if not [e for e in tr["traceEvents"] if e.get("ph") == "M" and e.get("name") == "thread_name"]:
        errs.append("chrome: no thread names")
    if errs:
        raise Fail("; ".join(errs) + " [" + "; ".join(msgs) + "]")
    return "%s: " % it.label + "; ".join(msgs)


def attach_calls(ctx, targets):
    """Starts calls.py in each target ((interpreter, extra environment)),
    waiting on a go file; attaches one calls -p to all of them, lets them
    run. -> ([each one's truth, pid], calls' JSON)"""
    procs = []
    for it, env in targets:
        tout, hout = it.out("calls-attach.out")
        go_t, go_h = it.out("calls-attach.go")
        wenv = workload_env()
        wenv.update(env)
        p = ctx.spawn(it.argv("calls.py", tout, 1, 0, go_t), env=wenv)
        wait_for_file(go_h + ".ready", 30, p)
        procs.append((p, hout, go_h))
    name = "-".join(it.label for it, _ in targets)
    prof = os.path.join(ctx.tmp, "%s-calls-attach.json" % name)
    errf = os.path.join(ctx.tmp, "%s-calls-attach.err" % name)
    pids = ",".join(str(p.pid) for p, _, _ in procs)
    with open(errf, "wb") as ef:
        rec = ctx.spawn([ctx.pystrobe, "calls", "-p", pids, "-f", "json", "-o", prof],
                        stderr=ef, env=workload_env())
    # the provider's poller sees the probes within 20 ms and switches events
    # on (with a calibration of a few ms)
    wait_attached(rec, "calls -p", 0.5)
    for _, _, go_h in procs:
        with open(go_h, "w"):
            pass
    rc = rec.wait(120)
    with open(errf, "rb") as ef:
        err = ef.read()
    check(rc == 0, "calls -p exited %d: %s" % (rc, tail(err)))
    return [(read_result(hout), p.pid) for p, hout, _ in procs], calls_load(prof, err)


def check_calibrated(doc, pids, errs):
    """Every process in pids, and only they, calibrated: one entry each in
    calibration_by_process, the lowest pid's as calibration."""
    by = doc.get("calibration_by_process", [])
    got = sorted(c["pid"] for c in by)
    if got != sorted(pids):
        errs.append("calibrated pids %s, expected %s" % (got, sorted(pids)))
    for c in by:
        if not c["calibrations"] or not c["per_call_ns"]:
            errs.append("pid %d: calibration %s" % (c["pid"], c))
    if by and doc.get("calibration") != by[0]:
        errs.append("calibration %s is not the first process's %s" % (
            doc.get("calibration"), by[0]))


@once("calls-attach", order=100)
def t_calls_attach(ctx, interps):
    """calls -p: a loaded provider (3.12), PEP 768 (3.14, 3.15), CPython's
    probes (3.9, 3.15), then two processes at once (3.12's loaded provider
    and 3.14 by PEP 768): exact counts in each, each with its own
    calibration."""
    msgs, errs = [], []
    # (label, how, extra environment of the target)
    plan = [("3.12-pyenv", "loaded provider", "provider"),
            ("3.14-sid", "PEP 768", {}),
            ("3.15-sid", "PEP 768", {}),
            ("3.9-bullseye", "CPython probes", {}),
            ("3.15-sid", "CPython probes", {"PYTHON_DISABLE_REMOTE_DEBUG": "1"})]
    by = dict((i.label, i) for i in interps if i.exists())
    for label, how, env in plan:
        it = by.get(label)
        if not it:
            continue
        if not it.tdir:
            it.setup(ctx.run_id)
        if env == "provider":
            env = {"PYTHONPATH": provider_copy(ctx, it)}
        [(truth, pid)], doc = attach_calls(ctx, [(it, env)])
        e = []
        if how == "CPython probes":
            # they cannot tell a resumption from a call, nor report unwinds
            check_counts(doc, truth, e, ("calls",), skip=("gen", "coro"))
            # a yield fires no return on 3.15: those frames are dropped later
            check_lost_zero(doc, e, ("calls_too_deep", "path_map_full", "thread_map_full",
                                     "name_map_full", "probe_runs_skipped"))
        else:
            check_counts(doc, truth, e)
            check_lost_zero(doc, e)
            check_calibrated(doc, [pid], e)
        errs += ["%s (%s): %s" % (label, how, x) for x in e]
        msgs.append("%s (%s): %s" % (label, how, "exact" if not e else "WRONG"))
    if not msgs:
        raise Skip("no interpreter with call probes here")
    two = [by[label] for label in ("3.12-pyenv", "3.14-sid") if label in by]
    if len(two) == 2:
        got, doc = attach_calls(ctx, [(two[0], {"PYTHONPATH": provider_copy(ctx, two[0])}),
                                      (two[1], {})])
        e = []
        for it, (truth, pid) in zip(two, got):
            check_counts(doc, truth, e, path=it.script("calls.py"))
        check_lost_zero(doc, e)
        check_calibrated(doc, [pid for _, pid in got], e)
        errs += ["two at once: %s" % x for x in e]
        msgs.append("3.12-pyenv and 3.14-sid at once: %s (calibrated: %s)" % (
            "exact" if not e else "WRONG", ", ".join(
                "pid %d %d ns per call" % (c["pid"], c["per_call_ns"])
                for c in doc.get("calibration_by_process", []))))
    if errs:
        raise Fail("; ".join(errs[:8]) + " [" + "; ".join(msgs) + "]")
    return "; ".join(msgs)


@once("calls-invisible", order=110)
def t_calls_invisible(ctx, interps):
    """The provider loaded but untraced changes neither output nor exit code."""
    msgs, errs = [], []
    for it in pick_interps(ctx, interps, ["3.11-pyenv", "3.12-pyenv", "3.13-trixie", "3.14-sid"], 4):
        path = provider_copy(ctx, it)
        res = []
        for env in ({}, {"PYTHONPATH": path}):
            tout, hout = it.out("calls-inv.out")
            wenv = workload_env()
            wenv.update(env)
            rc, out, err, dt = run(it.argv("calls.py", tout, 1, 3), 120, env=wenv)
            r = read_result(hout)
            res.append((rc, out, err, r["calls"], r["gen_items"]))
        if res[0] != res[1]:
            errs.append("%s: without %r, with the provider %r" % (it.label, res[0][:3], res[1][:3]))
        msgs.append("%s same" % it.label)
    if errs:
        raise Fail("; ".join(errs))
    return "; ".join(msgs)
