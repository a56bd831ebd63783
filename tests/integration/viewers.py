# SPDX-License-Identifier: BSD-2-Clause
"""What people look at: record's JSON, the HTML report (opened in real
headless Chromium, driven by playwright-core: no script errors, the hot
function in the DOM, a screenshot that is not blank, a search and a zoom),
speedscope files (loaded by the real speedscope app), pprof read by
`go tool pprof`, and `pystrobe diff`. The browser tools come from
scripts/install-viewers.sh (`make deps`)."""

import gzip
import json
import os
import re
import shutil
import struct
import subprocess
import zlib

from harness import (
    FREQ, REPO, check, dur, Fail, once, per_interp, pick_interps, read_result, run, tail,
    workload_env)

HERE = os.path.dirname(os.path.abspath(__file__))
NPM = os.path.join(os.environ.get("PYSTROBE_CACHE", "/var/cache/pystrobe"), "npm")
REASONS = ("sleep", "lock", "gil", "io", "disk", "runqueue", "other")


# --------------------------------------------------------------------------
# helpers


def need_browser():
    missing = [what for what, ok in (
        ("chromium", shutil.which("chromium")), ("node", shutil.which("node")),
        ("playwright-core", os.path.isdir(os.path.join(NPM, "node_modules", "playwright-core"))),
        ("speedscope", os.path.isdir(os.path.join(NPM, "node_modules", "speedscope"))))
        if not ok]
    if missing:
        raise Fail("missing %s: run scripts/install-viewers.sh (make deps)" % ", ".join(missing))


def browser(*args, timeout=180):
    """Runs tests/integration/browser.js; -> what it saw (dict)."""
    need_browser()
    env = dict(workload_env(), PYSTROBE_NPM=NPM, HOME=os.environ.get("HOME", "/root"))
    rc, out, err, dt = run(["node", os.path.join(HERE, "browser.js")] + [str(a) for a in args],
                           timeout, env=env)
    try:
        seen = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise Fail("browser.js exited %d without a result: %s %s" % (rc, tail(out), tail(err)))
    check(rc == 0, "browser.js exited %d: %s" % (rc, seen.get("errors")))
    return seen


def check_no_errors(seen, what):
    check(not seen["errors"], "%s: errors in the page: %s" % (what, seen["errors"][:5]))


def png_pixels(path):
    """Decodes an 8-bit RGB/RGBA PNG (as Chromium writes them) into
    (width, height, rows of bytes, bytes per pixel)."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "%s is not a PNG" % path)
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            check(depth == 8 and ctype in (2, 6), "PNG of depth %d type %d" % (depth, ctype))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ft = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ft == 1:
                line[x] = (line[x] + a) & 255
            elif ft == 2:
                line[x] = (line[x] + b) & 255
            elif ft == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows, bpp


def screenshot_stats(path):
    """(colours: distinct colours on a grid of pixels, busy: share of the
    grid that differs from the most common colour)."""
    w, h, rows, bpp = png_pixels(path)
    seen = {}
    for y in range(0, h, 4):
        row = rows[y]
        for x in range(0, w, 4):
            px = row[x * bpp:x * bpp + 3]
            seen[px] = seen.get(px, 0) + 1
    n = sum(seen.values())
    return len(seen), 1 - max(seen.values()) / n


def check_screenshot(path, what):
    colours, busy = screenshot_stats(path)
    check(colours >= 20 and busy >= 0.05,
          "%s: screenshot %s looks blank (%d colours, %.1f%% not background)" % (
              what, path, colours, 100 * busy))
    return "%d colours, %.0f%% drawn" % (colours, 100 * busy)


def page_blob(path):
    """The JSON document a report page embeds."""
    with open(path) as f:
        html = f.read()
    m = re.search(r'<script type="application/json" id="pystrobe-data">(.*?)</script>', html, re.S)
    check(m, "%s embeds no pystrobe-data" % path)
    # The one URL a page may hold is SVG's namespace name (never fetched);
    # browser.js also fails on any request the page makes.
    outside = re.search(r'<script[^>]+src=|<link[^>]+href=|https?://',
                        html.replace('"http://www.w3.org/2000/svg"', ""))
    check(not outside, "%s refers to something outside itself: %r" % (
        path, outside and html[outside.start():outside.start() + 80]))
    return json.loads(m.group(1))


def ps_ok(ctx, args, timeout=180):
    rc, out, err, dt = ctx.ps(args, timeout)
    check(rc == 0, "pystrobe %s: exit status %d: %s" % (" ".join(args[:3]), rc, tail(err)))
    return out


def load_json(path):
    with open(path) as f:
        try:
            return json.load(f)
        except ValueError as e:
            raise Fail("%s does not parse as JSON: %s" % (path, e))


def by_name(doc, name):
    """The document's function whose bare name is name (3.9/3.10 have no
    qualnames), in our workload's file."""
    rows = [f for f in doc["functions"] if f["name"].split(".")[-1] == name
            and f["file"].endswith(".py")]
    check(len(rows) == 1, "%d functions named %s in %s" % (
        len(rows), name, [f["name"] for f in doc["functions"]][:20]))
    return rows[0]


