# SPDX-License-Identifier: BSD-2-Clause
"""Findings and `pystrobe scale`: planted problems beside controls that look
similar but do not have them (tests/workloads/findings.py), each found with
its kind and location and no control flagged; scaling exponents and classes
against the workload's own timings (tests/workloads/scaling.py)."""

import ast
import json
import math
import os

from harness import (
    BadInputs, check, dur, Fail, FREQ, load_pprof, once, per_interp, pick_interps,
    read_result, Skip, tail)

WAIT_KINDS = ("lock_wait", "gil_wait", "io_wait", "sleep_wait")
FIELDS = ("kind", "severity", "function", "file", "line", "share", "evidence")


def bare(name):
    """qualname -> name (3.9/3.10 report co_name)."""
    return name.split(".")[-1]


def load_json(path, err=b""):
    check(os.path.exists(path), "no output written to %s; stderr %s" % (path, tail(err)))
    with open(path) as f:
        try:
            return json.load(f)
        except ValueError as e:
            raise Fail("%s does not parse as JSON: %s" % (path, e))


def ours(findings, it, script):
    """Findings located in our workload, with their fields checked."""
    want = it.script(script)
    out = []
    for f in findings:
        missing = [k for k in FIELDS if k not in f]
        check(not missing, "finding %r lacks %s" % (f, missing))
        check(f["severity"] in ("low", "medium", "high"), "severity %r" % f["severity"])
        check(0 <= f["share"] <= 1, "share %r" % f["share"])
        if f["file"].endswith("/" + script):
            check(f["file"] == want, "finding in %r, expected the target's path %r" % (
                f["file"], want))
            out.append(f)
    return out


def utf8(b, what):
    """Output that must be UTF-8 (JSON), or a Fail naming where it is not."""
    try:
        return b.decode()
    except UnicodeDecodeError as e:
        raise Fail("%s is not UTF-8 at byte %d: %r" % (what, e.start, b[e.start - 80:e.end + 20]))


def where(fs):
    return ", ".join("%s %s:%s" % (f["kind"], bare(f["function"]), f["line"]) for f in fs) or "none"


def expect(fs, kind, func, line, errs):
    """Exactly one finding of kind for func, at line."""
    got = [f for f in fs if f["kind"] == kind and bare(f["function"]) == func]
    if len(got) != 1:
        errs.append("%d %s findings for %s (expected 1)" % (len(got), kind, func))
    elif got[0]["line"] != line:
        errs.append("%s for %s at line %s, expected %d" % (kind, func, got[0]["line"], line))
    return got[0] if len(got) == 1 else None


def expect_none(fs, kind, funcs, errs, lines=()):
    bad = [f for f in fs if f["kind"] == kind and
           (bare(f["function"]) in funcs or f["line"] in lines)]
    if bad:
        errs.append("control flagged: %s" % where(bad))


# --------------------------------------------------------------------------
# calls: repeated calls


@per_interp("findings-calls", order=160, quick=True)
def t_findings_calls(ctx, it):
    """cheap() called 20 000 times from hammer() is a repeated_call; expensive(),
    as long in one call, and tiny(), called 2 000 times for little, are not."""
    tout, hout = it.out("findings-calls.out")
    prof = os.path.join(ctx.tmp, "%s-findings-calls.json" % it.label)
    rc, out, err, dt = ctx.ps(["calls", "-f", "json", "-o", prof, "--"]
                              + it.argv("findings.py", tout, "calls", 0), 120)
    check(rc == 0, "exit status %d: %s" % (rc, tail(err)))
    truth = read_result(hout)
    doc = load_json(prof, err)
    check(isinstance(doc.get("findings"), list), "calls JSON has no findings array")
    fs = ours(doc["findings"], it, "findings.py")
    first = truth["first_lines"]
    errs = []
    f = expect(fs, "repeated_call", "cheap", first["cheap"], errs)
    if f:
        want = "called 20000 times from hammer (%s:%d)" % (it.script("findings.py"),
                                                           first["hammer"])
        if want not in f["evidence"]:
            errs.append("evidence %r does not say %r" % (f["evidence"], want))
        # cheap's calls lie inside hammer's loop: no larger share than that.
        bound = truth["hammer_wall"] / truth["total_wall"]
        if not 0.10 <= f["share"] <= bound + 0.02:
            errs.append("cheap's share %.3f outside [0.10, hammer's own %.3f]" % (
                f["share"], bound))
    for name in ("expensive", "tiny", "hammer", "main"):
        expect_none(fs, "repeated_call", (name,), errs)
    waits = [g for g in doc["findings"] if g["kind"] in WAIT_KINDS]
    if waits:
        errs.append("a call trace has no off-CPU reasons, yet: %s" % where(waits))
    # Nearly all CPU by the workload's own clocks: cpu_bound.
    cpu_share = truth["total_cpu"] / truth["total_wall"]
    bound = [g for g in doc["findings"] if g["kind"] in ("cpu_bound", "wait_bound")]
    if cpu_share >= 0.9 and [g["kind"] for g in bound] != ["cpu_bound"]:
        errs.append("workload was %.0f%% on the CPU; bound findings: %s" % (
            100 * cpu_share, where(bound)))
    msg = "%s (workload: hammer %.0f ms, expensive %.0f ms, %.0f%% CPU)" % (
        where(fs), truth["hammer_wall"] * 1e3, truth["expensive_wall"] * 1e3, 100 * cpu_share)
    if errs:
        raise Fail("; ".join(errs) + " [" + msg + "]")
    return msg


