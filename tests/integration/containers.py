# SPDX-License-Identifier: BSD-2-Clause
"""Targets chosen by cgroup (--cgroup, v2 and v1) and --all, in their own
PID namespaces and roots."""

import os
import subprocess
import time

from harness import (
    FREQ, OUR_PIDS, TYPES_CPU, TYPES_WALL, cgroup_mount, check, check_labels, Fail, find_child,
    load_pprof, log, once, pick_interps, read_result, Skip, stop_spin, tail, vsum,
    wait_attached, wait_for_file)


class TestCgroup:
    def __init__(self, mount, name):
        self.mount = mount
        self.path = os.path.join(mount, name)
        os.mkdir(self.path)
        log("cgroup %s" % self.path)

    def pids(self):
        try:
            with open(os.path.join(self.path, "cgroup.procs")) as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []

    def wrap(self, argv):
        """argv, run inside this cgroup (with everything it starts)."""
        return ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', self.path] + list(argv)

    def remove(self):
        for _ in range(50):
            for pid in self.pids():
                try:
                    with open(os.path.join(self.mount, "cgroup.procs"), "w") as f:
                        f.write(str(pid))
                except OSError:
                    pass
            try:
                os.rmdir(self.path)
                return None
            except FileNotFoundError:
                return None
            except OSError as e:
                err = e
            time.sleep(0.1)
        return "could not remove %s: %s" % (self.path, err)


def ns_argv(it, script, *args):
    """`unshare` into new PID + mount namespaces, then the workload."""
    argv = ["unshare", "--pid", "--fork", "--mount", "--mount-proc=" + it.host("/proc")]
    if it.root != "/":
        argv += ["chroot", it.root]
    return argv + [it.python, it.script(script)] + [str(a) for a in args]


def samples_of_pid(samples, pid):
    return [s for s in samples if s.labels.get("pid") == pid]


def check_target(it, samples, pid, func, errs, what, want_comm=True, cgname=None):
    """pid's samples are mostly in func, with in-target file names and labels."""
    mine = samples_of_pid(samples, pid)
    n_all = vsum(mine, "samples")
    n = vsum(mine, "samples", lambda s: s.has(func))
    files = set(f for s in mine if s.has(func) for nm, f in s.frames if nm == func)
    comms = set(s.labels.get("comm") for s in mine)
    cgs = set(s.labels.get("cgroup") for s in mine)
    msg = "%s pid %d: %s %d of %d, files %s, comm %s, cgroup %s" % (
        what, pid, func, n, n_all, sorted(files), sorted(comms), sorted(cgs, key=str))
    if n_all == 0 or n < 0.5 * n_all:
        errs.append("%s: no or few samples: %s" % (what, msg))
    elif files != {it.script("spin.py")}:
        errs.append("%s: %s not symbolized with the in-target file %s: %s" % (
            what, func, it.script("spin.py"), msg))
    if want_comm and n_all and comms != {os.path.basename(it.python)[:15]}:
        errs.append("%s: comm labels %s, expected %s" % (what, sorted(comms),
                                                         os.path.basename(it.python)[:15]))
    if cgname and n_all and not all(isinstance(c, str) and cgname in c for c in cgs):
        errs.append("%s: cgroup labels %s do not name %s" % (what, sorted(cgs, key=str), cgname))
    return n, msg


@once("container", order=40)
def t_container(ctx, interps):
    mount = cgroup_mount("cgroup2")
    if not mount:
        raise Skip("no cgroup v2 mount")
    roots = [i for i in interps if i.root != "/" and i.exists()]
    early = pick_interps(ctx, roots, ["3.13-trixie"], 1)[0] if roots else None
    late_c = [i for i in roots if i.root != early.root] if early else []
    if not early or not late_c:
        raise Skip("needs interpreters in two different roots")
    late = pick_interps(ctx, late_c, ["3.14-sid", "3.9-bullseye"], 1)[0]
    name = "pystrobe-test-%s" % ctx.run_id
    cg = TestCgroup(mount, name)
    try:
        return container_run(ctx, cg, name, early, late, interps)
    finally:
        ctx.cleanup()
        err = cg.remove()
        if err:
            raise Fail(err)