def tree_sums(tree):
    return [sum(col) for col in tree["self"]]


def record_viewers(ctx, it, prof, seconds, hot, cold, extra=()):
    tout, hout = it.out("viewers-%d-%d.out" % (hot, cold))
    if os.path.exists(prof):
        os.unlink(prof)
    rc, out, err, dt = ctx.record(["-F", str(FREQ), "-o", prof] + list(extra) + ["--"]
                                  + it.argv("viewers.py", tout, seconds, hot, cold),
                                  timeout=seconds + 60)
    check(rc == 0, "record exited %d: %s" % (rc, tail(err)))
    check(os.path.exists(prof), "no output written to %s" % prof)
    return read_result(hout)


def truth_shares(truth):
    cpu = truth["cpu"]
    s = sum(cpu.values())
    return {k: v / s for k, v in cpu.items()}


# --------------------------------------------------------------------------
# tests


@per_interp("viewers-json", order=150, quick=True)
def t_viewers_json(ctx, it):
    """record --wall -o x.json: per function CPU and off-CPU by reason match
    what the workload measured; the stack tree sums to the totals."""
    secs = dur(ctx, 4, 3)
    prof = os.path.join(ctx.tmp, "%s-viewers.json" % it.label)
    truth = record_viewers(ctx, it, prof, secs, 3, 1, ["--wall"])
    doc = load_json(prof)
    errs, msgs = [], []
    check(doc["kind"] == "wall", "kind %r, expected wall" % doc["kind"])
    keys = [t["key"] for t in doc["value_types"]]
    check(keys == ["samples", "cpu_ns", "offcpu_ns", "wall_ns"], "value types %s" % keys)
    hot, cold, nap = by_name(doc, "burn_hot"), by_name(doc, "burn_cold"), by_name(doc, "nap")
    want = truth_shares(truth)
    both = hot["self_cpu_ns"] + cold["self_cpu_ns"]
    check(both > 0, "no CPU time in burn_hot/burn_cold")
    share = hot["self_cpu_ns"] / both
    msgs.append("burn_hot cpu share %.1f%% (measured %.1f%%)" % (100 * share, 100 * want["burn_hot"]))
    if abs(share - want["burn_hot"]) > 0.03:
        errs.append("burn_hot self CPU share %.1f%%, workload measured %.1f%%" % (
            100 * share, 100 * want["burn_hot"]))
    # A sample's CPU time is what the event clock advanced since the one
    # before: the two functions' CPU time is the workload's own (thread_time
    # around its calls), however late a busy VM delivers the timers (that
    # shows as fewer samples of more time each: reported, not asserted).
    # Where a sample's time went between them is sampling's split, bounded
    # above at 3 points of the two: each function's time may be off by
    # that much (a CI run here once moved 59 ms, 1.5 points, of burn_cold's
    # 999 ms into burn_hot, their sum exact), and by 5 % of its own.
    own_both = sum(truth["cpu"][f["name"]] for f in (hot, cold)) * 1e9
    if abs(both - own_both) > 0.05 * own_both + 2 * doc["period_ns"]:
        errs.append("burn_hot and burn_cold: %d ns of CPU, the workload measured %d ns" % (
            both, own_both))
    for f in (hot, cold):
        own = truth["cpu"][f["name"]] * 1e9
        mean = f["self_cpu_ns"] / max(f["self_samples"], 1)
        msgs.append("%s cpu %.0f/%.0f ms in %d samples (%.2f periods each)" % (
            f["name"], f["self_cpu_ns"] / 1e6, own / 1e6, f["self_samples"],
            mean / doc["period_ns"]))
        if abs(f["self_cpu_ns"] - own) > max(0.05 * own, 0.03 * own_both) + 2 * doc["period_ns"]:
            errs.append("%s: %d ns of CPU in %d samples, the workload measured %d ns" % (
                f["name"], f["self_cpu_ns"], f["self_samples"], own))
    # Each nap is a sleep, then a wait for the GIL the burner holds: the
    # sleep reason holds the naps asked for, all reasons the time the
    # workload measured around time.sleep().
    sleep = nap["self_offcpu_by_reason_ns"]["sleep"]
    asked = truth["naps"] * truth["nap"] * 1e9
    off = nap["self_offcpu_ns"]
    msgs.append("nap: sleep %.0f ms (%d naps asked %.0f ms), off-CPU %.0f ms (measured %.0f ms)" % (
        sleep / 1e6, truth["naps"], asked / 1e6, off / 1e6, truth["slept"] * 1e3))
    # Asleep at least as long as asked (less a little: the first nap can
    # begin before the sampler did), and no longer than the workload
    # measured around its sleeps: a busy VM wakes sleepers late.
    if not 0.95 * asked <= sleep <= 1.02 * truth["slept"] * 1e9:
        errs.append("nap off-CPU sleep %.0f ms, the workload asked for %.0f ms and "
                    "measured %.0f ms" % (sleep / 1e6, asked / 1e6, truth["slept"] * 1e3))
    if abs(off - truth["slept"] * 1e9) > 0.1 * truth["slept"] * 1e9:
        errs.append("nap off-CPU %.0f ms, the workload measured %.0f ms in time.sleep()" % (
            off / 1e6, truth["slept"] * 1e3))
    if sum(nap["self_offcpu_by_reason_ns"].values()) != nap["self_offcpu_ns"]:
        errs.append("nap's reasons do not add up to its off-CPU time")
    if nap["self_wall_ns"] != nap["self_cpu_ns"] + nap["self_offcpu_ns"]:
        errs.append("nap: wall != cpu + off-CPU")
    tot = doc["totals"]
    sums = dict(zip(doc["tree"]["columns"], tree_sums(doc["tree"])))
    for k in keys:
        if sums[k] != tot[k]:
            errs.append("tree %s sums to %d, totals say %d" % (k, sums[k], tot[k]))
    if sum(tot["offcpu_by_reason_ns"].values()) != tot["offcpu_ns"]:
        errs.append("total reasons do not add up")
    # Its thread: the napper's own off-CPU time is nap's.
    napper = [t for t in doc["threads"] if t["tid"] == truth["napper_tid"]]
    if not napper or abs(napper[0]["offcpu_ns"] - off) > 0.02 * off:
        errs.append("thread %d: %s, nap off-CPU %d" % (truth["napper_tid"], napper, off))
    if errs:
        raise Fail("; ".join(errs) + " [" + "; ".join(msgs) + "]")
    return "; ".join(msgs)