# --------------------------------------------------------------------------
# record --wall: hot line, lock, sleep and I/O waits


def unresolved_note(prof):
    """Why a planted function may be absent: its frames were not symbolized."""
    try:
        pp, samples = load_pprof(prof)
    except Fail:
        return ""
    off = sum(s.v.get("offcpu", 0) for s in samples
              if any(n.startswith("[unknown code") for n in s.names[:3]))
    lost = [c for c in pp["strings"] if c.startswith("unresolved_frames=")]
    return " (%.0f ms of off-CPU time under [unknown code] frames; %s)" % (
        off / 1e6, ", ".join(lost) or "no unresolved_frames counter") if off else ""


@per_interp("findings-record", order=161, quick=True)
def t_findings_record(ctx, it):
    """record --wall: hot()'s one line is a hot_line, spread()'s ten are not;
    wait_lock() is a lock_wait, nap() a sleep_wait (not a lock_wait), fetch()
    an io_wait; through report FILE --findings and the table's section."""
    secs = dur(ctx, 0.25, 0.15)
    tout, hout = it.out("findings-record.out")
    prof = os.path.join(ctx.tmp, "%s-findings.pb.gz" % it.label)
    rc, out, err, dt = ctx.record(["--wall", "-F", str(FREQ), "-o", prof, "--"]
                                  + it.argv("findings.py", tout, "record", secs), 120)
    check(rc == 0, "exit status %d: %s" % (rc, tail(err)))
    truth = read_result(hout)
    rc, out, err, _ = ctx.ps(["report", prof, "--findings", "-f", "json"], 60)
    check(rc == 0, "report --findings exited %d: %s" % (rc, tail(err)))
    try:
        doc = json.loads(utf8(out, "report --findings -f json"))
    except ValueError as e:
        raise Fail("report --findings -f json: %s: %r" % (e, tail(out)))
    check(list(doc) == ["findings"], "--findings JSON has %s" % list(doc))
    rc, table, err, _ = ctx.ps(["report", prof], 60)
    # (not our check: a garbled name in the table is noted, not failed)
    try:
        table, note = table.decode(), ""
    except UnicodeDecodeError as e:
        table = table.decode(errors="replace")
        note = "; the table is not UTF-8 at byte %d: %r" % (e.start, table[e.start - 60:e.start + 20])
    check(rc == 0 and ("FINDINGS (%d)" % len(doc["findings"]) if doc["findings"]
                       else "FINDINGS: none") in table,
          "the table's FINDINGS section does not list the %d findings: %r" % (
              len(doc["findings"]), tail(table, 400)))
    fs = ours(doc["findings"], it, "findings.py")
    lines = truth["lines"]
    errs = []
    expect(fs, "hot_line", "hot", lines["hot line"], errs)
    spread = range(lines["spread 1"], lines["spread 10"] + 1)
    expect_none(fs, "hot_line", ("spread",), errs, lines=spread)
    for kind, func, line in (("lock_wait", "wait_lock", lines["lock wait"]),
                             ("sleep_wait", "nap", lines["sleep"]),
                             ("io_wait", "fetch", lines["io wait"])):
        n = len(errs)
        expect(fs, kind, func, line, errs)
        if len(errs) > n:
            errs[-1] += unresolved_note(prof)
    expect_none(fs, "lock_wait", ("nap", "fetch", "holder", "writer", "hot", "spread"), errs)
    expect_none(fs, "sleep_wait", ("wait_lock", "fetch", "hot", "spread"), errs)
    expect_none(fs, "io_wait", ("wait_lock", "nap", "holder", "writer"), errs)
    cpu = [f for f in doc["findings"] if f["kind"] == "cpu_bound"]
    if cpu:
        errs.append("cpu_bound, but the workload waited %.1f s of %.1f s" % (
            truth["total_wall"] - truth["total_cpu"], truth["total_wall"]))
    msg = where(fs) + note
    if errs:
        raise Fail("; ".join(errs) + " [" + msg + "]")
    return msg


