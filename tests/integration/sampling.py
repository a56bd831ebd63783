# SPDX-License-Identifier: BSD-2-Clause
"""CPU sampling: shares, lines, deep stacks, threads, attaching, commands,
namespaces, pprof output, targets that exit, native and kernel frames."""

import os
import shutil
import subprocess
import tempfile
import time

from harness import (
    FREQ, OUR_PIDS, THREADFRAME, WORKLOADS, check, dur, Fail, find_child, fmt_pct, has, names,
    parse_folded, per_interp, pyframes, read_pprof, read_result, run, Skip, spin_share,
    start_spin, stop_spin, tail, total, wait_for_file)


@per_interp("shares", order=10, quick=True)
def t_shares(ctx, it):
    secs = dur(ctx, 5, 3)
    tout, hout = it.out("shares.out")
    text, _, _, _ = ctx.record_cmd(it, "shares.py", [tout, secs], secs)
    truth = read_result(hout)
    stacks = parse_folded(text)
    burns = ("burn_a", "burn_b", "burn_c")
    denom = total(stacks, lambda fr: any(has(fr, b) for b in burns))
    check(denom >= secs * FREQ * 0.3,
          "only %d burn samples in %.0f s at %d Hz (workload cpu %.2f s)" % (
              denom, secs, FREQ, sum(truth["cpu"].values())))
    msgs, errs = [], []
    for b in burns:
        n = total(stacks, lambda fr: has(fr, b))
        share, want = n / denom, truth["shares"][b]
        msgs.append("%s=%s/%s" % (b, fmt_pct(share), fmt_pct(want)))
        if abs(share - want) > 0.02:
            errs.append("%s share %s, workload measured %s (> 2 pp)" % (
                b, fmt_pct(share), fmt_pct(want)))
        # callers: <module> -> main -> run_round -> burn_x
        good = bad = 0
        example = None
        for fr, c in stacks:
            if not has(fr, b):
                continue
            ctx.expect_file(it, fr, "shares.py")
            py = pyframes(fr)
            idx = [f.name for f in py].index(b)
            chain = [f.name for f in py[:idx]]
            if chain == ["<module>", "main", "run_round"] and fr[0].py:
                good += c
            else:
                bad += c
                example = example or ";".join(f.raw for f in fr)
        if bad > 0.01 * (good + bad):
            errs.append("%s: %d of %d samples lack the caller chain "
                        "<module>;main;run_round, e.g. %s" % (b, bad, good + bad, example))
    rate = denom / sum(truth["cpu"].values())
    msgs.append("samples=%d (%.0f/cpu-s)" % (denom, rate))
    if errs:
        raise Fail("; ".join(errs) + " [" + " ".join(msgs) + "]")
    return " ".join(msgs)


def find_marker(path, marker):
    with open(path) as f:
        for i, ln in enumerate(f, 1):
            if ln.rstrip().endswith("# " + marker):
                return i
    raise Fail("marker %s not found in %s" % (marker, path))


@per_interp("lines", order=20)
def t_lines(ctx, it):
    secs = dur(ctx, 3, 2)
    tout, hout = it.out("lines.out")
    text, _, _, _ = ctx.record_cmd(it, "lines.py", [tout, secs], secs)
    read_result(hout)
    hot = find_marker(os.path.join(WORKLOADS, "lines.py"), "HOT-LINE")
    call = find_marker(os.path.join(WORKLOADS, "lines.py"), "CALL-LINE")
    leaf = on_hot = caller_ok = 0
    lines_seen = {}
    for fr, c in parse_folded(text):
        py = pyframes(fr)
        if not py or py[-1].name != "hot_lines":
            continue
        ctx.expect_file(it, fr, "lines.py")
        leaf += c
        lines_seen[py[-1].line] = lines_seen.get(py[-1].line, 0) + c
        if py[-1].line == hot:
            on_hot += c
        if len(py) >= 2 and py[-2].name == "main" and py[-2].line == call:
            caller_ok += c
    check(leaf >= 200, "only %d leaf samples in hot_lines" % leaf)
    top = sorted(lines_seen.items(), key=lambda kv: -kv[1])[:4]
    msg = "hot line %d: %s of %d leaf samples; caller line %d: %s; lines seen %s" % (
        hot, fmt_pct(on_hot / leaf), leaf, call, fmt_pct(caller_ok / leaf), top)
    check(on_hot > 0.5 * leaf, "hot line not the majority: " + msg)
    check(caller_ok >= 0.9 * leaf, "call-site line of main wrong: " + msg)
    return msg