def container_run(ctx, cg, name, early, late, interps):
    secs, late_life = 5, 3
    te, he = early.out("cg-early.out")
    tl, hl = late.out("cg-late.out")
    ue = ctx.spawn(cg.wrap(ns_argv(early, "spin.py", te, "spin_a", 60)))
    wait_for_file(he + ".ready", 30, ue)
    pe = find_child(ue.pid)
    OUR_PIDS.add(pe)
    sl = ctx.spawn(cg.wrap(["sleep", "30"]))
    # a Python process outside the cgroup must stay out of the profile
    outside = [i for i in interps if i.root == "/" and i.exists()]
    po = None
    if outside:
        to, ho = outside[0].out("cg-outside.out")
        po = ctx.spawn(outside[0].argv("spin.py", to, "spin_a", 60))
        wait_for_file(ho + ".ready", 30, po)
    prof = os.path.join(ctx.tmp, "container.pprof")
    time.sleep(0.1)
    rec = ctx.spawn([ctx.pystrobe, "record", "--cgroup", cg.path, "-d", str(secs), "-F", str(FREQ),
                     "-f", "pprof", "-o", prof], stderr=subprocess.PIPE)
    # the late process starts once record's timers are open (-d counts from
    # there), so that all its life is in the profile
    wait_attached(rec, "record --cgroup", 0.2)
    ul = ctx.spawn(cg.wrap(ns_argv(late, "spin.py", tl, "spin_b", late_life)))
    wait_for_file(hl + ".ready", 30, ul)
    pl = find_child(ul.pid)
    OUR_PIDS.add(pl)
    in_cg = cg.pids()
    try:
        prc = rec.p.wait(timeout=secs + 30)
    except subprocess.TimeoutExpired:
        raise Fail("pystrobe record --cgroup -d %d still running after %d s" % (secs, secs + 30))
    err = rec.p.stderr.read().decode("utf-8", "replace")
    truth_e = stop_spin(ue, he)
    rc = ul.wait(30)
    check(rc == 0, "late workload exited %d" % rc)
    truth_l = read_result(hl)
    check(prc == 0, "pystrobe record --cgroup exited %d: %s" % (prc, tail(err)))
    check(pe in in_cg and pl in in_cg and sl.pid in in_cg,
          "processes not in the test cgroup: %s vs %s" % (in_cg, [pe, pl, sl.pid]))
    check(truth_e["pid"] == 1 and truth_l["pid"] == 1, "workloads are not pid 1 of their namespaces")
    errs = []
    bad_err = [ln for ln in err.splitlines() if "error" in ln.lower() or "warn" in ln.lower()
               or str(sl.pid) in ln]
    if bad_err:
        errs.append("stderr: %s" % " / ".join(bad_err)[:400])
    pp, samples = load_pprof(prof)
    check(pp["sample_types"] == TYPES_CPU, "sample types %s" % pp["sample_types"])
    check_labels(samples, extra=("cgroup",))
    ne, me = check_target(early, samples, pe, "spin_a", errs, "early %s" % early.label, cgname=name)
    nl, ml = check_target(late, samples, pl, "spin_b", errs, "late %s" % late.label, cgname=name)
    expect = truth_l["cpu"] * FREQ
    ml += " (%.0f expected from its %.2f s cpu)" % (expect, truth_l["cpu"])
    if nl < 0.6 * expect:
        errs.append("late process picked up late: %d samples, < 60 %% of %.0f" % (nl, expect))
    if samples_of_pid(samples, sl.pid):
        errs.append("samples labelled with the sleep process's pid %d" % sl.pid)
    if po is not None and samples_of_pid(samples, po.pid):
        errs.append("%d samples of pid %d, a Python process outside the cgroup" % (
            len(samples_of_pid(samples, po.pid)), po.pid))
    others = sorted(set(s.labels.get("pid") for s in samples) - {pe, pl})
    if others:
        errs.append("samples of pids other than the two in the cgroup: %s" % others[:10])
    missing = [s for s in samples if "cgroup" not in s.labels]
    if missing:
        errs.append("%d samples without a cgroup label" % len(missing))
    if errs:
        raise Fail("; ".join(errs) + " [" + "; ".join([me, ml]) + "]")
    return "; ".join([me, ml])