# --------------------------------------------------------------------------
# scale

PLANTED = {  # function: (time exponent, class, calls exponent)
    "quad": (2.0, "O(n^2)", 0.0),
    "lookups": (1.1, "O(n log n)", 0.0),  # n log n over n = 1000..8000
    "lin": (1.0, "O(n)", 0.0),
    "step": (1.0, "O(n)", 1.0),
    "fixed": (0.0, "O(1)", 0.0),
}
LOG_NEIGHBOUR = {"O(n log n)": "O(n)", "O(n)": "O(n log n)", "O(1)": "O(log n)"}
CLASSES = (("O(1)", 0, 0), ("O(log n)", 0, 1), ("O(n)", 1, 0), ("O(n log n)", 1, 1),
           ("O(n^2)", 2, 0), ("O(n^3)", 3, 0))


def class_rss(ns, ts):
    """{class: squared log residuals once its one constant is fitted}, as
    scale.h defines them, written again here from the definition."""
    x = [math.log(n) for n in ns]
    y = [math.log(t) for t in ts]
    out = {}
    for name, p, q in CLASSES:
        r = [b - p * a - q * math.log(a) for a, b in zip(x, y)]
        m = sum(r) / len(r)
        out[name] = sum((v - m) ** 2 for v in r)
    return out


def fit(ns, ts):
    """Least squares on log-log: (exponent, nearest class) as scale.h
    defines them (ties to the simpler class)."""
    x = [math.log(n) for n in ns]
    y = [math.log(t) for t in ts]
    mx, my = sum(x) / len(x), sum(y) / len(y)
    k = sum((a - mx) * (b - my) for a, b in zip(x, y)) / sum((a - mx) ** 2 for a in x)
    best, best_rss = None, None
    for name, rss in class_rss(ns, ts).items():
        if best_rss is None or rss < best_rss * (1 - 1e-9) - 1e-12:
            best, best_rss = name, rss
    return k, best


def class_trail(sizes, mine, own, cls, cls_own):
    """How far class cls trails cls_own, the own timings' nearest class, in
    sqrt(rss) over those timings (averaged per size in logs, as the fit
    over every run ranks classes), and how far it may: a class's sqrt(rss)
    is the norm of a centred, affine function of the logs, so timings
    differing by d (logs, centred) move it by at most |d|, and a class
    picked on pystrobe's timings (`mine`, per size) may trail by 2 |d|.
    -> (trail, 2 |d|)."""
    own_logs = [sum(math.log(t) for t in ts) / len(ts) for ts in own]
    d = [math.log(a) - b for a, b in zip(mine, own_logs)]
    md = sum(d) / len(d)
    rss = class_rss(sizes, [math.exp(v) for v in own_logs])
    return (math.sqrt(rss[cls]) - math.sqrt(rss[cls_own]),
            2 * math.sqrt(sum((v - md) ** 2 for v in d)))


# How far the machine's speed moved during a sweep: fixed() does the same
# work in every run, so the spread of its own times (sd of their logs) over
# sqrt(sum of (ln n - mean)^2) is the error that noise alone puts on an
# exponent. Planted exponents (within 0.3) are checked when that is at most
# EXP_QUIET; classes that differ by a log factor (n against n log n: 0.12
# apart in k over n = 1000..8000) only at CLASS_QUIET.
EXP_QUIET = 0.07
CLASS_QUIET = 0.02