@per_interp("deep", order=30, quick=True)
def t_deep(ctx, it):
    secs = dur(ctx, 2.5, 2)
    tout, hout = it.out("deep.out")
    text, _, _, _ = ctx.record_cmd(it, "deep.py", [tout, secs], 2 * secs)
    truth = read_result(hout)
    n150 = n150_exact = n300 = n300_trunc = 0
    bad150 = bad300 = None
    depths300 = {}
    for fr, c in parse_folded(text):
        py = pyframes(fr)
        if not py:
            continue
        leaf = py[-1].name
        trunc = any(f.raw == "[truncated]" for f in fr)
        nrec = sum(1 for f in py if f.name == "recurse")
        if leaf == "bottom_150":
            ctx.expect_file(it, fr, "deep.py")
            n150 += c
            if nrec == 150 and not trunc and names(py[:3]) == ["<module>", "main", "recurse"]:
                n150_exact += c
            else:
                bad150 = bad150 or "recurse x%d truncated=%s root=%s" % (nrec, trunc, fr[0].raw)
        elif leaf == "bottom_300":
            n300 += c
            depths300[nrec] = depths300.get(nrec, 0) + c
            if trunc and fr[0].raw == "[truncated]" and 100 <= nrec < 300 \
                    and not has(fr, "main"):
                n300_trunc += c
            else:
                bad300 = bad300 or "recurse x%d truncated=%s root=%s" % (nrec, trunc, fr[0].raw)
    cpu = truth["cpu"]
    want = cpu["bottom_300"] / (cpu["bottom_150"] + cpu["bottom_300"])
    got = n300 / (n150 + n300) if n150 + n300 else 0.0
    msg = ("150-deep: %d/%d exact; 300-deep: %d/%d truncated at root (recurse counts %s); "
           "300-deep share %s vs cpu %s" % (n150_exact, n150, n300_trunc, n300,
                                            sorted(depths300.items())[:3], fmt_pct(got), fmt_pct(want)))
    check(n150 >= 200, "too few samples in bottom_150: " + msg)
    check(n150_exact >= 0.99 * n150, "150-deep stacks not exact (e.g. %s): %s" % (bad150, msg))
    check(n300 >= 200, "300-deep samples missing or dropped: " + msg)
    check(n300_trunc >= 0.99 * n300, "300-deep stacks lack a root [truncated] marker (e.g. %s): %s"
          % (bad300, msg))
    check(abs(got - want) <= 0.05, "truncated stacks under-counted: " + msg)
    return msg


@per_interp("threads", order=40)
def t_threads(ctx, it):
    secs = dur(ctx, 4, 3)
    tout, hout = it.out("threads.out")
    text, _, _, _ = ctx.record_cmd(it, "threads.py", [tout, secs], secs * 3, extra=["--threads"])
    truth = read_result(hout)
    th = truth["threads"]
    tid2k = dict((v["tid"], k) for k, v in th.items())
    per_tid = dict((t, 0) for t in tid2k)
    own = dict((t, 0) for t in tid2k)
    burned = dict((t, 0) for t in tid2k)
    nothread = 0
    for fr, c in parse_folded(text):
        m = THREADFRAME.match(fr[0].raw)
        if not m:
            nothread += c
            continue
        tid = int(m.group("tid"))
        if tid not in per_tid:
            continue
        ctx.expect_file(it, fr, "threads.py")
        per_tid[tid] += c
        k = tid2k[tid]
        if any(has(fr, "burn_t%d" % j) for j in (1, 2, 3, 4)):
            burned[tid] += c
            py = pyframes(fr)
            if has(fr, "burn_t%d" % k) and "worker" in names(py):
                own[tid] += c
    check(nothread == 0, "%d samples without a [thread NAME tid=N] root frame" % nothread)
    tot = sum(per_tid.values())
    cpu_tot = sum(v["cpu"] for v in th.values())
    check(tot >= secs * FREQ * 0.3, "only %d samples of the 4 worker threads" % tot)
    msgs, errs = [], []
    for k in sorted(th):
        tid = th[k]["tid"]
        share, want = per_tid[tid] / tot, th[k]["cpu"] / cpu_tot
        msgs.append("t%d=%s/%s" % (k, fmt_pct(share), fmt_pct(want)))
        if abs(share - want) > 0.03:
            errs.append("thread %d (tid %d) share %s, measured %s" % (k, tid, fmt_pct(share), fmt_pct(want)))
        if burned[tid] == 0 or own[tid] < 0.99 * burned[tid]:
            errs.append("thread %d (tid %d): %d of %d burn samples in its own burn_t%d under worker"
                        % (k, tid, own[tid], burned[tid], k))
    msgs.append("samples=%d" % tot)
    if errs:
        raise Fail("; ".join(errs) + " [" + " ".join(msgs) + "]")
    return " ".join(msgs)