@once("viewers-html", order=150, quick=True)
def t_viewers_html(ctx, interps):
    """A CPU profile saved as pprof (-o x.pb.gz, no -f): go tool pprof reads
    it; report renders it as JSON, speedscope and HTML; the page's data is
    the JSON; Chromium renders it, a search and a zoom work."""
    need_browser()
    it = pick_interps(ctx, interps, ["3.13-trixie", "3.12-pyenv", "3.11-pyenv"], 1)[0]
    secs = dur(ctx, 4, 3)
    prof = os.path.join(ctx.tmp, "viewers-cpu.pb.gz")
    truth = record_viewers(ctx, it, prof, secs, 3, 1)
    msgs, errs = [], []
    with open(prof, "rb") as f:
        check(f.read(2) == b"\x1f\x8b", "-o x.pb.gz did not write gzipped pprof")
    if shutil.which("go"):
        home = os.path.join(ctx.tmp, "gohome")
        env = dict(os.environ, HOME=home, GOCACHE=os.path.join(home, "cache"),
                   GOPATH=os.path.join(home, "go"), PPROF_TMPDIR=home)
        rc, out, err, dt = run(["go", "tool", "pprof", "-top", prof], 180, env=env)
        check(rc == 0 and b"burn_hot" in out, "go tool pprof -top: rc %d, %s" % (rc, tail(err)))
        msgs.append("go tool pprof reads it")
    base = os.path.join(ctx.tmp, "viewers-cpu")
    ps_ok(ctx, ["report", prof, "-o", base + ".json"])
    ps_ok(ctx, ["report", prof, "-o", base + ".html"])
    ps_ok(ctx, ["report", prof, "-o", base + ".speedscope.json"])
    doc = load_json(base + ".json")
    check(page_blob(base + ".html") == doc, "the page's data is not report -f json's output")
    hot = by_name(doc, "burn_hot")
    total = doc["totals"]["samples"]
    want = truth_shares(truth)["burn_hot"]
    msgs.append("burn_hot %.1f%% of samples (measured %.1f%% of the burns)" % (
        100 * hot["self_samples"] / total, 100 * want))

    png = os.path.join(ctx.tmp, "viewers-cpu.png")
    seen = browser("html", base + ".html", png, "burn_hot", hot["name"])
    check_no_errors(seen, "cpu report")
    check(hot["name"] in seen["text"], "burn_hot not in the rendered DOM")
    msgs.append("screenshot " + check_screenshot(png, "cpu report"))
    # The page's table (computed from the tree) agrees with the JSON.
    row = [r for r in seen["table_text"] if r[0].split()[0] == hot["name"]]
    want = [100 * hot["self_samples"] / total, hot["self_samples"],
            100 * hot["total_samples"] / total, hot["total_samples"]]
    try:
        got = [float(c.strip().rstrip("%")) for c in row[0][1:5]]
    except (IndexError, ValueError):
        got = None
    if not got or any(abs(g - w) > 0.051 for g, w in zip(got, want)):
        errs.append("table row %s, JSON says %s" % (row[:1], want))
    if seen["magenta_before"] != 0 or seen["magenta_after"] < 100:
        errs.append("search highlighted %d pixels (before: %d)" % (
            seen["magenta_after"], seen["magenta_before"]))
    share = hot["total_samples"] / total
    if abs(seen["match_share"] - share) > 1e-6:
        errs.append("search share %.4f, JSON total share %.4f" % (seen["match_share"], share))
    if "%.1f%%" % (100 * share) not in seen["match_text"]:
        errs.append("match text %r lacks %.1f%%" % (seen["match_text"], 100 * share))
    if [r.split()[0] for r in seen["rows_after_search"]] != [hot["name"]]:
        errs.append("table after search: %s" % seen["rows_after_search"])
    if seen["zoom_name"] != hot["name"] or not seen["zoom_width_after"] > seen["zoom_width_before"]:
        errs.append("zoom: %r, width %.0f -> %.0f px" % (
            seen["zoom_name"], seen["zoom_width_before"], seen["zoom_width_after"]))
    if hot["name"] not in seen["crumbs"] or "total" not in seen["tooltip"]:
        errs.append("zoom: crumbs %r, tooltip %r" % (seen["crumbs"], seen["tooltip"]))
    if seen["zoom_after_reset"] != "all":
        errs.append("reset zoom left %r" % seen["zoom_after_reset"])
    msgs.append("search %.1f%% and zoom ok, rendered in %.0f ms" % (
        100 * seen["match_share"], seen["first_render_ms"]))

    ss = load_json(base + ".speedscope.json")
    frames = [f["name"] for f in ss["shared"]["frames"]]
    weights = sum(sum(p["weights"]) for p in ss["profiles"])
    if weights != doc["totals"]["cpu_ns"] or hot["name"] not in frames:
        errs.append("speedscope weights %d vs cpu %d" % (weights, doc["totals"]["cpu_ns"]))
    png = os.path.join(ctx.tmp, "viewers-speedscope.png")
    seen = browser("speedscope", base + ".speedscope.json", ss["name"], png)
    check_no_errors(seen, "speedscope")
    if seen["title"] != ss["name"] + " - speedscope":
        errs.append("speedscope title %r" % seen["title"])
    check_screenshot(png, "speedscope")
    msgs.append("speedscope loads %d profiles" % len(ss["profiles"]))
    if errs:
        raise Fail("; ".join(errs) + " [" + "; ".join(msgs) + "]")
    return "%s: " % it.label + "; ".join(msgs)