def noise_k(runs):
    logs = [math.log(r["times"]["fixed"]) for r in runs]
    m = sum(logs) / len(logs)
    sd = math.sqrt(sum((v - m) ** 2 for v in logs) / (len(logs) - 1))
    x = [math.log(r["n"]) for r in runs]
    mx = sum(x) / len(x)
    return sd / math.sqrt(sum((v - mx) ** 2 for v in x))


def scale_rows(doc):
    return dict((bare(f["name"]), f) for f in doc["functions"]
                if f["file"].endswith("/scaling.py"))


def scale_check(doc, runs, sizes, it, errs, notes, sk):
    """pystrobe's fits against the workload's own timings of the same runs,
    and against the planted exponents and classes as far as the noise sk
    (noise_k) allows."""
    planted = sk <= EXP_QUIET
    check(doc.get("sizes") == sizes, "sizes %s, expected %s" % (doc.get("sizes"), sizes))
    rows = scale_rows(doc)
    ns = [r["n"] for r in runs]
    for name, (k0, cls0, c0) in sorted(PLANTED.items()):
        f = rows.get(name)
        if not f:
            errs.append("%s not in the table" % name)
            continue
        if f["time_exponent"] is None:
            # step's time at n = 1000 is near the fit's floor: only a sweep
            # quiet enough for the planted values must fit it
            (errs if planted or name != "step" else notes).append(
                "%s not fitted: %s" % (name, f["complexity"]))
            continue
        k, cls = f["time_exponent"], f["complexity"]
        k_own, cls_own = fit(ns, [r["times"][name] for r in runs])
        lo, hi = f["time_interval"]
        notes.append("%s %.2f [%.2f, %.2f] %s (own %.2f %s)" % (name, k, lo, hi, cls, k_own,
                                                              cls_own))
        # step's own timing is main's loop around its calls, not step's.
        if abs(k - k_own) > (0.2 if name == "step" else 0.1):
            errs.append("%s exponent %.2f, the workload's own timings give %.2f" % (
                name, k, k_own))
        # The class is what scale.h's rule gives for the seconds pystrobe
        # reports (exactly so with one run per size, where they are the
        # fitted values), and the own timings' class unless the two
        # timings' difference can account for the choice (n against
        # n log n near the boundary between them).
        rule = fit(sizes, f["seconds"])[1] if len(runs) == len(sizes) else cls
        if rule != cls:
            errs.append("%s named %s, the rule gives %s for its seconds %s" % (
                name, cls, rule, f["seconds"]))
        if name != "step" and cls != cls_own:
            own = [[r["times"][name] for r in runs if r["n"] == n] for n in sizes]
            trail, bound = class_trail(sizes, f["seconds"], own, cls, cls_own)
            (errs if trail > bound else notes).append(
                "%s named %s, its own timings %s (%.4f behind in sqrt(rss); timings "
                "%.4f apart allow %.4f)" % (name, cls, cls_own, trail, bound / 2, bound))
        if not lo <= k <= hi:
            errs.append("%s interval [%s, %s] without its exponent" % (name, lo, hi))
        if planted and abs(k - k0) > 0.3:
            errs.append("%s exponent %.2f, planted %.1f" % (name, k, k0))
        if cls != cls0 and (sk <= CLASS_QUIET or
                            (planted and LOG_NEIGHBOUR.get(cls0) != cls)):
            errs.append("%s named %s, planted %s" % (name, cls, cls0))
        if f["calls_exponent"] is None or abs(f["calls_exponent"] - c0) > 0.01:
            errs.append("%s calls exponent %s, planted %.0f" % (name, f["calls_exponent"], c0))
        if name == "step" and [round(c) for c in f["calls"]] != sizes:
            errs.append("step calls %s, expected %s" % (f["calls"], sizes))
    small = [f for f in doc["functions"] if f["complexity"] in
             ("too small to fit", "not in every run")]
    if not small or any(f["time_exponent"] is not None for f in small):
        errs.append("functions too small to fit not listed as such (%d)" % len(small))
    # superlinear: exactly where the own-time intervals clear the rule, and
    # no control among them; quad among them on a quiet machine, unless its
    # own repeats spread its interval below the rule's 1.5 (fixed()'s noise
    # can be low while quad's runs were disturbed): then it must not be
    # flagged, as the rule says.
    want = sorted(name for name, f in rows.items() if f["self_interval"] and (
        f["self_interval"][0] > 1.5 or
        (f["calls_exponent"] is not None and f["self_interval"][0] > f["calls_exponent"] + 1.3)))
    sup = [f for f in ours(doc.get("findings", []), it, "scaling.py")
           if f["kind"] == "superlinear"]
    got = sorted(bare(f["function"]) for f in sup)
    if got != want or set(got) - {"quad"} or (planted and "quad" in want and got != ["quad"]):
        errs.append("superlinear findings: %s, own-time intervals say %s (quad planted)" % (
            got, want))
    for f in sup:
        if f["line"] != rows[bare(f["function"])]["line"]:
            errs.append("superlinear at line %s, %s starts at %s" % (
                f["line"], f["function"], rows[bare(f["function"])]["line"]))
    return got