@per_interp("attach", order=50)
def t_attach(ctx, it):
    secs = dur(ctx, 3, 2)
    # one process
    p, tout, hout = start_spin(ctx, it, "attach1.out", "spin_a", 60)
    rc, out, err, dt = ctx.record(["-p", str(p.pid), "-d", str(secs), "-F", str(FREQ),
                                   "-f", "folded"], timeout=secs + 60)
    truth = stop_spin(p, hout)
    check(rc == 0, "pystrobe -p exited %d: %s" % (rc, tail(err)))
    stacks = parse_folded(out.decode())
    n, tot = spin_share(stacks, "spin_a")
    check(tot > 0, "empty profile")
    for fr, c in stacks:
        if has(fr, "spin_a"):
            ctx.expect_file(it, fr, "spin.py")
    msg = "1 pid: spin_a %s of %d in %.1f s" % (fmt_pct(n / tot), tot, dt)
    check(n > 0.5 * tot, "spin_a not the majority: " + msg)
    check(dt < secs + 10, "record -d %d took %.1f s" % (secs, dt))
    # two processes
    pa, _, ha = start_spin(ctx, it, "attach2a.out", "spin_a", 60)
    pb, _, hb = start_spin(ctx, it, "attach2b.out", "spin_b", 60)
    rc, out, err, dt = ctx.record(["-p", "%d,%d" % (pa.pid, pb.pid), "-d", str(secs),
                                   "-F", str(FREQ), "-f", "folded"], timeout=secs + 60)
    stop_spin(pa, ha)
    stop_spin(pb, hb)
    check(rc == 0, "pystrobe -p A,B exited %d: %s" % (rc, tail(err)))
    stacks = parse_folded(out.decode())
    na, tot = spin_share(stacks, "spin_a")
    nb, _ = spin_share(stacks, "spin_b")
    check(tot > 0, "empty profile for two pids")
    msg += "; 2 pids: spin_a %s spin_b %s of %d" % (fmt_pct(na / tot), fmt_pct(nb / tot), tot)
    check(na > 0.2 * tot and nb > 0.2 * tot and na + nb > 0.7 * tot,
          "both processes should be in the profile: " + msg)
    return msg