@once("viewers-wall-html", order=151)
def t_viewers_wall_html(ctx, interps):
    """record --wall -o x.html: off-CPU reasons in the page, the napper
    thread selectable, no errors."""
    need_browser()
    it = pick_interps(ctx, interps, ["3.12-pyenv", "3.13-trixie", "3.11-pyenv"], 1)[0]
    secs = dur(ctx, 3, 3)
    page = os.path.join(ctx.tmp, "viewers-wall.html")
    truth = record_viewers(ctx, it, page, secs, 1, 1, ["--wall"])
    doc = page_blob(page)
    nap = by_name(doc, "nap")
    check(doc["kind"] == "wall" and nap["self_offcpu_by_reason_ns"]["sleep"] > 0,
          "no sleep in nap: %s" % nap)
    png = os.path.join(ctx.tmp, "viewers-wall.png")
    seen = browser("html", page, png, "nap", nap["name"], "thread:%d" % truth["napper_tid"])
    check_no_errors(seen, "wall report")
    errs = []
    # The napper alone: its own wall time, nap on top of the table.
    napper = [t for t in doc["threads"] if t["tid"] == truth["napper_tid"]][0]
    if seen.get("root_total") != napper["wall_ns"] or seen["root_total_before"] != doc["totals"]["wall_ns"]:
        errs.append("thread selection: graph total %s (all: %s), napper's wall %d (all: %d)" % (
            seen.get("root_total"), seen["root_total_before"], napper["wall_ns"],
            doc["totals"]["wall_ns"]))
    if not seen["table_text"] or seen["table_text"][0][0].split()[0] != nap["name"]:
        errs.append("napper's table starts with %s" % seen["table_text"][:1])
    for text in ("off-CPU: sleep", "on CPU", "thread %d " % truth["napper_tid"], "lost:"):
        if text not in seen["text"]:
            errs.append("%r not in the page" % text)
    if "off-CPU sleep" not in seen["tooltip"]:
        errs.append("tooltip of nap has no sleep split: %r" % seen["tooltip"])
    check_screenshot(png, "wall report")
    if errs:
        raise Fail("; ".join(errs))
    return "%s: reasons, tooltip split, napper thread selected (%.0f ms) ok" % (
        it.label, napper["wall_ns"] / 1e6)