@once("container-v1", order=50)
def t_container_v1(ctx, interps):
    mount = cgroup_mount("cgroup", "pids")
    if not mount:
        raise Skip("no cgroup v1 pids hierarchy")
    it = pick_interps(ctx, interps, ["3.12-pyenv", "3.11-debian"], 1)[0]
    name = "pystrobe-test-%s" % ctx.run_id
    cg = TestCgroup(mount, name)
    try:
        secs = 2
        tout, hout = it.out("cgv1.out")
        p = ctx.spawn(cg.wrap(it.argv("spin.py", tout, "spin_a", 60)))
        wait_for_file(hout + ".ready", 30, p)
        prof = os.path.join(ctx.tmp, "cgv1.pprof")
        rc, out, err, dt = ctx.record(["--cgroup", cg.path, "--wall", "-d", str(secs), "-F", str(FREQ),
                                       "-f", "pprof", "-o", prof], timeout=secs + 60)
        truth = stop_spin(p, hout)
        check(rc == 0, "pystrobe record --cgroup (v1) --wall exited %d: %s" % (rc, tail(err)))
        pp, samples = load_pprof(prof, TYPES_WALL)
        errs = []
        # the cgroup label may name the process's v2 cgroup: only require one
        n, msg = check_target(it, samples, p.pid, "spin_a", errs, it.label)
        if [s for s in samples if not s.labels.get("cgroup")]:
            errs.append("samples without a cgroup label")
        wall = vsum(samples_of_pid(samples, p.pid), "wall")
        msg += ", wall %.0fms" % (wall / 1e6)
        if abs(wall - secs * 1e9) > 0.1 * secs * 1e9:
            errs.append("wall %.0f ms for a %d s run of a single-threaded spinner" % (wall / 1e6, secs))
        if errs:
            raise Fail("; ".join(errs) + " [" + msg + "]")
        return "%s: %s" % (cg.path, msg)
    finally:
        ctx.cleanup()
        err = cg.remove()
        if err:
            raise Fail(err)


@once("all", order=60)
def t_all(ctx, interps):
    a = pick_interps(ctx, interps, ["3.12-pyenv"], 1)[0]
    others = [i for i in interps if i.exists() and i.label.split("-")[0] != a.label.split("-")[0]]
    b = pick_interps(ctx, others, ["3.9-bullseye", "3.15-sid"], 1)[0]
    secs = 3
    ta, ha = a.out("all-a.out")
    tb, hb = b.out("all-b.out")
    pa = ctx.spawn(a.argv("spin.py", ta, "spin_a", 60))
    pb = ctx.spawn(b.argv("spin.py", tb, "spin_b", 60))
    wait_for_file(ha + ".ready", 30, pa)
    wait_for_file(hb + ".ready", 30, pb)
    prof = os.path.join(ctx.tmp, "all.pprof")
    rc, out, err, dt = ctx.record(["--all", "-d", str(secs), "-F", str(FREQ), "-f", "pprof",
                                   "-o", prof], timeout=secs + 60)
    stop_spin(pa, ha)
    stop_spin(pb, hb)
    check(rc == 0, "pystrobe record --all exited %d: %s" % (rc, tail(err)))
    pp, samples = load_pprof(prof, TYPES_CPU)
    errs = []
    na, ma = check_target(a, samples, pa.pid, "spin_a", errs, a.label)
    nb, mb = check_target(b, samples, pb.pid, "spin_b", errs, b.label)
    pids = set(s.labels.get("pid") for s in samples)
    if [s for s in samples if "cgroup" not in s.labels]:
        errs.append("samples without a cgroup label")
    msg = "%s; %s; %d pids in the profile; %.1f s" % (ma, mb, len(pids), dt)
    if errs:
        raise Fail("; ".join(errs) + " [" + msg + "]")
    return msg