@per_interp("cmd", order=60, quick=True)
def t_cmd(ctx, it):
    burn = 0.3
    tout, hout = it.out("cmd.out")
    prof = os.path.join(ctx.tmp, "%s-cmd.folded" % it.label)
    rc, out, err, dt = ctx.record(["-F", str(FREQ), "-f", "folded", "-o", prof, "--"]
                                  + it.argv("cmd.py", tout, burn), timeout=60)
    check(rc == 7, "exit status %d, expected the command's 7; stderr: %s" % (rc, tail(err)))
    check(b"pystrobe-cmd-stdout-marker\n" in out, "command's stdout not passed through: %r" % tail(out))
    check(b"pystrobe-cmd-stderr-marker" in err, "command's stderr not passed through")
    check(b"pystrobe-cmd-stdout-marker" not in err, "command's stdout went to stderr")
    truth = read_result(hout)
    with open(prof) as f:
        stacks = parse_folded(f.read())
    tot = total(stacks)
    n = total(stacks, lambda fr: has(fr, "startup_burn"))
    want = truth["burn_cpu"] / truth["process_cpu"]
    expect_n = truth["burn_cpu"] * FREQ
    chain_ok = total(stacks, lambda fr: has(fr, "startup_burn")
                     and names(pyframes(fr)) == ["<module>", "startup_burn"])
    msg = "startup_burn %d samples (%.0f expected), share %s vs cpu %s" % (
        n, expect_n, fmt_pct(n / tot if tot else 0), fmt_pct(want))
    check(tot > 0, "empty profile")
    check(n >= 0.6 * expect_n, "start-up missing from the profile: " + msg)
    check(n <= 1.4 * expect_n, "too many samples: " + msg)
    check(abs(n / tot - want) <= 0.15, "implausible share: " + msg)
    check(chain_ok >= 0.95 * n, "startup_burn not directly under <module>: " + msg)
    return msg


@per_interp("native-kernel", order=130)
def t_native_kernel(ctx, it):
    """--native and --kernel: frames of the right kinds, in the right order."""
    tout, hout = it.out("native.out")
    prof = os.path.join(ctx.tmp, "%s-native.folded" % it.label)
    rc, out, err, dt = ctx.record(["-F", str(FREQ), "--native", "--kernel", "-f",
                                   "folded", "-o", prof, "--"]
                                  + it.argv("native.py", tout, 1.0), timeout=60)
    check(rc == 0, "exit status %d; stderr: %s" % (rc, tail(err)))
    with open(prof) as f:
        stacks = parse_folded(f.read())

    def leaf_side(fr):
        """Frames after the leaf-most Python frame (root-first list)."""
        idx = [i for i, x in enumerate(fr) if x.py]
        return fr[idx[-1] + 1:] if idx else fr

    def ordered(fr):
        """Python frames, then native, then kernel frames at the leaf."""
        kinds = ["k" if x.raw.endswith("_[k]") else "p" if x.py else "n"
                 for x in leaf_side(fr)]
        return "p" not in kinds and "".join(kinds) == "".join(sorted(kinds, key="nk".index))

    sysn = total(stacks, lambda fr: has(fr, "sys_heavy"))
    sys_k = total(stacks, lambda fr: has(fr, "sys_heavy") and
                  any(x.raw.endswith("_[k]") for x in leaf_side(fr)) and
                  [x for x in fr if x.py][-1].name == "sys_heavy")
    cn = total(stacks, lambda fr: has(fr, "c_heavy"))
    c_nat = total(stacks, lambda fr: has(fr, "c_heavy") and
                  any(not x.py and not x.raw.endswith("_[k]") and
                      not x.raw.startswith("[") for x in leaf_side(fr)))
    chain = total(stacks, lambda fr: (has(fr, "sys_heavy") or has(fr, "c_heavy"))
                  and names(pyframes(fr))[:2] == ["<module>", "main"])
    order = total(stacks, lambda fr: (has(fr, "sys_heavy") or has(fr, "c_heavy"))
                  and ordered(fr))
    msg = ("sys_heavy %d samples, %s with kernel frames at the leaf; c_heavy %d, "
           "%s with native leaf frames; chain ok %s" %
           (sysn, fmt_pct(sys_k / sysn if sysn else 0), cn,
            fmt_pct(c_nat / cn if cn else 0),
            fmt_pct(chain / (sysn + cn) if sysn + cn else 0)))
    truth = read_result(hout)
    want_k = truth["sys_system"] / max(1e-9, truth["sys_user"] + truth["sys_system"])
    msg += " (workload: %s of sys_heavy's CPU in the kernel)" % fmt_pct(want_k)
    check(sysn > 0.5 * FREQ and cn > 0.5 * FREQ, "too few samples: " + msg)
    # os.times() ticks at 100 Hz: a few points of slack on top of sampling's
    check(abs(sys_k / sysn - want_k) <= 0.12, "kernel frames under sys_heavy do not match "
          "its system time: " + msg)
    check(c_nat >= 0.5 * cn, "native frames missing under c_heavy: " + msg)
    check(chain >= 0.95 * (sysn + cn), "Python callers out of order: " + msg)
    check(order >= 0.95 * (sysn + cn), "frame kinds out of order: " + msg)
    return msg


