# SPDX-License-Identifier: BSD-2-Clause
"""Profiles people look at: the resource timeline, `pystrobe top` in a
terminal, and pushing profiles to a Pyroscope-style receiver.

timeline  a workload that notes its own counters every few milliseconds
          (CPU time, RSS, context switches) and writes a known number of
          bytes: every timeline point must agree with what the workload
          measured over the point's own window; with --wall, CPU and
          off-CPU add up to the window, less the machine's steal and
          interrupt time.
top       `pystrobe top` in tmux: the hot function on screen within a few
          seconds, the keys (sort, threads, pause, process), and quitting
          on q, on Ctrl-C and when the target exits, with nothing attached
          after; without a terminal, a one-line error.
push      a receiver started here on 127.0.0.1 checks each request's shape
          (POST /ingest?name=APP.cpu{pid=..,host=..}&from=&until=
          &format=pprof&sampleRate=) and `go tool pprof` parses every body;
          the bodies add up to the whole recording. Stopping the receiver
          mid-run leaves pystrobe sampling, counting what it dropped, and
          sending again once the receiver is back.
memory-push  `memory --push`: APP.memory{..} without sampleRate, one heap
          profile per process and interval: alloc_* what the interval
          allocated (summed over the bodies: the workload's own totals, and
          exactly the whole run's), inuse_* what is held at its end (the
          leak's, in the last body: what the workload keeps); to a
          server that is not there, the run as without --push and every
          profile counted as dropped.
"""

import bisect
import http.server
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import urllib.parse

from harness import (BadInputs, Fail, Skip, cgroup_mount, check, check_no_leaks, dur,
                     load_pprof, once, per_interp, pick_interps, read_pprof, read_result, run,
                     tail, unaccounted_ns, wait_for_file)

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


def note_gap(notes, t):
    """Length of the span between the workload's notes that holds t (0
    outside them): what interp_at can be wrong by, in CPU time, at t."""
    times = [n[0] for n in notes]
    i = bisect.bisect_left(times, t)
    return 0 if i == 0 or i >= len(times) else times[i] - times[i - 1]


# Notes are 5-10 ms apart; a longer gap is the allocation or the write and
# fsync, where switches come in a burst that interpolation spreads evenly.
NOTE_GAP = 25e6


def last_at(notes, col, t):
    """The workload's last reading of col at or before t."""
    i = bisect.bisect_right([n[0] for n in notes], t)
    return notes[max(i - 1, 0)][col]


def timeline_windows(doc, pid):
    """[(start_unix_ns, end_unix_ns, point)] of pid's timeline points, in
    order; each point gains t_ns."""
    start = doc["timeline_info"]["start_unix_ns"]
    pts = sorted((p for p in doc["timeline"] if p["pid"] == pid), key=lambda p: p["t"])
    out, prev = [], 0
    for p in pts:
        p["t_ns"] = int(round(p["t"] * 1e9))
        out.append((start + prev, start + p["t_ns"], p))
        prev = p["t_ns"]
    return out


class StealWatch:
    """The machine's steal and interrupt time (/proc/stat: time the
    hypervisor ran something else while a virtual CPU had work, and time in
    hard and soft interrupts), read every few milliseconds in a thread.
    Neither is charged to the task it interrupts nor seen as a wait by the
    scheduler, so a timeline point cannot account for it. steal(a, b):
    nanoseconds of it on all CPUs together over wall window [a, b]
    (time.time_ns), plus a tick when there was any."""

    def __init__(self):
        self.tick = 1e9 / os.sysconf("SC_CLK_TCK")
        self.readings = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done.is_set():
            self.readings.append((time.time_ns(), unaccounted_ns()))
            self.done.wait(0.005)

    def stop(self):
        self.done.set()
        self.thread.join()

    def steal(self, a, b):
        if not self.readings:
            return 0
        times = [r[0] for r in self.readings]
        i = max(bisect.bisect_right(times, a) - 1, 0)
        j = min(bisect.bisect_left(times, b), len(times) - 1)
        stolen = self.readings[j][1] - self.readings[i][1]
        return stolen + self.tick if stolen else 0


