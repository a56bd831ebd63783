# SPDX-License-Identifier: BSD-2-Clause
"""Profiles people look at: the resource timeline, `pystrobe top` in a
terminal, and pushing profiles to a Pyroscope-style receiver.

timeline  a workload that notes its own counters every few milliseconds
          (CPU time, RSS, context switches) and writes a known number of
          bytes: every timeline point must agree with what the workload
          measured over the point's own window.
"""

import bisect
import json
import os

from harness import Fail, Skip, check, dur, per_interp, read_result, tail

MIB = 1 << 20


def interp_at(notes, col, t):
    """The workload's counter col at wall time t, interpolated linearly."""
    times = [n[0] for n in notes]
    i = bisect.bisect_left(times, t)
    if i == 0:
        return notes[0][col]
    if i >= len(notes):
        return notes[-1][col]
    (t0, v0), (t1, v1) = (notes[i - 1][0], notes[i - 1][col]), (notes[i][0], notes[i][col])
    return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)


def last_at(notes, col, t):
    """The workload's last reading of col at or before t."""
    i = bisect.bisect_right([n[0] for n in notes], t)
    return notes[max(i - 1, 0)][col]


def timeline_windows(tl, pid):
    """[(start_unix_ns, end_unix_ns, point)] of pid, in order."""
    pts = sorted((p for p in tl["points"] if p["pid"] == pid), key=lambda p: p["t_ns"])
    out, prev = [], 0
    for p in pts:
        out.append((tl["start_unix_ns"] + prev, tl["start_unix_ns"] + p["t_ns"], p))
        prev = p["t_ns"]
    return out