@per_interp("namespace", order=70)
def t_namespace(ctx, it):
    secs = dur(ctx, 3, 2)
    tout, hout = it.out("ns.out")
    procdir = it.host("/proc")
    argv = ["unshare", "--pid", "--fork", "--mount", "--mount-proc=" + procdir]
    if it.root != "/":
        argv += ["chroot", it.root]
    argv += [it.python, it.script("spin.py"), tout, "spin_b", "60"]
    u = ctx.spawn(argv, stderr=subprocess.PIPE)
    wait_for_file(hout + ".ready", 30, u)
    pid = find_child(u.pid)
    OUR_PIDS.add(pid)
    with open("/proc/%d/status" % pid) as f:
        nspid = [ln.split()[1:] for ln in f if ln.startswith("NSpid:")][0]
    check(len(nspid) == 2 and nspid[-1] == "1", "python is not pid 1 of its own namespace: NSpid %s" % nspid)
    rc, out, err, dt = ctx.record(["-p", str(pid), "-d", str(secs), "-F", str(FREQ),
                                   "-f", "folded"], timeout=secs + 60)
    truth = stop_spin(u, hout)
    check(rc == 0, "pystrobe -p %d exited %d: %s" % (pid, rc, tail(err)))
    check(truth["pid"] == 1, "workload saw pid %s, expected 1" % truth["pid"])
    stacks = parse_folded(out.decode())
    n, tot = spin_share(stacks, "spin_b")
    files = set(f.file for fr, c in stacks if has(fr, "spin_b") for f in fr if f.py)
    msg = "host pid %d (ns pid 1): spin_b %s of %d; files %s" % (
        pid, fmt_pct(n / tot if tot else 0), tot, sorted(files))
    check(tot > 0 and n > 0.5 * tot, "spin_b not the majority: " + msg)
    check(files == {it.script("spin.py")}, "frames not symbolized with the in-root filename %s: %s"
          % (it.script("spin.py"), msg))
    return msg


def go_pprof_top(ctx, prof):
    home = tempfile.mkdtemp(prefix="gohome-", dir=ctx.tmp)
    env = dict(os.environ, HOME=home, GOCACHE=os.path.join(home, "cache"),
               GOPATH=os.path.join(home, "go"), PPROF_TMPDIR=home)
    return run(["go", "tool", "pprof", "-top", prof], timeout=180, env=env)