def run_scale(ctx, it, sizes, repeat, name):
    """scale of scaling.py; -> (its JSON, the workload's own results of
    every run, seconds)."""
    tout, hout = it.out(name + ".out")
    prof = os.path.join(ctx.tmp, "%s-%s.json" % (it.label, name))
    for n in sizes:
        it.out("%s.out-%d" % (name, n))  # (clears what an earlier run left)
    rc, out, err, dt = ctx.ps(["scale", "--sizes", ",".join(map(str, sizes)),
                               "--repeat", str(repeat), "-o", prof, "--"]
                              + it.argv("scaling.py", tout + "-{n}", "{n}"), 600)
    check(rc == 0, "exit status %d: %s" % (rc, tail(err)))
    doc = load_json(prof, err)
    runs = []
    for n in sizes:
        with open("%s-%d" % (hout, n)) as f:
            runs += [ast.literal_eval(ln) for ln in f if ln.strip()]
    check(sorted(r["n"] for r in runs) == sorted(sizes * repeat),
          "runs saw n = %s" % [r["n"] for r in runs])
    check(all(r["found"] for r in runs), "the workload's lookups went wrong")
    return doc, runs, dt


@per_interp("findings-scale", order=162, quick=True)
def t_findings_scale(ctx, it):
    """scale (calls), one run per size: exponents as the workload's own
    timings of those runs give them; classes as the rule gives them for the
    reported seconds, and as the own timings give them unless the two
    timings' difference accounts for the choice; calls exponents exact,
    superlinear exactly where the own-time intervals put it (quad at most).
    The planted values are findings-scale-accuracy's (three runs per size):
    one run per size on this shared machine can be disturbed in one
    function while fixed(), the noise gauge, stays quiet (CI saw lookups at
    0.89 by its own timings with fixed()'s noise at 0.01)."""
    sizes = [1000, 2000, 4000, 8000]
    doc, runs, dt = run_scale(ctx, it, sizes, 1, "scaling")
    errs, notes = [], []
    sk = noise_k(runs)
    sup = scale_check(doc, runs, sizes, it, errs, notes, float("inf"))
    msg = "; ".join(notes) + "; superlinear %s; noise %.3f in k in %.0f s" % (sup, sk, dt)
    if errs:
        raise Fail("; ".join(errs) + " [" + msg + "]")
    return msg


@once("findings-scale-accuracy", order=159)
def t_findings_scale_accuracy(ctx, interps):
    """scale --repeat 3 on an old and a new interpreter: exponents within 0.3
    of the planted ones, classes named right, quad superlinear (skipped, with
    the measured spread, when the machine's speed moved too much)."""
    msgs = []
    for it in pick_interps(ctx, interps, ["3.9-pyenv", "3.15-sid", "3.13-pyenv"], 2):
        sizes = [1000, 2000, 4000, 8000]
        doc, runs, dt = run_scale(ctx, it, sizes, 3, "scaling-acc")
        sk = noise_k(runs)
        if sk > EXP_QUIET:
            raise Skip("%s: the machine's speed moved too much (fixed()'s own times put "
                       "%.3f of noise on k) to check planted exponents" % (it.label, sk))
        errs, notes = [], []
        scale_check(doc, runs, sizes, it, errs, notes, sk)
        msg = "%s: %s; noise %.3f in k%s in %.0f s" % (
            it.label, "; ".join(notes), sk,
            "" if sk <= CLASS_QUIET else " (log-factor classes not checked)", dt)
        if errs:
            raise Fail("; ".join(errs) + " [" + msg + "]")
        msgs.append(msg)
    return " | ".join(msgs)