def check_timeline(tl, truth, interval, errs, msgs, offcpu=False):
    """Each point against the workload's own counters over its window."""
    notes = truth["notes"]
    wins = timeline_windows(tl, truth["pid"])
    if len(wins) < 4:
        raise Fail("%d timeline points for pid %d (%s)" % (len(wins), truth["pid"],
                                                          json.dumps(tl)[:300]))
    if tl["interval_ns"] != int(interval * 1e9):
        errs.append("interval_ns %s, asked for %s s" % (tl["interval_ns"], interval))
    if tl["io_bytes"] != "storage":
        errs.append("io_bytes %r: this kernel keeps storage accounting" % tl["io_bytes"])
    inside = [w for w in wins if w[0] >= notes[0][0] and w[1] <= notes[-1][0]]
    spans = [(b - a) / 1e9 for a, b, _ in wins[:-1]]
    off_step = [s for s in spans if abs(s - interval) > 0.1 * interval + 0.02]
    if len(off_step) > 1:  # the first covers the interpreter's start
        errs.append("%d of %d points not %.2f s apart: %s" % (
            len(off_step), len(spans), interval, ["%.3f" % s for s in off_step[:5]]))
    busy = idle = 0
    worst = {}
    w0, w1, wbytes = truth["write"]
    a0, a1, _ = truth["alloc"]
    write_seen = 0
    for a, b, p in wins:
        span = b - a
        # CPU: the point's share of its window against the workload's own.
        own_cpu = interp_at(notes, 1, b) - interp_at(notes, 1, a)
        got_cpu = p["cpu_pct"] / 100 * span
        full = a >= notes[0][0] and b <= notes[-1][0]
        if full:
            d = abs(got_cpu - own_cpu)
            worst["cpu"] = max(worst.get("cpu", 0), d / 1e6)
            if d > 15e6 + 0.03 * span:
                errs.append("point at %.2f s: CPU %.1f%% = %.0f ms, the workload measured "
                            "%.0f ms in its window" % (p["t_ns"] / 1e9, p["cpu_pct"],
                                                      got_cpu / 1e6, own_cpu / 1e6))
            busy += own_cpu > 0.4 * span
            idle += own_cpu < 0.05 * span
            for col, key in ((3, "voluntary_switches"), (4, "involuntary_switches")):
                own = interp_at(notes, col, b) - interp_at(notes, col, a)
                d = abs(p[key] - own)
                worst[key[:5]] = max(worst.get(key[:5], 0), d)
                if d > 4 + 0.1 * own:
                    errs.append("point at %.2f s: %s %d, the workload counted %.1f" % (
                        p["t_ns"] / 1e9, key, p[key], own))
            if not (a1 - 20e6 <= b <= a1 + 20e6) and notes[0][2] is not None:
                own = last_at(notes, 2, b)
                d = abs(p["rss_bytes"] - own)
                worst["rss"] = max(worst.get("rss", 0), d / MIB)
                if d > 2 * MIB + 0.02 * own:
                    errs.append("point at %.2f s: RSS %.1f MiB, the workload read %.1f MiB" % (
                        p["t_ns"] / 1e9, p["rss_bytes"] / MIB, own / MIB))
        if b > w0 and a < w1:
            write_seen += p["write_bytes"]
        elif full and p["write_bytes"]:
            errs.append("point at %.2f s: %d bytes written outside the write (%.2f-%.2f s)" % (
                p["t_ns"] / 1e9, p["write_bytes"], (w0 - tl["start_unix_ns"]) / 1e9,
                (w1 - tl["start_unix_ns"]) / 1e9))
        if offcpu:
            check_offcpu(p, a, b, notes, errs, worst)
    if not wbytes <= write_seen <= wbytes + MIB // 2:
        errs.append("%d bytes written in the points around the write, the workload wrote %d" % (
            write_seen, wbytes))
    if busy < 2 or idle < 2:
        errs.append("only %d busy and %d idle windows checked: the phases were not seen" % (
            busy, idle))
    # The allocation: the points before and after it differ by its size.
    before = [w[2]["rss_bytes"] for w in wins if w[1] < a0]
    after = [w[2]["rss_bytes"] for w in wins if w[1] > a1 and w[1] < notes[-1][0]]
    if not before or not after:
        errs.append("no points before and after the allocation")
    else:
        grown = after[0] - before[-1]
        worst["grown"] = grown / MIB
        if not 0.97 * truth["kept"] <= grown <= truth["kept"] + 2 * MIB:
            errs.append("RSS grew %.1f MiB around a %d MiB allocation" % (
                grown / MIB, truth["kept"] // MIB))
    msgs.append("%d points (%d inside the workload's notes, %d busy, %d idle), worst |diff| "
                "cpu %.1f ms vol %.1f invol %.1f rss %s%s; RSS +%.1f MiB for %d; write %d/%d bytes" % (
                    len(wins), len(inside), busy, idle, worst.get("cpu", 0),
                    worst.get("volun", 0), worst.get("invol", 0),
                    "%.2f MiB" % worst["rss"] if "rss" in worst else "(no /proc in the root)",
                    " offcpu %.1f ms" % worst["offcpu"] if "offcpu" in worst else "",
                    worst.get("grown", 0), truth["kept"] // MIB, write_seen, wbytes))


def check_offcpu(p, a, b, notes, errs, worst):
    """A single-threaded workload is on the CPU or off it: the point's CPU
    and off-CPU time add up to its window (waits count when they end, and
    the workload's naps are 10 ms: within 30 ms)."""
    off = p["offcpu_ns"]
    if off is None:
        errs.append("point at %.2f s: no off-CPU time in a --wall run" % (p["t_ns"] / 1e9))
        return
    span = b - a
    total = sum(v for v in off.values() if v is not None) + p["cpu_pct"] / 100 * span
    d = abs(total - span)
    worst["offcpu"] = max(worst.get("offcpu", 0), d / 1e6)
    if d > 30e6 + 0.05 * span:
        errs.append("point at %.2f s: cpu + off-CPU %.0f ms in a %.0f ms window (%s)" % (
            p["t_ns"] / 1e9, total / 1e6, span / 1e6,
            ", ".join("%s %.0f" % (k, v / 1e6) for k, v in off.items() if v)))
    own_cpu = interp_at(notes, 1, b) - interp_at(notes, 1, a)
    if a >= notes[0][0] and b <= notes[-1][0] and own_cpu < 0.05 * span \
            and off["sleep"] < 0.8 * (span - own_cpu) - 30e6:
        errs.append("point at %.2f s: asleep %.0f ms of a %.0f ms window the workload napped" % (
            p["t_ns"] / 1e9, off["sleep"] / 1e6, span / 1e6))


@per_interp("timeline", order=200, quick=True)
def t_timeline(ctx, it):
    """calls and record --wall: the timeline against the workload's own counters."""
    phase, interval = dur(ctx, 1.5, 1.0), 0.25
    msgs, errs = [], []
    for cmd, extra in (("calls", []), ("record", ["--wall"])):
        tout, hout = it.out("usage-%s.out" % cmd)
        prof = os.path.join(ctx.tmp, "%s-timeline-%s.json" % (it.label, cmd))
        rc, out, err, _ = ctx.ps([cmd, "--interval", str(interval), "-o", prof] + extra
                                 + ["--"] + it.argv("usage.py", tout, phase, 2, it.tdir),
                                 timeout=4 * phase + 60)
        if cmd == "record" and rc != 0 and b"not a format for sampled" in err:
            msgs.append("record: no JSON writer for sampled profiles yet")
            continue
        check(rc == 0, "%s exited %d: %s" % (cmd, rc, tail(err)))
        truth = read_result(hout)
        with open(prof) as f:
            doc = json.load(f)
        check("timeline" in doc, "%s JSON has no timeline" % cmd)
        m, e = [], []
        check_timeline(doc["timeline"], truth, interval, e, m, offcpu=cmd == "record")
        msgs += ["%s: %s" % (cmd, x) for x in m]
        errs += ["%s: %s" % (cmd, x) for x in e]
    if errs:
        raise Fail("; ".join(errs[:8]) + " [" + "; ".join(msgs) + "]")
    return "; ".join(msgs)