@once("viewers-calls", order=152, quick=True)
def t_viewers_calls(ctx, interps):
    """calls -o x.html and -o x.speedscope.json: the page shows exact call
    counts and callers/callees; speedscope loads, and the evented timeline
    holds the sleeper's call as long as the workload measured it."""
    need_browser()
    it = pick_interps(ctx, interps, ["3.12-pyenv", "3.13-trixie", "3.11-pyenv"], 1)[0]
    errs, msgs = [], []
    outs = {}
    for ext in ("html", "speedscope.json"):
        tout, hout = it.out("calls.out")
        outs[ext] = os.path.join(ctx.tmp, "viewers-calls." + ext)
        ps_ok(ctx, ["calls", "-o", outs[ext], "--"] + it.argv("calls.py", tout, 1))
        outs[ext + ".truth"] = read_result(hout)
    truth = outs["html.truth"]
    doc = page_blob(outs["html"])
    fib = by_name(doc, "fib")
    check(fib["calls"] == truth["calls"]["fib"], "fib calls %d, expected %d" % (
        fib["calls"], truth["calls"]["fib"]))
    fib_idx = doc["functions"].index(fib)
    if not [e for e in doc["edges"] if e["caller"] == fib_idx and e["callee"] == fib_idx]:
        errs.append("no fib -> fib edge in the page's data")
    png = os.path.join(ctx.tmp, "viewers-calls.png")
    seen = browser("html", outs["html"], png, "fib", fib["name"], "row:" + fib["name"])
    check_no_errors(seen, "calls report")
    check(fib["name"] in seen["text"], "fib not in the rendered DOM")
    row = [r for r in seen.get("table_text", []) if r[0].split()[0] == fib["name"]]
    if not row or row[0][1].replace(",", "") != str(fib["calls"]):
        errs.append("table row for fib %s, expected %d calls" % (row[:1], fib["calls"]))
    edges = seen.get("edges_text", "")
    if "callers" not in edges or edges.count(fib["name"]) < 3:
        errs.append("callers/callees of fib: %r" % edges[:300])
    msgs.append("fib %d calls, callers/callees shown, %s" % (
        fib["calls"], check_screenshot(png, "calls report")))

    ss = load_json(outs["speedscope.json"])
    truth = outs["speedscope.json.truth"]
    names = [f["name"].split(".")[-1] for f in ss["shared"]["frames"]]
    sampled = [p for p in ss["profiles"] if p["type"] == "sampled"]
    evented = [p for p in ss["profiles"] if p["type"] == "evented"]
    check(sampled and evented, "profiles: %s" % [p["type"] for p in ss["profiles"]])
    sl = names.index("sleeper") if "sleeper" in names else -1
    durs = []
    for p in evented:
        stack = []
        for e in p["events"]:
            if e["type"] == "O":
                stack.append(e)
            else:
                o = stack.pop()
                if o["frame"] != e["frame"] or e["at"] < o["at"]:
                    errs.append("unbalanced events in %s" % p["name"])
                    break
                if e["frame"] == sl:
                    durs.append(e["at"] - o["at"])
        if stack:
            errs.append("%d calls left open in %s" % (len(stack), p["name"]))
    want = truth["sleep_wall"] * 1e9
    if len(durs) != 1 or abs(durs[0] - want) > 0.1 * want:
        errs.append("sleeper in the timeline: %s ns, measured %.0f" % (durs, want))
    png = os.path.join(ctx.tmp, "viewers-calls-speedscope.png")
    seen = browser("speedscope", outs["speedscope.json"], ss["name"], png)
    check_no_errors(seen, "speedscope (calls)")
    if seen["title"] != ss["name"] + " - speedscope":
        errs.append("speedscope title %r" % seen["title"])
    msgs.append("speedscope: %d sampled + %d evented, sleeper %.1f ms (measured %.1f)" % (
        len(sampled), len(evented), (durs or [0])[0] / 1e6, want / 1e6))
    if errs:
        raise Fail("; ".join(errs) + " [" + "; ".join(msgs) + "]")
    return "%s: " % it.label + "; ".join(msgs)