def check_timeline(doc, truth, interval, errs, msgs, offcpu=False, steal=None):
    """Each point against the workload's own counters over its window."""
    notes = truth["notes"]
    info = doc["timeline_info"]
    wins = timeline_windows(doc, truth["pid"])
    if len(wins) < 4:
        raise Fail("%d timeline points for pid %d (%s)" % (len(wins), truth["pid"],
                                                          json.dumps(doc["timeline"])[:300]))
    if info["interval_ns"] != int(interval * 1e9):
        errs.append("interval_ns %s, asked for %s s" % (info["interval_ns"], interval))
    if info.get("io_bytes") != "storage":
        errs.append("io_bytes %r: this kernel keeps storage accounting" % info.get("io_bytes"))
    inside = [w for w in wins if w[0] >= notes[0][0] and w[1] <= notes[-1][0]]
    spans = [(b - a) / 1e9 for a, b, _ in wins[:-1]]
    off_step = [s for s in spans if abs(s - interval) > 0.1 * interval + 0.02]
    if len(off_step) > 1:  # the first covers the interpreter's start
        errs.append("%d of %d points not %.2f s apart: %s" % (
            len(off_step), len(spans), interval, ["%.3f" % s for s in off_step[:5]]))
    busy = idle = at_gaps = 0
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
        # Where a or b falls in a long gap between notes (the allocation,
        # the write), interpolation can miss the gap's CPU time (at most
        # its length) and puts its burst of switches anywhere in it.
        gap_a, gap_b = note_gap(notes, a), note_gap(notes, b)
        gapped = max(gap_a, gap_b) > NOTE_GAP
        if full:
            d = abs(got_cpu - own_cpu)
            worst["cpu"] = max(worst.get("cpu", 0), d / 1e6)
            if d > 15e6 + 0.03 * span + (gap_a + gap_b if gapped else 0):
                errs.append("point at %.2f s: CPU %.1f%% = %.0f ms, the workload measured "
                            "%.0f ms in its window" % (p["t_ns"] / 1e9, p["cpu_pct"],
                                                      got_cpu / 1e6, own_cpu / 1e6))
            busy += own_cpu > 0.4 * span
            idle += own_cpu < 0.05 * span
            at_gaps += gapped
            for col, key in () if gapped else ((3, "voluntary_switches"),
                                               (4, "involuntary_switches")):
                own = interp_at(notes, col, b) - interp_at(notes, col, a)
                d = abs(p[key] - own)
                worst[key[:5]] = max(worst.get(key[:5], 0), d)
                if d > 4 + 0.1 * own:
                    errs.append("point at %.2f s: %s %d, the workload counted %.1f" % (
                        p["t_ns"] / 1e9, key, p[key], own))
            # No note of the workload's own tells its RSS while it allocates
            # (a0-a1) or while it fills and writes the write's buffer (w0-w1)
            if not (a0 - 20e6 <= b <= a1 + 20e6 or w0 - 20e6 <= b <= w1 + 20e6) \
                    and notes[0][2] is not None:
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
                p["t_ns"] / 1e9, p["write_bytes"], (w0 - info["start_unix_ns"]) / 1e9,
                (w1 - info["start_unix_ns"]) / 1e9))
        if offcpu:
            check_offcpu(p, a, b, notes, errs, worst, steal)
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
    msgs.append("%d points (%d inside the workload's notes, %d busy, %d idle, %d at a gap "
                "between them), worst |diff| "
                "cpu %.1f ms vol %.1f invol %.1f rss %s%s; RSS +%.1f MiB for %d; write %d/%d bytes" % (
                    len(wins), len(inside), busy, idle, at_gaps, worst.get("cpu", 0),
                    worst.get("volun", 0), worst.get("invol", 0),
                    "%.2f MiB" % worst["rss"] if "rss" in worst else "(no /proc in the root)",
                    " offcpu %.1f ms%s" % (
                        worst["offcpu"], " (steal and interrupts up to %.0f ms)" % worst["stolen"]
                        if worst.get("stolen") else "") if "offcpu" in worst else "",
                    worst.get("grown", 0), truth["kept"] // MIB, write_seen, wbytes))


def check_offcpu(p, a, b, notes, errs, worst, steal=None):
    """A single-threaded workload is on the CPU or off it: the point's CPU
    and off-CPU time add up to its window (waits count when they end, and
    the workload's naps are 10 ms: within 30 ms), less what interrupts and
    the hypervisor took from the machine in that window (StealWatch)."""
    off = p.get("offcpu_ns")
    if off is None:
        errs.append("point at %.2f s: no off-CPU time in a --wall run" % (p["t_ns"] / 1e9))
        return
    span = b - a
    total = sum(off.values()) + p["cpu_pct"] / 100 * span
    stolen = steal.steal(a, b) if steal else 0
    d = total - span
    d = d if d > 0 else min(0, d + stolen)
    worst["offcpu"] = max(worst.get("offcpu", 0), abs(d) / 1e6)
    if stolen:
        worst["stolen"] = max(worst.get("stolen", 0), stolen / 1e6)
    if abs(d) > 30e6 + 0.05 * span:
        errs.append("point at %.2f s: cpu + off-CPU %.0f ms in a %.0f ms window (%s; "
                    "machine steal and interrupts %.0f ms)" % (
                        p["t_ns"] / 1e9, total / 1e6, span / 1e6,
                        ", ".join("%s %.0f" % (k, v / 1e6) for k, v in off.items() if v),
                        stolen / 1e6))
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
        steal = StealWatch() if cmd == "record" else None  # only --wall needs it
        try:
            rc, out, err, _ = ctx.ps([cmd, "--interval", str(interval), "-o", prof] + extra
                                     + ["--"] + it.argv("usage.py", tout, phase, 2, it.tdir),
                                     timeout=4 * phase + 60)
        finally:
            if steal:
                steal.stop()
        check(rc == 0, "%s exited %d: %s" % (cmd, rc, tail(err)))
        truth = read_result(hout)
        with open(prof) as f:
            doc = json.load(f)
        check("timeline" in doc and "timeline_info" in doc, "%s JSON has no timeline" % cmd)
        m, e = [], []
        check_timeline(doc, truth, interval, e, m, offcpu=cmd == "record", steal=steal)
        msgs += ["%s: %s" % (cmd, x) for x in m]
        errs += ["%s: %s" % (cmd, x) for x in e]
    if errs:
        raise Fail("; ".join(errs[:8]) + " [" + "; ".join(msgs) + "]")
    return "; ".join(msgs)


# --------------------------------------------------------------------------
# push


class Receiver:
    """A Pyroscope-shaped ingest endpoint on 127.0.0.1 that keeps every
    request: (monotonic time, path, query, content type, body)."""

    def __init__(self, port=0):
        got = self.got = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                u = urllib.parse.urlsplit(self.path)
                got.append((time.monotonic(), u.path, urllib.parse.parse_qs(u.query),
                            self.headers.get("Content-Type"), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        """Closes the port: connections are refused from here on."""
        self.server.shutdown()
        self.server.server_close()


NAME = re.compile(r"^(?P<app>[^{}]+)\.(?P<type>[a-z]+)\{(?P<labels>[^{}]*)\}$")


def check_request(req, app, rate, errs, ptype="cpu"):
    """The documented shape (rate None: no sampleRate); -> (pid, from, until)
    or None."""
    _, path, q, ctype, body = req
    one = dict((k, v[0]) for k, v in q.items() if len(v) == 1)
    m = NAME.match(one.get("name", ""))
    labels = dict(kv.split("=", 1) for kv in m.group("labels").split(",")) if m else {}
    bad = []
    if path != "/ingest":
        bad.append("path %r" % path)
    if not m or m.group("app") != app or m.group("type") != ptype:
        bad.append("name %r" % one.get("name"))
    if labels.get("host") != socket.gethostname() or not labels.get("pid", "").isdigit():
        bad.append("labels %r" % labels)
    if one.get("format") != "pprof" or one.get("sampleRate") != (
            None if rate is None else str(rate)):
        bad.append("format %r sampleRate %r" % (one.get("format"), one.get("sampleRate")))
    if not (one.get("from", "").isdigit() and one.get("until", "").isdigit()) \
            or int(one["until"]) <= int(one["from"]):
        bad.append("from %r until %r" % (one.get("from"), one.get("until")))
    if ctype != "application/octet-stream" or body[:2] != b"\x1f\x8b":
        bad.append("content %r, body starts %r" % (ctype, body[:4]))
    if bad:
        errs.append("request %s: %s" % (one.get("name"), ", ".join(bad)))
        return None
    return int(labels["pid"]), int(one["from"]), int(one["until"])


def go_pprof_raw(ctx, body):
    """Parses body with `go tool pprof -raw` -> (samples, text)."""
    home = tempfile.mkdtemp(prefix="gohome-", dir=ctx.tmp)
    path = os.path.join(home, "body.pb.gz")
    with open(path, "wb") as f:
        f.write(body)
    env = dict(os.environ, HOME=home, GOCACHE=os.path.join(home, "cache"),
               GOPATH=os.path.join(home, "go"), PPROF_TMPDIR=home, GO111MODULE="off")
    rc, out, err, _ = run(["go", "tool", "pprof", "-raw", path], timeout=120, env=env)
    text = out.decode("utf-8", "replace")
    if rc != 0 or "Samples:" not in text:
        raise Fail("go tool pprof -raw could not read a pushed body (rc %d): %s" % (
            rc, tail(err)))
    section = text.split("Samples:", 1)[1].split("Locations", 1)[0]
    samples = sum(int(ln.split()[0]) for ln in section.splitlines()[2:]
                  if ln.strip() and ln.split()[0].isdigit())
    shutil.rmtree(home, ignore_errors=True)
    return samples, text


def samples_in(path):
    """Sample count of a saved pprof (the samples/count type)."""
    pp = read_pprof(path)
    i = pp["sample_types"].index(("samples", "count"))
    return sum(s["values"][i] for s in pp["samples"])


PUSH_SUMMARY = re.compile(r"^pystrobe: pushed (\d+) of (\d+) profiles (.*)$", re.M)
PUSH_DROPPED = re.compile(r"; dropped (\d+) \((\d+) queue full, (\d+) failed, (\d+) at exit\)")


def push_summary(err):
    """pystrobe's last words on pushing -> (sent, queued, [dropped, full, failed, exit])."""
    m = PUSH_SUMMARY.search(err.decode("utf-8", "replace"))
    check(m, "no push summary on stderr: %s" % tail(err))
    d = PUSH_DROPPED.search(m.group(3))
    return int(m.group(1)), int(m.group(2)), [int(d.group(i)) if d else 0 for i in (1, 2, 3, 4)]


@once("push", order=200, quick=True)
def t_push(ctx, interps):
    """Every interval's profile arrives in the documented shape, and the
    bodies add up to the recording."""
    if not shutil.which("go"):
        raise Skip("go (golang-go) not installed")
    msgs, errs = [], []
    for it in pick_interps(ctx, interps, ["3.12-pyenv", "3.13-trixie"], 2):
        rec = Receiver()
        tout, hout = it.out("push-spin.out")
        prof = os.path.join(ctx.tmp, "%s-push.pb.gz" % it.label)
        secs = dur(ctx, 5, 4)
        try:
            rc, out, err, _ = ctx.record(
                ["-F", "199", "--push", "http://127.0.0.1:%d" % rec.port, "--app", "pst.test",
                 "--push-interval", "1", "-o", prof, "--"]
                + it.argv("spin.py", tout, "spin_a", secs), timeout=secs + 60)
        finally:
            rec.stop()
        check(rc == 0, "%s: record exited %d: %s" % (it.label, rc, tail(err)))
        truth = read_result(hout)
        sent, queued, dropped = push_summary(err)
        reqs = [(r, check_request(r, "pst.test", 199, errs)) for r in rec.got]
        total, hot = 0, 0
        for r, shape in reqs:
            n, text = go_pprof_raw(ctx, r[4])
            total += n
            hot += "spin_a" in text and shape and shape[0] == truth["pid"]
        want = samples_in(prof)
        pids = set(shape[0] for _, shape in reqs if shape)
        spans = sorted(shape[1:] for _, shape in reqs if shape and shape[0] == truth["pid"])
        gaps = [(a, b) for (_, a), (b, _) in zip(spans, spans[1:]) if b != a]
        msgs.append("%s: %d requests (pids %s), %d samples pushed of %d recorded, spin_a in %d"
                    % (it.label, len(rec.got), sorted(pids), total, want, hot))
        if len(rec.got) != sent or sent != queued or any(dropped):
            errs.append("%s: %d requests arrived; pystrobe says %d of %d sent, dropped %s" % (
                it.label, len(rec.got), sent, queued, dropped))
        if total != want:
            errs.append("%s: the bodies hold %d samples, the recording %d" % (
                it.label, total, want))
        if hot < secs - 2 or truth["pid"] not in pids:
            errs.append("%s: spin_a (pid %d) in %d bodies of a %d s run at 1 s" % (
                it.label, truth["pid"], hot, secs))
        if gaps:
            errs.append("%s: intervals of pid %d do not follow each other: %s" % (
                it.label, truth["pid"], gaps[:3]))
    if errs:
        raise Fail("; ".join(errs[:6]) + " [" + "; ".join(msgs) + "]")
    return "; ".join(msgs)


@once("push-outage", order=201)
def t_push_outage(ctx, interps):
    """The receiver goes away for longer than the retries last and comes back:
    sampling goes on, what could not be sent is counted, sending resumes."""
    if not shutil.which("go"):
        raise Skip("go (golang-go) not installed")
    it = pick_interps(ctx, interps, ["3.12-pyenv", "3.11-pyenv"], 1)[0]
    rec = Receiver()
    port = rec.port
    tout, hout = it.out("outage-spin.out")
    prof = os.path.join(ctx.tmp, "push-outage.pb.gz")
    secs, down = 12, 6.0
    p = ctx.spawn([ctx.pystrobe, "record", "-F", "199", "--push", "http://127.0.0.1:%d" % port,
                   "--app", "pst.outage", "--push-interval", "1", "-o", prof, "--"]
                  + it.argv("spin.py", tout, "spin_a", secs),
                  stderr=open(os.path.join(ctx.tmp, "outage.err"), "wb"))
    try:
        end = time.monotonic() + 30
        while len(rec.got) < 2 and time.monotonic() < end and p.p.poll() is None:
            time.sleep(0.05)
        check(len(rec.got) >= 2, "no requests before the outage")
        rec.stop()
        t_down = time.monotonic()
        time.sleep(down)
        check(p.p.poll() is None, "pystrobe exited (rc %s) while the receiver was down" % (
            p.p.returncode))
        rec2 = Receiver(port)
        t_up = time.monotonic()
        rc = p.wait(secs + 60)
    finally:
        rec.server.server_close()
    rec2.stop()
    with open(os.path.join(ctx.tmp, "outage.err"), "rb") as f:
        err = f.read()
    check(rc == 0, "record exited %d: %s" % (rc, tail(err)))
    truth = read_result(hout)
    sent, queued, dropped = push_summary(err)
    got = rec.got + rec2.got
    seen = set()
    for r in got:
        shape = check_request(r, "pst.outage", 199, [])
        check(shape, "a request of the wrong shape: %r" % (r[:4],))
        go_pprof_raw(ctx, r[4])
        seen.add(shape)
    after = [r for r in rec2.got]
    recorded = samples_in(prof)
    cpu_share = recorded * (1e9 / 199) / 1e9 / truth["cpu"]
    rep = run([ctx.pystrobe, "report", prof], timeout=60)[1].decode()
    lost = re.search(r"push_dropped=(\d+)", rep)
    msg = ("down %.1f s: %d requests before, %d after it came back; pystrobe: %d of %d sent, "
           "dropped %s (full, failed, exit); recording %d samples = %.0f%% of the workload's "
           "own CPU time; lost: push_dropped=%s" % (
               t_up - t_down, len(rec.got), len(after), sent, queued, dropped[1:], recorded,
               100 * cpu_share, lost.group(1) if lost else None))
    errs = []
    if not dropped[0]:
        errs.append("nothing dropped during a %.0f s outage" % down)
    if sent != len(seen) or sent + dropped[0] != queued:
        errs.append("sent %d (receiver got %d distinct) + dropped %d != queued %d" % (
            sent, len(seen), dropped[0], queued))
    if len(after) < 2:
        errs.append("only %d requests after the receiver came back" % len(after))
    if not 0.85 <= cpu_share <= 1.1:
        errs.append("sampling stalled: the recording holds %.0f%% of the CPU time" % (
            100 * cpu_share))
    if not lost or int(lost.group(1)) != dropped[0]:
        errs.append("lost: line says push_dropped=%s, stderr %d" % (
            lost.group(1) if lost else None, dropped[0]))
    if errs:
        raise Fail("; ".join(errs) + " [" + msg + "]")
    return msg


HEAP_TYPES = [("alloc_objects", "count"), ("alloc_space", "bytes"),
              ("inuse_objects", "count"), ("inuse_space", "bytes")]
MEMORY_SITES = ("temp_a", "temp_b", "leak", "fill_cache", "make_objects")


def within(got, want, tol):
    return want > 0 and abs(got - want) <= tol * want


def mib(b):
    return "%.1f" % (b / 1048576.0)


def leaf_function(s):
    """A heap sample's site: its innermost frame's bare function name, if in
    the memory workload."""
    if not s.frames or not s.frames[0][1].endswith("/memory.py"):
        return None
    return s.frames[0][0].split(".")[-1]


@per_interp("memory-push", order=203, quick=True)
def t_memory_push(ctx, it):
    """memory --push: per interval, what was allocated in it and what is
    held at its end, against the workload's truth and the whole run."""
    if not shutil.which("go"):
        raise Skip("go (golang-go) not installed")
    rec = Receiver()
    tout, hout = it.out("memory-push.out")
    prof = os.path.join(ctx.tmp, "%s-memory-push.json" % it.label)
    try:
        rc, out, err, _ = ctx.ps(
            ["memory", "--rate", "16K", "--push", "http://127.0.0.1:%d" % rec.port,
             "--app", "pst.mem", "--push-interval", "1", "-f", "json", "-o", prof, "--"]
            + it.argv("memory.py", tout, dur(ctx, 1.0, 0.5)), timeout=120)
    finally:
        rec.stop()
    check(rc == 0, "memory exited %d: %s" % (rc, tail(err)))
    truth = read_result(hout)
    with open(prof) as f:
        doc = json.load(f)
    sent, queued, dropped = push_summary(err)
    errs, msgs = [], []
    if len(rec.got) != sent or sent != queued or any(dropped):
        errs.append("%d requests arrived; pystrobe says %d of %d sent, dropped %s" % (
            len(rec.got), sent, queued, dropped))
    if doc["lost"].get("push_dropped") != 0:
        errs.append("lost: push_dropped=%r" % doc["lost"].get("push_dropped"))
    # Per body of the workload's process: {site: [alloc_space, inuse_space]}.
    bodies = []
    for r in rec.got:
        shape = check_request(r, "pst.mem", None, errs, ptype="memory")
        go_pprof_raw(ctx, r[4])
        path = os.path.join(ctx.tmp, "%s-memory-push-body.pb.gz" % it.label)
        with open(path, "wb") as f:
            f.write(r[4])
        pp, samples = load_pprof(path, HEAP_TYPES)
        if not shape or shape[0] != truth["pid"]:
            continue
        if any(s.labels.get("pid") != truth["pid"] for s in samples):
            errs.append("a body of pid %d holds samples of pids %s" % (
                shape[0], sorted(set(s.labels.get("pid") for s in samples))))
        sites = {}
        for s in samples:
            v = sites.setdefault(leaf_function(s), [0, 0])
            v[0] += s.v["alloc_space"]
            v[1] += s.v["inuse_space"]
        bodies.append((shape[1], shape[2], sites))
    check(bodies, "no body of the workload's pid %d among %d requests: %s" % (
        truth["pid"], len(rec.got), errs[:3]))
    bodies.sort(key=lambda b: b[:2])
    gaps = [(a[1], b[0]) for a, b in zip(bodies, bodies[1:]) if a[1] != b[0]]
    if gaps:
        errs.append("intervals do not follow each other: %s" % gaps[:3])
    whole = dict((e["name"].split(".")[-1], e) for e in doc["functions"]
                 if e["file"].endswith("/memory.py"))
    for name in MEMORY_SITES:
        pushed = sum(b[2].get(name, [0, 0])[0] for b in bodies)
        want = truth["alloc"][name][0]
        if not within(pushed, want, 0.10):
            errs.append("%s: %d bytes allocated over the pushes, truth %d" % (
                name, pushed, want))
        if name in whole and pushed != whole[name]["alloc_bytes"]:
            errs.append("%s: %d bytes allocated over the pushes, the whole run %d" % (
                name, pushed, whole[name]["alloc_bytes"]))
    ta = [b[2].get("temp_a", [0, 0])[0] for b in bodies]
    msgs.append("%d bodies of pid %d; temp_a allocated per interval %s MiB (truth %s in all)" % (
        len(bodies), truth["pid"], "/".join(mib(x) for x in ta),
        mib(truth["alloc"]["temp_a"][0])))
    if len(bodies) < 3 or max(ta) > 0.75 * sum(ta):
        errs.append("temp_a per interval %s: not each interval's own share" % ta)
    leak = [b[2].get("leak", [0, 0])[1] for b in bodies]
    want = truth["inuse"]["leak"][0]
    msgs.append("leak held at each end %s MiB (truth %s at the last)" % (
        "/".join(mib(x) for x in leak), mib(want)))
    if not within(leak[-1], want, 0.15):
        errs.append("leak in use %d bytes in the last body, truth %d" % (leak[-1], want))
    if any(b < a for a, b in zip(leak, leak[1:])):
        errs.append("the leak's in-use bytes fall from one interval to the next: %s" % leak)
    last_temp = bodies[-1][2].get("temp_a", [0, 0])[1]
    if last_temp > 0.01 * truth["alloc"]["temp_a"][0]:
        errs.append("temp_a holds %d bytes at the end, all freed" % last_temp)
    if errs:
        raise Fail("; ".join(errs[:6]) + " [" + "; ".join(msgs) + "]")
    return "; ".join(msgs)


@once("memory-push-down", order=204)
def t_memory_push_down(ctx, interps):
    """memory --push to a server that is not there: the run and its output
    are as without --push, every profile is counted as dropped and said."""
    it = pick_interps(ctx, interps, ["3.12-pyenv", "3.13-trixie"], 1)[0]
    rec = Receiver()
    port = rec.port
    rec.stop()  # a port just free: connections are refused
    tout, hout = it.out("memory-push-down.out")
    prof = os.path.join(ctx.tmp, "memory-push-down.json")
    rc, out, err, secs = ctx.ps(
        ["memory", "--rate", "16K", "--push", "http://127.0.0.1:%d" % port, "--app", "pst.down",
         "--push-interval", "1", "-f", "json", "-o", prof, "--"]
        + it.argv("memory.py", tout, 0.5), timeout=120)
    check(rc == 0, "memory exited %d: %s" % (rc, tail(err)))
    truth = read_result(hout)
    with open(prof) as f:
        doc = json.load(f)
    sent, queued, dropped = push_summary(err)
    whole = dict((e["name"].split(".")[-1], e) for e in doc["functions"]
                 if e["file"].endswith("/memory.py"))
    errs = []
    got = whole.get("temp_a", {}).get("alloc_bytes", 0)
    msg = ("%.1f s for a %.1f s workload; %d of %d sent, dropped %s (full, failed, exit); "
           "temp_a %s of %s MiB; lost: push_dropped=%s" % (
               secs, truth["elapsed"], sent, queued, dropped[1:], mib(got),
               mib(truth["alloc"]["temp_a"][0]), doc["lost"].get("push_dropped")))
    if sent or queued < 3 or dropped[0] != queued:
        errs.append("a server that is not there: %d of %d sent, %d dropped" % (
            sent, queued, dropped[0]))
    if doc["lost"].get("push_dropped") != dropped[0]:
        errs.append("lost: push_dropped=%r, stderr says %d" % (
            doc["lost"].get("push_dropped"), dropped[0]))
    if not within(got, truth["alloc"]["temp_a"][0], 0.10):
        errs.append("temp_a %d bytes allocated, truth %d" % (got, truth["alloc"]["temp_a"][0]))
    # the workload, start-up, and at most the 5 s given to what is queued
    if secs > truth["elapsed"] + 12:
        errs.append("the run took %.1f s" % secs)
    if errs:
        raise Fail("; ".join(errs) + " [" + msg + "]")
    return msg


@once("badinput-push", order=202, quick=True)
def t_badinput_push(ctx, interps):
    b = BadInputs(ctx)
    cmd = ["--", "/bin/true"]
    b.expect("--push without --app", ["record", "--push", "http://127.0.0.1:9"] + cmd,
             meaning=True)
    b.expect("--app without --push", ["record", "--app", "x"] + cmd, meaning=True)
    b.expect("--push ftp://", ["record", "--push", "ftp://h/", "--app", "x"] + cmd, meaning=True)
    b.expect("--push-interval 0", ["record", "--push", "http://127.0.0.1:9", "--app", "x",
                                   "--push-interval", "0"] + cmd, meaning=True)
    b.expect("--app with a brace", ["record", "--push", "http://127.0.0.1:9", "--app",
                                    "a{b}"] + cmd, meaning=True)
    b.expect("memory --push without --app", ["memory", "--push", "http://127.0.0.1:9"] + cmd,
             meaning=True)
    b.expect("memory --push-interval 0.5", ["memory", "--push", "http://127.0.0.1:9", "--app",
                                            "x", "--push-interval", "0.5"] + cmd, meaning=True)
    b.expect("memory --app with a brace", ["memory", "--push", "http://127.0.0.1:9", "--app",
                                           "a{b}"] + cmd, meaning=True)
    # One option, defined once: --interval is the shared group's.
    for c in ("record", "memory"):
        rc, out, err, _ = ctx.ps([c, "--help"], 30)
        n = len(re.findall(r"^\s+--interval=", out.decode(), re.M))
        if rc != 0 or n != 1:
            b.errs.append("%s --help: rc %d, --interval listed %d times" % (c, rc, n))
    return b.result()


# --------------------------------------------------------------------------
# top


class Tmux:
    """`pystrobe top ARGS` in a detached tmux session of its own server
    (its socket in the test's directory); the exit status lands in a file."""

    def __init__(self, ctx, args, width=160, height=40):
        name = "tmux-%d" % int(time.monotonic() * 1000)
        self.sock = os.path.join(ctx.tmp, name + ".sock")
        self.status = os.path.join(ctx.tmp, name + ".exit")
        cmd = "%s top %s; echo $? > %s; sleep 120" % (
            ctx.pystrobe, " ".join(str(a) for a in args), self.status)
        self.tmux("new-session", "-d", "-x", str(width), "-y", str(height), cmd)

    def tmux(self, *args):
        rc, out, err, _ = run(["tmux", "-S", self.sock] + list(args), timeout=20)
        check(rc == 0, "tmux %s: %s" % (args[0], tail(err)))
        return out.decode("utf-8", "replace")

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "0")

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "0", *keys)

    def wait(self, pred, timeout, what):
        """Polls the screen until pred(screen) -> (screen, seconds waited)."""
        t0 = time.monotonic()
        while True:
            scr = self.screen()
            if pred(scr):
                return scr, time.monotonic() - t0
            if os.path.exists(self.status) or time.monotonic() - t0 > timeout:
                raise Fail("%s: not on screen after %.1f s%s:\n%s" % (
                    what, time.monotonic() - t0,
                    " (top exited %s)" % self.exit_status() if os.path.exists(self.status)
                    else "", scr))
            time.sleep(0.1)

    def exit_status(self, timeout=0):
        end = time.monotonic() + timeout
        while True:
            try:
                with open(self.status) as f:
                    return int(f.read().strip())
            except (OSError, ValueError):
                if time.monotonic() >= end:
                    return None
                time.sleep(0.05)

    def kill(self):
        run(["tmux", "-S", self.sock, "kill-server"], timeout=20)
        try:
            os.unlink(self.sock)
        except OSError:
            pass


ROW = re.compile(r"^\s*(?P<own>[\d.]+)%\s+(?P<total>[\d.]+)%\s.*?  (?P<func>\S+) \(")


def rows(scr):
    """The function rows on screen: [(function, own %, total %)]."""
    out = []
    for ln in scr.splitlines():
        m = ROW.match(ln)
        if m:
            out.append((m.group("func"), float(m.group("own")), float(m.group("total"))))
    return out


def hot(func, pct=50):
    return lambda scr: any(f == func and own >= pct for f, own, _ in rows(scr))


def elapsed(scr):
    m = re.search(r"Hz  ([\d.]+ \w+)", scr)
    return m.group(1) if m else None


def nothing_attached(what, errs):
    leaks = check_no_leaks(())  # freeing is asynchronous: it waits a little
    if leaks:
        errs.append("%s: left attached: %s" % (what, "; ".join(leaks)))


def top_session(ctx, it, errs, msgs):
    """The keys, then q."""
    tout, hout = it.out("top-spin.out")
    w = ctx.spawn(it.argv("spin.py", tout, "spin_a", 60))
    wait_for_file(hout + ".ready", 30, w)
    tm = Tmux(ctx, ["-p", w.pid])
    try:
        scr, waited = tm.wait(hot("spin_a"), 10, "spin_a at 50% or more")
        msgs.append("%s: spin_a on screen after %.1f s" % (it.label, waited))
        if waited > 5:
            errs.append("spin_a took %.1f s to show" % waited)
        if "pid %d" % w.pid not in scr or "1 process" not in scr:
            errs.append("header does not name pid %d: %r" % (w.pid, scr.splitlines()[0]))
        if rows(scr)[0][0] != "spin_a":
            errs.append("by OWN%% the first row is %s" % (rows(scr)[0],))
        tm.keys("2")  # TOTAL%: the callers of spin_a come first
        scr, _ = tm.wait(lambda s: rows(s) and rows(s)[0][0] != "spin_a", 5,
                         "a caller of spin_a first by TOTAL%")
        if rows(scr)[0][0] not in ("main", "<module>") or rows(scr)[0][2] < 50:
            errs.append("by TOTAL%% the first row is %s" % (rows(scr)[0],))
        tm.keys("1")
        tm.wait(lambda s: rows(s) and rows(s)[0][0] == "spin_a", 5, "spin_a first again")
        tm.keys("t")
        scr, _ = tm.wait(lambda s: re.search(r"^\s*%d\s+%d\s+[\d.]+%%" % (w.pid, w.pid), s,
                                             re.M), 5, "the thread view's main thread")
        if "THREAD" not in scr:
            errs.append("thread view without its header")
        tm.keys("t")
        tm.wait(hot("spin_a"), 5, "the functions again")
        tm.keys("Space")
        scr, _ = tm.wait(lambda s: "[paused]" in s, 5, "[paused]")
        frozen = elapsed(scr)
        time.sleep(2.2)
        if elapsed(tm.screen()) != frozen:
            errs.append("the screen changed while paused (%s, then %s)" % (
                frozen, elapsed(tm.screen())))
        tm.keys("Space")
        scr, _ = tm.wait(lambda s: "[paused]" not in s and elapsed(s) != frozen, 5,
                         "running again")
        tm.keys("q")
        rc = tm.exit_status(5)
        if rc != 0:
            errs.append("q: exit status %s" % rc)
        nothing_attached("after q", errs)
        if w.p.poll() is not None:
            errs.append("the target died (rc %s)" % w.p.returncode)
        # Ctrl-C quits the same way.
        tm2 = Tmux(ctx, ["-p", w.pid])
        try:
            tm2.wait(hot("spin_a"), 10, "spin_a (second run)")
            tm2.keys("C-c")
            rc = tm2.exit_status(5)
            if rc != 0:
                errs.append("Ctrl-C: exit status %s" % rc)
            nothing_attached("after Ctrl-C", errs)
        finally:
            tm2.kill()
    finally:
        tm.kill()
        with open(hout + ".stop", "w"):
            pass


def top_target_exits(ctx, it, errs, msgs):
    """top leaves on its own when its target exits."""
    tout, hout = it.out("top-short.out")
    w = ctx.spawn(it.argv("spin.py", tout, "spin_b", 3))
    wait_for_file(hout + ".ready", 30, w)
    tm = Tmux(ctx, ["-p", w.pid])
    try:
        tm.wait(hot("spin_b"), 10, "spin_b")
        w.wait(30)
        t_exit = time.monotonic()
        rc = tm.exit_status(10)
        msgs.append("%s: left %.1f s after its target" % (it.label, time.monotonic() - t_exit))
        if rc != 0:
            errs.append("target exited: top's exit status %s" % rc)
        nothing_attached("after the target exited", errs)
    finally:
        tm.kill()


@once("top", order=210, quick=True)
def t_top(ctx, interps):
    """top in tmux: the hot function, keys, q, Ctrl-C, the target's exit;
    no terminal: one line."""
    if not shutil.which("tmux"):
        raise Skip("tmux not installed")
    msgs, errs = [], []
    for it in pick_interps(ctx, interps, ["3.12-pyenv", "3.13-trixie"], 2):
        top_session(ctx, it, errs, msgs)
        top_target_exits(ctx, it, errs, msgs)
    b = BadInputs(ctx)
    b.expect("top without a terminal", ["top", "-p", str(os.getpid())], meaning=True)
    b.expect("top -- CMD", ["top", "--", "/bin/true"], meaning=True)
    b.expect("top -F 0", ["top", "-F", "0", "-p", str(os.getpid())], meaning=True)
    msgs.append(b.result())
    if errs:
        raise Fail("; ".join(errs) + " [" + "; ".join(msgs) + "]")
    return "; ".join(msgs)


@once("top-scope", order=211)
def t_top_scope(ctx, interps):
    """top --cgroup: both processes, then one at a time with p, all with P."""
    from containers import TestCgroup  # noqa: E402 (an area's helper)
    if not shutil.which("tmux"):
        raise Skip("tmux not installed")
    mount = cgroup_mount("cgroup2")
    if not mount:
        raise Skip("no cgroup v2 mount")
    it = pick_interps(ctx, interps, ["3.12-pyenv", "3.11-pyenv"], 1)[0]
    cg = TestCgroup(mount, "pystrobe-top-%d" % os.getpid())
    tm = None
    procs = {}
    try:
        for func in ("spin_a", "spin_b"):
            tout, hout = it.out("scope-%s.out" % func)
            procs[func] = (ctx.spawn(cg.wrap(it.argv("spin.py", tout, func, 60))), hout)
        for func, (p, hout) in procs.items():
            wait_for_file(hout + ".ready", 30, p)
        tm = Tmux(ctx, ["--cgroup", cg.path])
        both = lambda s: hot("spin_a", 20)(s) and hot("spin_b", 20)(s)  # noqa: E731
        scr, waited = tm.wait(both, 10, "spin_a and spin_b")
        check("2 processes" in scr, "header: %r" % scr.splitlines()[0])
        seen = {}
        for _ in range(2):
            tm.keys("p")
            scr, _ = tm.wait(lambda s: re.search(r"process (\d+) .*, 1 of 2", s) and
                             not seen.get(re.search(r"process (\d+)", s).group(1)), 5,
                             "one process picked")
            pid = re.search(r"process (\d+)", scr).group(1)
            scr, _ = tm.wait(lambda s: rows(s) and re.search(r"process %s" % pid, s) and
                             ("spin_a" in [r[0] for r in rows(s)]) !=
                             ("spin_b" in [r[0] for r in rows(s)]), 5,
                             "only process %s's function" % pid)
            shown = [r[0] for r in rows(scr) if r[0] in ("spin_a", "spin_b")]
            seen[pid] = shown[0]
        tm.keys("P")
        tm.wait(both, 5, "both again")
        tm.keys("q")
        rc = tm.exit_status(5)
        check(rc == 0, "q: exit status %s" % rc)
        errs = []
        nothing_attached("after q", errs)
        want = dict((str(p.pid), f) for f, (p, _) in procs.items())
        check(seen == want, "p showed %s, the processes run %s" % (seen, want))
        check(not errs, "; ".join(errs))
        return "both on screen after %.1f s; p picked %s" % (waited, seen)
    finally:
        if tm:
            tm.kill()
        for p, hout in procs.values():
            with open(hout + ".stop", "w"):
                pass
            p.wait(30)
        cg.remove()
