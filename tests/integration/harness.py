# SPDX-License-Identifier: BSD-2-Clause
"""The integration tests' harness: processes with timeouts, interpreters,
folded and pprof readers, the BPF leak check, helpers shared by several
areas, and the test registry and runner (main, called by run.py).

Tests live in one module per area beside this file. Every
tests/integration/*.py other than harness.py and run.py is an area, named
after its file and imported by load_areas(); a new area is one new file. A
module registers each test with a decorator:

    @per_interp("shares", order=10, quick=True)
    def t_shares(ctx, it): ...          # once for each interpreter

    @once("badinput", order=10, quick=True)
    def t_badinput(ctx, interps): ...   # once, over all interpreters

A test returns its message (the measured numbers) or raises Fail or Skip.
A run does, for each interpreter in turn, its per-interpreter tests, then
the once tests, each kind in ascending `order` whatever area a test is in:
tests see what earlier ones left behind (badinput corrupts a pprof profile
an earlier test wrote, when there is one), so the numbers keep the order
the suite has always run in. `quick` puts a test in the --quick set.
"""

import argparse
import ast
import glob
import gzip
import importlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKLOADS = os.path.join(REPO, "tests", "workloads")
OUR_PROG_PREFIXES = ("ps_", "pc_", "pm_")  # record/report, calls, memory
TARGET_BASE = "/tmp/pystrobe-tests"  # as the target sees it, in every root

FALLBACK_PYTHONS = [
    ("3.9-pyenv", "/", "/root/.pyenv/versions/3.9.18/bin/python3.9"),
    ("3.10-pyenv", "/", "/root/.pyenv/versions/3.10.13/bin/python3.10"),
    ("3.11-debian", "/", "/usr/bin/python3.11"),
    ("3.11-pyenv", "/", "/root/.pyenv/versions/3.11.7/bin/python3.11"),
    ("3.12-pyenv", "/", "/root/.pyenv/versions/3.12.1/bin/python3.12"),
    ("3.13-pyenv", "/", "/root/.pyenv/versions/3.13.0/bin/python3.13"),
]

VERBOSE = False
FREQ = 999


def log(msg):
    if VERBOSE:
        sys.stderr.write("    | " + msg + "\n")
        sys.stderr.flush()


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


# --------------------------------------------------------------------------
# processes