@once("findings-scale-record", order=160)
def t_findings_scale_record(ctx, interps):
    """scale --mode record: CPU samples, no counts; quad fitted as its own
    timings give it; fixed() (about 3 ms, under 20 samples at 999 Hz)
    listed as too small to fit; superlinear as the own-time intervals say."""
    it = pick_interps(ctx, interps, ["3.12-pyenv", "3.13-trixie", "3.11-pyenv"], 1)[0]
    sizes = [4000, 6000, 9000, 13500]
    tout, hout = it.out("scaling-rec.out")
    for n in sizes:
        it.out("scaling-rec.out-%d" % n)
    prof = os.path.join(ctx.tmp, "scale-record.json")
    rc, out, err, dt = ctx.ps(["scale", "--mode", "record", "--sizes",
                               ",".join(map(str, sizes)), "-o", prof, "--"]
                              + it.argv("scaling.py", tout + "-{n}", "{n}"), 300)
    check(rc == 0, "exit status %d: %s" % (rc, tail(err)))
    doc = load_json(prof, err)
    runs = []
    for n in sizes:
        with open("%s-%d" % (hout, n)) as f:
            runs += [ast.literal_eval(ln) for ln in f if ln.strip()]
    rows = scale_rows(doc)
    q = rows.get("quad")
    check(q and q["time_exponent"] is not None, "quad not fitted: %s" % q)
    k_own, cls_own = fit([r["n"] for r in runs], [r["times"]["quad"] for r in runs])
    msg = "%s: quad %.2f [%.2f, %.2f] %s (own %.2f %s); fixed %s" % (
        it.label, q["time_exponent"], q["time_interval"][0], q["time_interval"][1],
        q["complexity"], k_own, cls_own, rows["fixed"]["complexity"])
    # 35 samples at the smallest size: sampled, so looser than calls.
    check(abs(q["time_exponent"] - k_own) <= 0.25, msg + ": not the workload's own exponent")
    check(q["complexity"] in ("O(n^2)", cls_own), msg)
    check(q["calls_exponent"] is None and q["calls"] is None and doc["mode"] == "record",
          "record mode has no counts: %s" % q)
    check(rows["fixed"]["complexity"] == "too small to fit" and
          rows["fixed"]["time_exponent"] is None, msg)
    sup = [bare(f["function"]) for f in doc["findings"] if f["kind"] == "superlinear"]
    want = ["quad"] if q["self_interval"] and q["self_interval"][0] > 1.5 else []
    check(sup == want, "superlinear findings %s, quad's own-time interval %s" % (
        sup, q["self_interval"]))
    return msg + "; superlinear %s" % sup


# --------------------------------------------------------------------------
# flags and errors