MEMORY_DOC = {
    "kind": "memory", "duration_ns": 5000000000,
    "functions": [
        {"name": "build_cache", "file": "/app/cache.py", "line": 12, "alloc_bytes": 734003200,
         "alloc_objects": 120000, "inuse_bytes": 524288000, "inuse_objects": 80000,
         "peak_bytes": 600000000},
        {"name": "parse_rows", "file": "/app/parse.py", "line": 40, "alloc_bytes": 209715200,
         "alloc_objects": 900000, "inuse_bytes": 1048576, "inuse_objects": 300,
         "peak_bytes": 52428800},
        {"name": "tiny_helper", "file": "/app/util.py", "line": 7, "alloc_bytes": 4096,
         "alloc_objects": 4, "inuse_bytes": 0, "inuse_objects": 0, "peak_bytes": 4096},
    ],
    "leaks": [{"name": "build_cache", "file": "/app/cache.py", "line": 12,
               "bytes": 524288000, "objects": 80000}],
    "temporaries": [{"name": "parse_rows", "file": "/app/parse.py", "line": 40,
                     "bytes": 208666624, "objects": 899700}],
    "timeline": [{"t": 1.0, "pid": 42, "cpu_pct": 95.0, "rss_bytes": 200000000,
                  "heap_live_bytes": 150000000},
                 {"t": 2.0, "pid": 42, "cpu_pct": 60.0, "rss_bytes": 560000000,
                  "heap_live_bytes": 520000000}],
    "findings": [{"kind": "leak", "severity": "high", "function": "build_cache",
                  "file": "/app/cache.py", "line": 12, "share": 0.78,
                  "evidence": "allocated and never freed"}],
    "lost": {"alloc_events_dropped": 0, "stack_map_full": 2},
}