class Proc:
    """A child in its own session, killed (whole group) on cleanup."""

    def __init__(self, argv, **kw):
        log("start: " + " ".join(argv))
        self.argv = argv
        self.p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.pid = self.p.pid

    def kill(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def wait(self, timeout):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Fail("timed out after %.0f s: %s" % (timeout, " ".join(self.argv)))


def run(argv, timeout, env=None, input_bytes=None):
    """Runs argv to completion; returns (rc, stdout, stderr, seconds)."""
    log("run: " + " ".join(argv))
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE if input_bytes is not None
                         else subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True, env=env)
    OUR_PIDS.add(p.pid)
    try:
        out, err = p.communicate(input=input_bytes, timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = p.communicate()
        raise Fail("timed out after %.0f s: %s\nstderr: %s" % (
            timeout, " ".join(argv), tail(err)))
    dt = time.monotonic() - t0
    log("rc=%d in %.1f s; stderr: %s" % (p.returncode, dt, tail(err)))
    return p.returncode, out, err, dt


def tail(b, n=600):
    s = b.decode("utf-8", "replace") if isinstance(b, bytes) else (b or "")
    s = s.strip()
    return s if len(s) <= n else "..." + s[-n:]


def wait_for_file(path, timeout, proc=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path):
            return
        if proc is not None and proc.p.poll() is not None:
            raise Fail("workload exited (rc=%s) before %s appeared" % (
                proc.p.returncode, path))
        time.sleep(0.02)
    raise Fail("%s did not appear within %.0f s" % (path, timeout))


def wait_attached(proc, what, settle, timeout=60):
    """Until pystrobe (proc, spawned) holds a perf event, which it opens once
    its BPF programs are loaded (uprobes for calls, timers for record), then
    settle seconds more. Loading takes 1-2 s on this machine (the verifier),
    more when it is busy: a fixed wait before the workload's counted work
    missed its start."""
    end = time.monotonic() + timeout
    fds = "/proc/%d/fd" % proc.p.pid
    while time.monotonic() < end:
        check(proc.p.poll() is None, "%s exited (rc=%s) before attaching" % (
            what, proc.p.returncode))
        try:
            links = [os.readlink(os.path.join(fds, f)) for f in os.listdir(fds)]
        except OSError:
            links = []
        if "anon_inode:[perf_event]" in links:
            time.sleep(settle)
            return
        time.sleep(0.02)
    raise Fail("%s attached nothing within %d s" % (what, timeout))


def provider_copy(ctx, it):
    """The built provider (the sanitizer build's for pystrobe-san) copied
    where it's target sees it; returns that path, its PYTHONPATH."""
    san = os.path.basename(ctx.pystrobe).endswith("-san")
    src = os.path.join(os.path.dirname(ctx.pystrobe), ".output-san" if san else ".output",
                       "provider")
    dst = os.path.join(it.hdir, "provider")
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    return os.path.join(it.tdir, "provider")


def read_result(path):
    try:
        with open(path) as f:
            return ast.literal_eval(f.read())
    except (OSError, ValueError, SyntaxError) as e:
        raise Fail("workload result %s unreadable: %s" % (path, e))


# --------------------------------------------------------------------------
# interpreters


class Interp:
    def __init__(self, label, root, python):
        self.label, self.root, self.python = label, root, python
        self.tdir = None  # directory as the target sees it
        self.hdir = None  # same directory as this process sees it

    def host(self, path):
        if self.root == "/":
            return path
        return os.path.join(self.root, path.lstrip("/"))

    def exists(self):
        # Resolve symlinks inside the root (their targets are absolute there).
        path = self.python
        for _ in range(20):
            full = self.host(path)
            if not os.path.islink(full):
                return os.path.isfile(full) and os.access(full, os.X_OK)
            target = os.readlink(full)
            path = target if target.startswith("/") else os.path.join(os.path.dirname(path), target)
        return False

    def setup(self, run_id):
        self.tdir = "%s/%s/%s" % (TARGET_BASE, run_id, self.label)
        self.hdir = self.host(self.tdir)
        os.makedirs(self.hdir, exist_ok=True)
        for name in os.listdir(WORKLOADS):
            if name.endswith(".py"):
                shutil.copy(os.path.join(WORKLOADS, name), self.hdir)

    def argv(self, script, *args):
        """Command that runs workload `script` (args are target paths)."""
        pre = [] if self.root == "/" else ["chroot", self.root]
        return pre + [self.python, "%s/%s" % (self.tdir, script)] + [str(a) for a in args]

    def out(self, name):
        """(target path, host path) of a fresh result file."""
        t = "%s/%s" % (self.tdir, name)
        h = self.host(t)
        for suffix in ("", ".tmp", ".ready", ".stop"):
            try:
                os.unlink(h + suffix)
            except FileNotFoundError:
                pass
        return t, h

    def script(self, name):
        return "%s/%s" % (self.tdir, name)


def workload_env():
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
           "PYTHONDONTWRITEBYTECODE": "1", "LC_ALL": "C", "HOME": "/root"}
    return env


def list_pythons():
    script = os.path.join(REPO, "scripts", "pythons.sh")
    found = []
    if os.path.exists(script):
        try:
            r = subprocess.run(["bash", script], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=120, cwd=REPO)
            if r.returncode != 0:
                print("WARNING: scripts/pythons.sh exited %d: %s" % (
                    r.returncode, tail(r.stderr)))
            for line in r.stdout.decode().splitlines():
                parts = line.split()
                if len(parts) >= 3 and not line.startswith("#"):
                    found.append(Interp(parts[0], parts[1], parts[2]))
        except subprocess.TimeoutExpired:
            print("WARNING: scripts/pythons.sh timed out")
    if found:
        return found, "scripts/pythons.sh"
    fb = [Interp(*t) for t in FALLBACK_PYTHONS]
    return [i for i in fb if i.exists()], "fallback list (no scripts/pythons.sh output)"


# --------------------------------------------------------------------------
# folded profiles

PYFRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^()]*):(?P<line>-?\d+)\)$")
THREADFRAME = re.compile(r"^\[thread (?P<name>.*) tid=(?P<tid>\d+)\]$")


class Frame:
    __slots__ = ("raw", "name", "file", "line", "py")

    def __init__(self, raw):
        self.raw = raw
        m = PYFRAME.match(raw)
        if m:
            self.py = True
            self.name, self.file, self.line = m.group("name"), m.group("file"), int(m.group("line"))
        else:
            self.py = False
            self.name, self.file, self.line = raw, None, None


def parse_folded(text):
    """-> list of (frames root-first, count)."""
    stacks = []
    for ln in text.splitlines():
        ln = ln.rstrip("\n")
        if not ln.strip():
            continue
        stack, sep, count = ln.rpartition(" ")
        if not sep or not count.isdigit():
            raise Fail("malformed folded line: %r" % ln[:200])
        stacks.append(([Frame(f) for f in stack.split(";")], int(count)))
    return stacks


def pyframes(frames):
    return [f for f in frames if f.py]


def names(frames):
    return [f.name for f in frames]


def total(stacks, pred=lambda fr: True):
    return sum(c for fr, c in stacks if pred(fr))


def has(fr, name):
    return any(f.py and f.name == name for f in fr)


def fmt_pct(x):
    return "%.1f%%" % (100.0 * x)


# --------------------------------------------------------------------------
# BPF leak check