@per_interp("pprof", order=80, quick=True)
def t_pprof(ctx, it):
    if not shutil.which("go"):
        raise Skip("go (golang-go) not installed")
    secs = dur(ctx, 4, 3)
    tout, hout = it.out("pprof.out")
    prof, _, _, _ = ctx.record_cmd(it, "shares.py", [tout, secs], secs, fmt="pprof")
    truth = read_result(hout)
    with open(prof, "rb") as f:
        head = f.read(2)
    check(head == b"\x1f\x8b", "pprof file is not gzipped")
    try:
        pp = read_pprof(prof)
    except (ValueError, OSError, EOFError, IndexError) as e:
        raise Fail("pprof file does not decode as profile.proto: %s" % e)
    check(pp["strings"] and pp["strings"][0] == "", "string_table[0] is not empty")
    check(pp["samples"], "no samples in pprof")
    ntypes = len(pp["sample_types"])
    for s in pp["samples"]:
        check(len(s["values"]) == ntypes, "sample with %d values for %d sample types"
              % (len(s["values"]), ntypes))
        missing = [k for k in ("pid", "tid", "thread_name", "comm") if k not in s["labels"]]
        check(not missing, "sample lacks labels %s (has %s)" % (missing, sorted(s["labels"])))
    pids = set(str(s["labels"]["pid"]) for s in pp["samples"])
    check(pids == {str(truth["pid"])}, "pid labels %s, workload pid %s" % (pids, truth["pid"]))
    fnames = set(n for n, _ in pp["funcs"].values())
    check({"burn_a", "burn_b", "burn_c", "run_round"} <= fnames, "functions missing from pprof: %s"
          % sorted(fnames)[:20])
    rc, out, err, _ = go_pprof_top(ctx, prof)
    check(rc == 0, "go tool pprof -top exited %d: %s" % (rc, tail(err)))
    check(b"burn_c" in out, "go tool pprof -top does not list burn_c:\n%s" % tail(out, 1500))
    # back to folded
    rc, out, err, _ = ctx.ps(["report", prof, "-f", "folded"], timeout=60)
    check(rc == 0, "report -f folded exited %d: %s" % (rc, tail(err)))
    stacks = parse_folded(out.decode())
    burns = ("burn_a", "burn_b", "burn_c")
    denom = total(stacks, lambda fr: any(has(fr, b) for b in burns))
    check(denom > 0, "report -f folded has no burn samples")
    msgs, errs = [], []
    for b in burns:
        share, want = total(stacks, lambda fr: has(fr, b)) / denom, truth["shares"][b]
        msgs.append("%s=%s/%s" % (b, fmt_pct(share), fmt_pct(want)))
        if abs(share - want) > 0.02:
            errs.append("%s share %s vs measured %s" % (b, fmt_pct(share), fmt_pct(want)))
    # report -o FILE writes the same thing
    outf = os.path.join(ctx.tmp, "%s-report.folded" % it.label)
    rc2, out2, err2, _ = ctx.ps(["report", prof, "-f", "folded", "-o", outf], timeout=60)
    if rc2 != 0 or not os.path.exists(outf):
        errs.append("report -o exited %d: %s" % (rc2, tail(err2)))
    else:
        with open(outf, "rb") as f:
            if sorted(f.read().splitlines()) != sorted(out.splitlines()):
                errs.append("report -o FILE differs from report to stdout")
    rc3, out3, err3, _ = ctx.ps(["report", prof], timeout=60)
    if rc3 != 0 or b"burn_c" not in out3:
        errs.append("report (table) exited %d or lacks burn_c: %s" % (rc3, tail(err3)))
    msgs.append("pprof: %d sample records, types %s" % (len(pp["samples"]), pp["sample_types"]))
    if errs:
        raise Fail("; ".join(errs) + " [" + " ".join(msgs) + "]")
    return " ".join(msgs)


@per_interp("exit-midrun", order=90, quick=True)
def t_exit_midrun(ctx, it):
    life = 2.5
    p, tout, hout = start_spin(ctx, it, "exit.out", "spin_a", life)
    prof = os.path.join(ctx.tmp, "%s-exit.folded" % it.label)
    if os.path.exists(prof):
        os.unlink(prof)
    rec = ctx.spawn([ctx.pystrobe, "record", "-p", str(p.pid), "-d", "30", "-F", str(FREQ),
                     "-f", "folded", "-o", prof], stderr=subprocess.PIPE)
    rc = p.wait(life + 30)  # reaps the workload at once: no zombie left
    t_exit = time.monotonic()
    check(rc == 0, "workload exited %d" % rc)
    try:
        prc = rec.p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        rec.kill()
        raise Fail("pystrobe -d 30 still running 15 s after its only target exited")
    lag = time.monotonic() - t_exit
    err = rec.p.stderr.read()
    truth = read_result(hout)
    check(prc == 0, "pystrobe exited %d: %s" % (prc, tail(err)))
    check(lag < 5, "pystrobe stopped %.1f s after the target exited (limit 5 s)" % lag)
    check(os.path.exists(prof), "no profile written")
    with open(prof) as f:
        stacks = parse_folded(f.read())
    n, tot = spin_share(stacks, "spin_a")
    msg = "stopped %.2f s after target exit; spin_a %d samples of %d (target cpu %.2f s)" % (
        lag, n, tot, truth["cpu"])
    check(n >= 0.3 * truth["cpu"] * FREQ and n > 0.5 * tot, "samples missing: " + msg)
    return msg