@once("viewers-memory", order=153, quick=True)
def t_viewers_memory(ctx, interps):
    """A memory document (hand-made until `memory` lands) through report:
    allocated, in-use and leak views, timeline, findings, lost."""
    need_browser()
    src = os.path.join(ctx.tmp, "viewers-memory.json")
    page = os.path.join(ctx.tmp, "viewers-memory.html")
    with open(src, "w") as f:
        json.dump(MEMORY_DOC, f)
    ps_ok(ctx, ["report", src, "-o", page])
    check(page_blob(page) == MEMORY_DOC, "the page's data differs from the document")
    png = os.path.join(ctx.tmp, "viewers-memory.png")
    seen = browser("html", page, png, "", "", "tab:leaks")
    check_no_errors(seen, "memory report")
    errs = []
    for text in ("build_cache", "700.0 MiB", "In use", "Leaks (1)", "Temporaries (1)",
                 "stack_map_full=2", "Live heap", "allocated and never freed"):
        if text not in seen["text"]:
            errs.append("%r not in the page" % text)
    alloc = [r[0].split()[0] for r in seen["table_text_before"]]
    if alloc != ["build_cache", "parse_rows", "tiny_helper"]:
        errs.append("allocated view rows %s" % alloc)
    leaks = seen.get("table_text", [])
    if len(leaks) != 1 or leaks[0][0] != "build_cache" or "500.0 MiB" not in leaks[0]:
        errs.append("leaks view %s" % leaks)
    if seen["sections"] != ["meta", "findings", "timeline", "table-section"]:
        errs.append("sections %s" % seen["sections"])
    check_screenshot(png, "memory report")
    # Bad documents and formats that do not apply: one line, non-zero.
    cut = os.path.join(ctx.tmp, "viewers-cut.json")
    with open(src) as f, open(cut, "w") as g:
        g.write(f.read()[:200])
    for args in (["report", cut, "-o", page], ["report", src, "-f", "folded"]):
        rc, out, err, dt = ctx.ps(args, 60)
        lines = err.decode().strip().splitlines()
        if rc == 0 or len(lines) != 1 or not lines[0].startswith("pystrobe: error: "):
            errs.append("%s: rc %d, stderr %r" % (" ".join(args[1:]), rc, err.decode()))
    if errs:
        raise Fail("; ".join(errs))
    return "allocated/in-use/leaks views, timeline, findings ok"


@once("viewers-diff", order=154, quick=True)
def t_viewers_diff(ctx, interps):
    """Two CPU profiles with the workload's weights swapped: diff's change
    in share follows what the workload measured; a profile against itself
    is all zeros; a wall profile against a CPU one is refused in one line;
    the HTML diff renders grown red and shrunk blue."""
    need_browser()
    it = pick_interps(ctx, interps, ["3.13-trixie", "3.12-pyenv", "3.11-pyenv"], 1)[0]
    secs = dur(ctx, 3, 3)
    a = os.path.join(ctx.tmp, "viewers-a.pb.gz")
    b = os.path.join(ctx.tmp, "viewers-b.pb.gz")
    w = os.path.join(ctx.tmp, "viewers-w.pb.gz")
    ta = record_viewers(ctx, it, a, secs, 1, 3)
    tb = record_viewers(ctx, it, b, secs, 3, 1)
    record_viewers(ctx, it, w, 1, 1, 1, ["--wall"])
    errs, msgs = [], []
    out = ps_ok(ctx, ["diff", a, b, "-f", "json"])
    doc = json.loads(out)
    check(doc["kind"] == "diff" and doc["diff_of"] == "cpu", "diff of %s" % doc.get("diff_of"))
    hot, cold = by_name(doc, "burn_hot"), by_name(doc, "burn_cold")
    for f, name in ((hot, "burn_hot"), (cold, "burn_cold")):
        burns = [sum(t["cpu"].values()) for t in (ta, tb)]
        measured = tb["cpu"][name] / burns[1] - ta["cpu"][name] / burns[0]
        ours = (f["new_self_samples"] / (by_name(doc, "burn_hot")["new_self_samples"]
                                         + by_name(doc, "burn_cold")["new_self_samples"])
                - f["base_self_samples"] / (by_name(doc, "burn_hot")["base_self_samples"]
                                            + by_name(doc, "burn_cold")["base_self_samples"]))
        msgs.append("%s %+.1f pp (measured %+.1f)" % (name, 100 * ours, 100 * measured))
        if abs(ours - measured) > 0.04:
            errs.append("%s changed %+.1f pp of the burns, workload measured %+.1f pp" % (
                name, 100 * ours, 100 * measured))
        if f["delta_self_samples"] != f["new_self_samples"] - f["base_self_samples"]:
            errs.append("%s delta is not new - base" % name)
    if not hot["delta_self_share_samples"] > 0 > cold["delta_self_share_samples"]:
        errs.append("share changes %f / %f" % (hot["delta_self_share_samples"],
                                               cold["delta_self_share_samples"]))
    table = ps_ok(ctx, ["diff", a, b]).decode()
    rows = [l for l in table.splitlines() if re.search(r"\bburn_hot \(", l)]
    if not rows or not rows[0].split()[2].startswith("+"):
        errs.append("table row for burn_hot %s" % rows)

    same = json.loads(ps_ok(ctx, ["diff", a, a, "-f", "json"]))
    nonzero = [(f["name"], k) for f in same["functions"] for k, v in f.items()
               if k.startswith("delta_") and v != 0]
    if nonzero or not same["functions"]:
        errs.append("diff of a profile with itself: nonzero %s" % nonzero[:5])

    rc, out, err, dt = ctx.ps(["diff", a, w], 60)
    lines = err.decode().strip().splitlines()
    if rc == 0 or len(lines) != 1 or "different kinds" not in lines[0] or out:
        errs.append("cpu vs wall: rc %d, stderr %r" % (rc, err.decode()))

    for bad in ([a, os.path.join(ctx.tmp, "no-such.pb.gz")], [a, page_src()], [a]):
        rc, out, err, dt = ctx.ps(["diff"] + bad, 60)
        lines = err.decode().strip().splitlines()
        if rc == 0 or len(lines) != 1 or not lines[0].startswith("pystrobe: error: "):
            errs.append("diff %s: rc %d, stderr %r" % (bad[1:], rc, err.decode()))

    page = os.path.join(ctx.tmp, "viewers-diff.html")
    ps_ok(ctx, ["diff", a, b, "-o", page])
    check(page_blob(page) == doc, "the diff page's data is not diff -f json's output")
    png = os.path.join(ctx.tmp, "viewers-diff.png")
    seen = browser("html", page, png, "", "", "colours")
    check_no_errors(seen, "diff report")
    if hot["name"] not in seen["text"]:
        errs.append("burn_hot not in the diff page")
    if seen["red"] < 200 or seen["blue"] < 200:
        errs.append("differential colours: %d red, %d blue pixels" % (seen["red"], seen["blue"]))
    check_screenshot(png, "diff report")
    msgs.append("red %d / blue %d px" % (seen["red"], seen["blue"]))
    if errs:
        raise Fail("; ".join(errs) + " [" + "; ".join(msgs) + "]")
    return "%s: " % it.label + "; ".join(msgs)