@once("findings-flags", order=161, quick=True)
def t_findings_flags(ctx, interps):
    """--findings prints only the findings (calls table, record JSON); a
    saved JSON document keeps its findings for report --findings."""
    it = pick_interps(ctx, interps, ["3.12-pyenv", "3.13-trixie", "3.11-pyenv"], 1)[0]
    tout, hout = it.out("findings-flags.out")
    rc, out, err, _ = ctx.ps(["calls", "--findings", "--"]
                             + it.argv("findings.py", tout, "calls", 0), 120)
    text = utf8(out, "calls --findings")
    check(rc == 0, "calls --findings exited %d: %s" % (rc, tail(err)))
    body = [ln for ln in text.splitlines() if ln.strip()]
    check(body and body[0].startswith("FINDINGS (") and
          all(ln.startswith("  ") for ln in body[1:]) and
          any("repeated_call" in ln and " cheap (" in ln for ln in body),
          "calls --findings is not only the findings section: %r" % tail(text, 600))
    doc_path = os.path.join(ctx.tmp, "flags-record.json")
    rc, out, err, _ = ctx.record(["--wall", "-F", str(FREQ), "-o", doc_path, "--"]
                                 + it.argv("findings.py", tout, "record", 0.1), 120)
    check(rc == 0, "record -o .json exited %d: %s" % (rc, tail(err)))
    saved = load_json(doc_path, err)
    check("findings" in saved and "functions" in saved, "record JSON lacks findings")
    rc, out, err, _ = ctx.ps(["report", doc_path, "--findings", "-f", "json"], 60)
    check(rc == 0, "report DOC --findings exited %d: %s" % (rc, tail(err)))
    check(json.loads(utf8(out, "report DOC --findings")) == {"findings": saved["findings"]},
          "report DOC --findings differs from the document's findings")
    rc, out, err, _ = ctx.record(["--wall", "-F", str(FREQ), "--findings", "-f", "json", "--"]
                                 + it.argv("findings.py", tout, "record", 0.1), 120)
    check(rc == 0, "record --findings exited %d: %s" % (rc, tail(err)))
    got = json.loads(utf8(out, "record --findings -f json"))
    check(list(got) == ["findings"] and any(f["kind"] == "lock_wait" for f in got["findings"]),
          "record --findings -f json: %r" % tail(out, 400))
    return "%d findings in calls --findings, %d in record --findings" % (
        len(body) - 1, len(got["findings"]))


@once("findings-badinput", order=162, quick=True)
def t_findings_badinput(ctx, interps):
    """scale's and --findings' errors: one line, non-zero, nothing attached;
    a failing run stops the sweep with its exit status."""
    it = pick_interps(ctx, interps, ["3.12-pyenv", "3.13-trixie", "3.11-pyenv"], 1)[0]
    py = it.argv("cmd.py")[:-1]  # the interpreter (chroot'ed if need be)
    doc = os.path.join(ctx.tmp, "nofindings.json")
    with open(doc, "w") as f:
        f.write('{"functions": []}')
    b = BadInputs(ctx)
    cmd = ["--", "true", "{n}"]
    b.expect("no sizes", ["scale"] + cmd, meaning=True)
    b.expect("two sizes", ["scale", "--sizes", "10,20,20"] + cmd, meaning=True)
    b.expect("a word", ["scale", "--sizes", "10,x,30"] + cmd, meaning=True)
    b.expect("zero", ["scale", "--sizes", "0,10,20"] + cmd, meaning=True)
    b.expect("negative", ["scale", "--sizes", "-5,10,20"] + cmd, meaning=True)
    b.expect("empty", ["scale", "--sizes", "10,,20,30"] + cmd, meaning=True)
    b.expect("no {n}", ["scale", "--sizes", "10,20,30", "--", "true"], meaning=True)
    b.expect("no command", ["scale", "--sizes", "10,20,30"], meaning=True)
    b.expect("bad mode", ["scale", "--sizes", "10,20,30", "--mode", "x"] + cmd, meaning=True)
    b.expect("pid", ["scale", "--sizes", "10,20,30", "-p", "1"] + cmd)
    b.expect("scale folded", ["scale", "--sizes", "10,20,30", "-f", "folded"] + cmd,
             meaning=True)
    b.expect("findings folded", ["record", "--findings", "-f", "folded", "--", "true"],
             meaning=True)
    b.expect("findings pprof", ["report", doc, "--findings", "-o", "x.pb.gz"], meaning=True)
    b.expect("doc without findings", ["report", doc, "--findings"], meaning=True)
    b.expect("diff --findings", ["diff", doc, doc, "--findings"])
    fail = py + ["-c", "import sys; print('failing at', sys.argv[1]); "
                 "sys.exit(3 if sys.argv[1] == '20' else 0)", "{n}"]
    b.expect("failing run", ["scale", "--sizes", "10,20,30", "--"] + fail, timeout=120)
    rc, out, err, _ = ctx.ps(["scale", "--sizes", "10,20,30", "--"] + fail, 120)
    msg = b.result()
    check(rc == 3, "a run that exits 3 left scale with %d" % rc)
    check(b"n=20" in err and b"failing at 20" in err,
          "the error does not name the run and its last line: %r" % tail(err))
    return msg + "; failing run: exit 3, " + err.decode().strip()