def bpftool_json(what):
    try:
        r = subprocess.run(["bpftool", "-j", what, "show"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, str(e)
    if r.returncode != 0:
        return None, tail(r.stderr)
    import json  # host python3 has the full stdlib
    try:
        return json.loads(r.stdout.decode() or "[]"), None
    except ValueError as e:
        return None, str(e)


def bpf_fd_owners():
    """{prog_id: set(pids)} from /proc/*/fdinfo of bpf-prog and bpf_link fds.

    (Debian's bpftool 7.1 is built without the `pids` feature, so `bpftool
    prog show` cannot tell who holds a program.)
    """
    owners = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        fddir = "/proc/%s/fd" % d
        try:
            fds = os.listdir(fddir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink("%s/%s" % (fddir, fd))
            except OSError:
                continue
            if not target.startswith("anon_inode:bpf") or "map" in target:
                continue
            try:
                with open("/proc/%s/fdinfo/%s" % (d, fd)) as f:
                    for ln in f:
                        if ln.startswith("prog_id:"):
                            owners.setdefault(int(ln.split()[1]), set()).add(int(d))
            except (OSError, ValueError, IndexError):
                continue
    return owners


def our_bpf_objects(baseline_ids=()):
    """ps_* programs (and their links) left behind by this test.

    A ps_ program held (through a prog or link fd) by a live process that is
    not ours, e.g. a concurrent pystrobe run by someone else, is not a leak
    of this test; one held by nothing (pinned, or a link kept by the kernel)
    or by a process of ours is.
    """
    progs, err = bpftool_json("prog")
    if progs is None:
        return ["bpftool prog show failed: %s" % err]
    cand = dict((p["id"], p.get("name", "")) for p in progs
                if p.get("name", "").startswith(OUR_PROG_PREFIXES) and p.get("id") not in baseline_ids)
    if not cand:
        return []
    fd_owners = bpf_fd_owners()
    leaks, ours = [], {}
    for pid_, name in sorted(cand.items()):
        owners = set(o.get("pid") for p in progs if p.get("id") == pid_
                     for o in p.get("pids", [])) | fd_owners.get(pid_, set())
        if any(foreign_owner(o) for o in owners):
            continue
        ours[pid_] = name
        leaks.append("prog id=%s name=%s held by %s" % (
            pid_, name, sorted(owners) if owners else "nothing (pinned or kept by a link)"))
    links, err = bpftool_json("link")
    if links is None:
        return leaks + ["bpftool link show failed: %s" % err]
    for l in links:
        if l.get("prog_id") in ours:
            leaks.append("link id=%s type=%s prog=%s" % (
                l.get("id"), l.get("type"), ours[l["prog_id"]]))
    return leaks


OUR_PIDS = set()


def foreign_owner(pid):
    """A live process that neither is ours nor runs in a session of ours."""
    if pid in OUR_PIDS or not pid_alive(pid):
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            sid = int(f.read().rpartition(")")[2].split()[3])
    except (OSError, ValueError, IndexError):
        return False
    return sid not in OUR_PIDS


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        return st.rpartition(")")[2].split()[0] != "Z"
    except (OSError, ValueError, IndexError):
        return False


def unaccounted_ns():
    """The machine's steal, irq and softirq time so far, all CPUs together
    (/proc/stat), in ns: time no task's CPU clock is charged with and the
    scheduler sees no wait in (a hypervisor running something else, or
    interrupts), though a thread's wall clock runs on."""
    with open("/proc/stat") as f:
        fields = f.readline().split()  # cpu user nice system idle iowait irq softirq steal
    return sum(int(x) for x in fields[6:9]) * 1e9 / os.sysconf("SC_CLK_TCK")


def check_no_leaks(baseline_ids):
    # Freeing is asynchronous (RCU): give the kernel a moment.
    end = time.monotonic() + 3
    while True:
        leaks = our_bpf_objects(baseline_ids)
        if not leaks or time.monotonic() > end:
            return leaks
        time.sleep(0.2)


# --------------------------------------------------------------------------
# minimal profile.proto reader (for the pprof test)


def _varint(b, i):
    shift = val = 0
    while True:
        if i >= len(b):
            raise ValueError("truncated varint")
        c = b[i]
        i += 1
        val |= (c & 0x7F) << shift
        if not c & 0x80:
            return val, i
        shift += 7


def pb_fields(b):
    """-> list of (field, wiretype, value): ints for varints, bytes otherwise."""
    i, out = 0, []
    while i < len(b):
        key, i = _varint(b, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v = b[i:i + n]
            if len(v) != n:
                raise ValueError("truncated field")
            i += n
        elif wt == 1:
            v, i = int.from_bytes(b[i:i + 8], "little"), i + 8
        elif wt == 5:
            v, i = int.from_bytes(b[i:i + 4], "little"), i + 4
        else:
            raise ValueError("bad wire type %d" % wt)
        out.append((field, wt, v))
    return out


def pb_ints(fields, num):
    """Repeated int field, packed or not."""
    vals = []
    for f, wt, v in fields:
        if f != num:
            continue
        if wt == 0:
            vals.append(v)
        else:
            i = 0
            while i < len(v):
                x, i = _varint(v, i)
                vals.append(x)
    return vals


def pb_int(fields, num, default=0):
    v = pb_ints(fields, num)
    return v[-1] if v else default


def read_pprof(path):
    with open(path, "rb") as f:
        raw = f.read()
    data = gzip.decompress(raw)
    top = pb_fields(data)
    strings = [v.decode("utf-8", "replace") for f, wt, v in top if f == 6]
    funcs = {}
    for f, wt, v in top:
        if f == 5:
            ff = pb_fields(v)
            funcs[pb_int(ff, 1)] = (strings[pb_int(ff, 2)], strings[pb_int(ff, 4)])
    locs = {}
    for f, wt, v in top:
        if f == 4:
            lf = pb_fields(v)
            lines = []
            for g, _, lv in lf:
                if g == 4:
                    ll = pb_fields(lv)
                    lines.append((pb_int(ll, 1), pb_int(ll, 2)))
            locs[pb_int(lf, 1)] = lines
    samples = []
    for f, wt, v in top:
        if f == 2:
            sf = pb_fields(v)
            labels = {}
            for g, _, lv in sf:
                if g == 3:
                    lb = pb_fields(lv)
                    key = strings[pb_int(lb, 1)]
                    s = pb_int(lb, 2)
                    labels[key] = strings[s] if s else pb_int(lb, 3)
            samples.append({"locs": pb_ints(sf, 1), "values": pb_ints(sf, 2),
                            "labels": labels})
    sample_types = []
    for f, wt, v in top:
        if f == 1:
            vt = pb_fields(v)
            sample_types.append((strings[pb_int(vt, 1)], strings[pb_int(vt, 2)]))
    return {"strings": strings, "funcs": funcs, "locs": locs,
            "samples": samples, "sample_types": sample_types,
            "duration_nanos": pb_int(top, 10), "period": pb_int(top, 12)}


# --------------------------------------------------------------------------
# test context


class Ctx:
    def __init__(self, args, run_id, tmp):
        self.pystrobe = os.path.abspath(args.pystrobe)
        self.quick = args.quick
        self.run_id = run_id
        self.tmp = tmp
        self.procs = []

    def spawn(self, argv, **kw):
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        kw.setdefault("env", workload_env())
        p = Proc(argv, **kw)
        OUR_PIDS.add(p.pid)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in self.procs:
            p.kill()
        self.procs = []

    def record(self, args, timeout, env=None):
        """pystrobe record ARGS -> (rc, stdout, stderr, seconds)."""
        return self.ps(["record"] + args, timeout, env=env)

    def ps(self, args, timeout, env=None):
        return run([self.pystrobe] + args, timeout, env=env or workload_env())

    def record_cmd(self, interp, script, wargs, seconds, extra=(), fmt="folded"):
        """Records `-- workload` into a file; returns (profile text, rc, stdout, stderr)."""
        prof = os.path.join(self.tmp, "%s-%s.%s" % (interp.label, script, fmt))
        if os.path.exists(prof):
            os.unlink(prof)
        rc, out, err, dt = self.record(
            ["-F", str(FREQ), "-f", fmt, "-o", prof] + list(extra) + ["--"]
            + interp.argv(script, *wargs), timeout=seconds + 60)
        if rc != 0:
            raise Fail("pystrobe exited %d: %s" % (rc, tail(err)))
        check(os.path.exists(prof), "no profile written to -o %s" % prof)
        if fmt == "pprof":
            return prof, rc, out, err
        with open(prof) as f:
            return f.read(), rc, out, err

    def expect_file(self, interp, frames, script):
        """All Python frames of our workload carry the in-target filename."""
        want = interp.script(script)
        base = "/" + script
        for f in frames:
            if f.py and f.file.endswith(base) and f.file != want:
                raise Fail("frame %r has filename %r, expected %r (as the target sees it)"
                           % (f.name, f.file, want))


def dur(ctx, normal, quick):
    return quick if ctx.quick else normal


# --------------------------------------------------------------------------
# pprof samples (off-CPU, cgroup and calls profiles)

OFFCPU_FRAME = re.compile(r"^\[off-cpu: (?P<reason>[a-z]+)\]$")
OFFCPU_REASONS = ("sleep", "lock", "gil", "io", "disk", "runqueue", "other")
TYPES_CPU = [("samples", "count"), ("cpu", "nanoseconds")]
TYPES_OFFCPU = [("offcpu", "nanoseconds")]
TYPES_WALL = TYPES_CPU + [("offcpu", "nanoseconds"), ("wall", "nanoseconds")]


class PSample:
    """One pprof sample: frames [(function, file)] leaf first, v {type: value},
    labels, reason (of its [off-cpu: REASON] frame, or None), leaf_reason
    (whether that frame is the leaf)."""
    __slots__ = ("frames", "names", "v", "labels", "reason", "leaf_reason")

    def has(self, name):
        return name in self.names


def pprof_samples(pp):
    types = [t for t, _ in pp["sample_types"]]
    out = []
    for s in pp["samples"]:
        ps = PSample()
        ps.frames = [pp["funcs"].get(fid, ("?", "")) for lid in s["locs"]
                     for fid, _ in pp["locs"].get(lid, [])]
        ps.names = [n for n, _ in ps.frames]
        ps.v = dict(zip(types, s["values"]))
        ps.labels = s["labels"]
        ps.reason, ps.leaf_reason = None, False
        for i, n in enumerate(ps.names):
            m = OFFCPU_FRAME.match(n)
            if m:
                ps.reason, ps.leaf_reason = m.group("reason"), i == 0
                break
        out.append(ps)
    return out


def load_pprof(prof, want_types=None):
    """-> (read_pprof dict, [PSample]); checks the sample types if given."""
    check(os.path.exists(prof), "no profile written to %s" % prof)
    try:
        pp = read_pprof(prof)
    except (ValueError, OSError, EOFError, IndexError, KeyError) as e:
        raise Fail("pprof file %s does not decode as profile.proto: %s" % (prof, e))
    if want_types is not None:
        check(pp["sample_types"] == want_types, "sample types %s, expected %s" % (
            pp["sample_types"], want_types))
    n = len(pp["sample_types"])
    for s in pp["samples"]:
        check(len(s["values"]) == n, "sample with %d values for %d sample types"
              % (len(s["values"]), n))
    return pp, pprof_samples(pp)


def check_labels(samples, extra=()):
    """Every sample carries pid, tid (numbers), thread_name and comm (strings)."""
    for s in samples:
        lb = s.labels
        missing = [k for k in ("pid", "tid", "thread_name", "comm") + tuple(extra) if k not in lb]
        check(not missing, "sample lacks labels %s (has %s)" % (missing, sorted(lb)))
        check(isinstance(lb["pid"], int) and isinstance(lb["tid"], int),
              "pid/tid labels are not numbers: %r" % lb)
        # (read_pprof turns an empty string label into 0; tolerated on samples
        # without Python frames, e.g. before the interpreter is up)
        if any(not n.startswith("[") for n in s.names):
            check(isinstance(lb["comm"], str) and isinstance(lb["thread_name"], str),
                  "comm/thread_name labels empty or not strings: %r on %s" % (
                      lb, s.names[:4]))


def vsum(samples, typ, pred=lambda s: True):
    return sum(s.v.get(typ, 0) for s in samples if pred(s))


# --------------------------------------------------------------------------
# helpers shared by several areas


def start_spin(ctx, it, name, func, max_seconds):
    tout, hout = it.out(name)
    p = ctx.spawn(it.argv("spin.py", tout, func, max_seconds))
    wait_for_file(hout + ".ready", 30, p)
    return p, tout, hout


def stop_spin(p, hout):
    with open(hout + ".stop", "w"):
        pass
    rc = p.wait(30)
    check(rc == 0, "workload exited %d" % rc)
    return read_result(hout)


def spin_share(stacks, func):
    tot = total(stacks)
    n = total(stacks, lambda fr: has(fr, func))
    return n, tot


def find_child(ppid, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
            except OSError:
                continue
            fields = st.rpartition(")")[2].split()
            if int(fields[1]) == ppid:
                return int(d)
        time.sleep(0.05)
    raise Fail("no child of unshare (pid %d) found" % ppid)


def pick_interps(ctx, interps, prefs, n):
    by = dict((i.label, i) for i in interps if i.exists())
    out = [by[l] for l in prefs if l in by][:n]
    for i in interps:
        if len(out) >= n:
            break
        if i.label in by and i not in out:
            out.append(i)
    if not out:
        raise Skip("no interpreter available")
    for i in out:
        if not i.tdir:
            i.setup(ctx.run_id)
    return out


def cgroup_mount(fstype, option=None):
    with open("/proc/mounts") as f:
        for ln in f:
            parts = ln.split()
            if len(parts) >= 4 and parts[2] == fstype and (
                    option is None or option in parts[3].split(",")):
                return parts[1]
    return None


class BadInputs:
    """Runs pystrobe with bad input: each case must exit non-zero with
    exactly one 'pystrobe: error:' line (and, per test, leave nothing
    attached)."""

    def __init__(self, ctx):
        self.ctx, self.errs, self.ok = ctx, [], []

    def expect(self, label, args, timeout=30, runner=None, meaning=False):
        """meaning: the error must not be argp's 'unknown option'."""
        try:
            rc, out, err, _ = (runner or self.ctx.ps)(args, timeout)
        except Fail as e:
            self.errs.append("%s: %s" % (label, e))
            return
        lines = err.decode("utf-8", "replace").rstrip("\n").split("\n")
        if rc == 0:
            self.errs.append("%s: exit status 0 (stderr %r)" % (label, tail(err, 200)))
        elif rc < 0:
            self.errs.append("%s: killed by signal %d" % (label, -rc))
        elif len(lines) != 1 or not lines[0].startswith("pystrobe: error:"):
            self.errs.append("%s: stderr is not one 'pystrobe: error:' line: %r"
                             % (label, tail(err, 300)))
        elif meaning and re.search(r"unrecognized|unknown option|invalid option", lines[0]):
            self.errs.append("%s: refused as an unknown option, not for what it means: %r"
                             % (label, lines[0]))
        else:
            self.ok.append(label)
            log("%s -> rc %d: %s" % (label, rc, lines[0]))

    def result(self):
        if self.errs:
            raise Fail("%d of %d cases wrong:\n      - %s" % (
                len(self.errs), len(self.errs) + len(self.ok),
                "\n      - ".join(e.replace("\n", " / ") for e in self.errs)))
        return "%d cases ok" % len(self.ok)


# --------------------------------------------------------------------------
# test registry


class Test:
    """A registered test: fn(ctx, interp) if per_interp, else fn(ctx, interps)."""
    __slots__ = ("name", "fn", "area", "per_interp", "order", "quick")

    def __init__(self, name, fn, area, per_interp, order, quick):
        self.name, self.fn, self.area = name, fn, area
        self.per_interp, self.order, self.quick = per_interp, order, quick


TESTS = {}  # name -> Test, as the area modules register them


def _register(name, per_interp_, order, quick):
    def reg(fn):
        if name in TESTS:
            raise RuntimeError("test %s registered twice: in %s and in %s" % (
                name, TESTS[name].area, fn.__module__))
        TESTS[name] = Test(name, fn, fn.__module__, per_interp_, order, quick)
        return fn
    return reg


def per_interp(name, order, quick=False):
    """Registers fn(ctx, interp), run once for each interpreter."""
    return _register(name, True, order, quick)


def once(name, order, quick=False):
    """Registers fn(ctx, interps), run once over all interpreters."""
    return _register(name, False, order, quick)


def load_areas():
    """Imports the area modules beside this file; -> all tests in run order."""
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    for path in sorted(glob.glob(os.path.join(here, "*.py"))):
        name = os.path.basename(path)[:-len(".py")]
        if name not in ("harness", "run"):
            importlib.import_module(name)
    return sorted(TESTS.values(), key=lambda t: (not t.per_interp, t.order, t.name))


# --------------------------------------------------------------------------
# runner


def main(description):
    global VERBOSE
    all_tests = load_areas()
    all_names = [t.name for t in all_tests]
    areas = sorted(set(t.area for t in all_tests))
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--pystrobe", default="./pystrobe")
    ap.add_argument("--only", help="interpreter labels, comma-separated")
    ap.add_argument("--test", help="test names, comma-separated: " + ",".join(all_names))
    ap.add_argument("--area", help="only the tests of these areas (modules), comma-separated: "
                    + ",".join(areas))
    ap.add_argument("--quick", action="store_true",
                    help="fewer, shorter tests (sanitizer build); also set by PYSTROBE_QUICK=1 "
                         "or a binary named *-san")
    ap.add_argument("--keep", action="store_true", help="keep profiles and workload outputs")
    ap.add_argument("--list", action="store_true", help="list interpreters, areas and tests")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    VERBOSE = args.verbose
    if os.environ.get("PYSTROBE_QUICK") == "1" or os.path.basename(args.pystrobe).endswith("-san"):
        args.quick = True

    interps, source = list_pythons()
    if args.only:
        want = args.only.split(",")
        unknown = [w for w in want if w not in [i.label for i in interps]]
        if unknown:
            print("unknown interpreter label(s): %s (have: %s)" % (
                ",".join(unknown), " ".join(i.label for i in interps)))
            return 2
        interps = [i for i in interps if i.label in want]
    in_areas = all_tests
    if args.area:
        want = args.area.split(",")
        unknown = [a for a in want if a not in areas]
        if unknown:
            print("unknown area(s): %s (have: %s)" % (",".join(unknown), " ".join(areas)))
            return 2
        in_areas = [t for t in all_tests if t.area in want]
    tests = [t.name for t in in_areas] if not args.test else args.test.split(",")
    bad = [t for t in tests if t not in all_names]
    if bad:
        print("unknown test(s): %s (have: %s)" % (",".join(bad), " ".join(all_names)))
        return 2
    outside = [t for t in tests if t not in [u.name for u in in_areas]]
    if outside:
        print("test(s) %s not in area(s) %s" % (",".join(outside), args.area))
        return 2
    if args.quick and not args.test:
        tests = [t.name for t in in_areas if t.quick]
    print("interpreters (%s): %s" % (source, " ".join(i.label for i in interps)))
    print("tests: %s%s" % (" ".join(tests), " (quick)" if args.quick else ""))
    if args.list:
        for i in interps:
            print("  %-18s %-40s %s" % (i.label, i.root, i.python))
        print("areas (--area AREA: the tests of AREA.py; * in the quick set):")
        for area in areas:
            mine = [t for t in all_tests if t.area == area and t.name in tests]
            kinds = [(k, " ".join(t.name + ("*" if t.quick else "") for t in mine
                                  if t.per_interp == (k == "per interpreter")))
                     for k in ("per interpreter", "once")]
            if mine:
                print("  %-11s %s" % (area, "; ".join("%s: %s" % kv for kv in kinds if kv[1])))
        return 0
    if os.geteuid() != 0:
        print("must run as root (BPF, chroot, unshare)")
        return 2
    if not os.access(args.pystrobe, os.X_OK):
        print("FAIL: %s does not exist or is not executable (run `make`)" % args.pystrobe)
        return 1

    run_id = "%d-%d" % (int(time.time()), os.getpid())
    tmp = tempfile.mkdtemp(prefix="pystrobe-it-")
    ctx = Ctx(args, run_id, tmp)
    progs, err = bpftool_json("prog")
    baseline = set(p["id"] for p in (progs or []) if p.get("name", "").startswith(OUR_PROG_PREFIXES))
    if baseline:
        print("note: %d ps_* BPF programs exist before the run (ignored): %s" % (
            len(baseline), sorted(baseline)))
    results = []
    t_start = time.monotonic()

    def do(name, label, fn, *fargs):
        t0 = time.monotonic()
        status, msg = "PASS", ""
        try:
            msg = fn(ctx, *fargs) or ""
        except Skip as e:
            status, msg = "SKIP", str(e)
        except Fail as e:
            status, msg = "FAIL", str(e)
        except Exception as e:  # a bug in the test or a garbled profile
            import traceback
            status, msg = "FAIL", "%s: %s" % (type(e).__name__, e)
            if VERBOSE:
                traceback.print_exc()
        finally:
            ctx.cleanup()
        leaks = check_no_leaks(baseline)
        if leaks:
            status = "FAIL"
            msg += " | left attached: " + "; ".join(leaks)
            baseline.update(int(re.search(r"id=(\d+)", l).group(1)) for l in leaks
                            if l.startswith("prog"))
        dt = time.monotonic() - t0
        print("%s %-11s %-18s %5.1fs  %s" % (status, name, label, dt, msg))
        sys.stdout.flush()
        results.append((status, name, label))

    try:
        for it in interps:
            if not it.exists():
                for name in tests:
                    if name in [t.name for t in all_tests if t.per_interp]:
                        print("FAIL %-11s %-18s   0.0s  interpreter %s not found in %s" % (
                            name, it.label, it.python, it.root))
                        results.append(("FAIL", name, it.label))
                continue
            it.setup(run_id)
            for t in all_tests:
                if t.per_interp and t.name in tests:
                    do(t.name, it.label, t.fn, it)
        for t in all_tests:
            if not t.per_interp and t.name in tests:
                do(t.name, "-", t.fn, interps)
    except KeyboardInterrupt:
        ctx.cleanup()
        print("interrupted")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
            for it in interps:
                if it.hdir:
                    shutil.rmtree(os.path.dirname(it.hdir), ignore_errors=True)
        else:
            print("kept: %s and %s/%s in each root" % (tmp, TARGET_BASE, run_id))

    n = dict((s, sum(1 for r in results if r[0] == s)) for s in ("PASS", "FAIL", "SKIP"))
    print("summary: %d passed, %d failed, %d skipped in %.0f s" % (
        n["PASS"], n["FAIL"], n["SKIP"], time.monotonic() - t_start))
    for s, name, label in results:
        if s == "FAIL":
            print("  failed: %s %s" % (name, label))
    return 1 if n["FAIL"] or not results else 0