def page_src():
    """A file that is not a profile."""
    return os.path.join(HERE, "viewers.py")


@once("viewers-big", order=155)
def t_viewers_big(ctx, interps):
    """100 000 distinct stacks (synthetic pprof): report's JSON tree has the
    generator's node count, and the page renders them all without errors.
    The time to first render is printed here and measured in
    scripts/bench_viewers.py (BENCHMARKS.md)."""
    need_browser()
    prof = os.path.join(ctx.tmp, "viewers-big.pb.gz")
    rc, out, err, dt = run(["python3", os.path.join(HERE, "pprof_gen.py"), prof, "100000"], 300)
    check(rc == 0, "pprof_gen.py: %s" % tail(err))
    gen = json.loads(out)
    base = os.path.join(ctx.tmp, "viewers-big")
    ps_ok(ctx, ["report", prof, "-o", base + ".json"])
    doc = load_json(base + ".json")
    n = len(doc["tree"]["parent"])
    check(n == gen["nodes"], "tree has %d nodes, the generator made %d" % (n, gen["nodes"]))
    check(doc["totals"]["samples"] == gen["total"], "total %d, generated %d" % (
        doc["totals"]["samples"], gen["total"]))
    ps_ok(ctx, ["report", prof, "-o", base + ".html"])
    png = os.path.join(ctx.tmp, "viewers-big.png")
    seen = browser("html", base + ".html", png)
    check_no_errors(seen, "100k-stack report")
    check(seen["nodes"] == gen["merged_nodes"], "page built %d nodes, expected %d" % (
        seen["nodes"], gen["merged_nodes"]))
    check_screenshot(png, "100k-stack report")
    return "%d stacks, %d nodes: first render at %.0f ms (%.1f MB page)" % (
        gen["stacks"], seen["nodes"], seen["first_render_ms"],
        os.path.getsize(base + ".html") / 1e6)
