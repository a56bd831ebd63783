#!/usr/bin/env python3
"""`make bench`: pystrobe's sampling overhead and BPF cost per sample.

Every ratio compares runs made in this same invocation (profiled against
unprofiled, interleaved), as the median of several runs. The machine is
shared and noisy: read the spread, not just the median.
"""
import argparse
import ctypes
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOAD = os.path.join(HERE, "bench_workload.py")
PYSTROBE = "./pystrobe"


def run_work(cmd):
    """Seconds the workload reports (its first number: wall-clock)."""
    return run_work2(cmd)[0]


def run_work2(cmd, on_start=None):
    """(wall, cpu) seconds bench_workload.py reports; on_start(pid) runs
    right after the workload is started (before it starts its work)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    opened = on_start(p.pid) if on_start else None
    out, _ = p.communicate(timeout=600)
    if opened is not None:
        for fd in opened:
            os.close(fd)
    if p.returncode:
        raise RuntimeError("%s exited %d" % (cmd, p.returncode))
    nums = [float(x) for x in out.split()]
    return nums[0], nums[-1]


# --- the timers alone: cpu-clock perf events on the workload's thread with
# an empty BPF program (or none), opened through ctypes like pystrobe does.
LIBC = ctypes.CDLL(None, use_errno=True)
NR_BPF, NR_PERF_EVENT_OPEN = 321, 298  # x86_64
PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_SET_BPF = 0x2400, 0x40042408


def empty_bpf_program():
    """A perf_event program that returns 0: r0 = 0; exit."""
    insns = (ctypes.c_uint64 * 2)(0xb7, 0x95)
    lic = ctypes.create_string_buffer(b"GPL")
    attr = (ctypes.c_uint8 * 128)()
    struct.pack_into("IIQQ", attr, 0, 7, 2, ctypes.addressof(insns),
                     ctypes.addressof(lic))  # BPF_PROG_TYPE_PERF_EVENT
    fd = LIBC.syscall(NR_BPF, 5, ctypes.byref(attr), 128)  # BPF_PROG_LOAD
    if fd < 0:
        raise OSError(ctypes.get_errno(), "BPF_PROG_LOAD")
    return fd


def thread_timer(pid, freq, prog_fd):
    """A cpu-clock event on thread pid firing every 1/freq s of its CPU
    time, running prog_fd (None: no program) at each firing."""
    attr = (ctypes.c_uint8 * 128)()
    struct.pack_into("IIQQ", attr, 0, 1, 128, 0, int(1e9 / freq))
    struct.pack_into("Q", attr, 40, 1)  # disabled until set up
    fd = LIBC.syscall(NR_PERF_EVENT_OPEN, ctypes.byref(attr), pid, -1, -1, 8)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "perf_event_open")
    if prog_fd is not None:
        LIBC.ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog_fd)
    LIBC.ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)
    return fd


def timer_cost(pystrobe, py, runs, freqs, depth, rounds):
    """CPU seconds of the workload: alone; with a timer and no program;
    with a timer and an empty program; under pystrobe record. The work
    is the same, so the difference per firing is the price of one timer
    interrupt (and of pystrobe's program and re-arms on top)."""
    prog = empty_bpf_program()
    args = [py, WORKLOAD, str(depth), str(rounds)]
    variants = [("unprofiled", None, None)]
    for f in freqs:
        variants += [
            ("timer %d Hz, no program" % f, f, "none"),
            ("timer %d Hz, empty program" % f, f, "empty"),
            ("pystrobe -F %d" % f, f, "pystrobe"),
        ]
    res = dict((v[0], []) for v in variants)
    for _ in range(runs):
        for name, f, kind in variants:
            if kind is None:
                res[name].append(run_work2(args))
            elif kind == "pystrobe":
                res[name].append(run_work2(profiled(pystrobe, f, py, args[2:])))
            else:
                pfd = prog if kind == "empty" else None
                res[name].append(run_work2(
                    args, lambda pid, f=f, pfd=pfd: [thread_timer(pid, f, pfd)]))
    os.close(prog)
    base = statistics.median(c for _, c in res["unprofiled"])
    rows = []
    for name, f, kind in variants:
        cpu = statistics.median(c for _, c in res[name])
        per = (cpu - base) / (f * base) * 1e6 if f else 0.0
        rows.append((name, cpu, cpu / base, per, [c for _, c in res[name]]))
    return rows


def startup_cost(pystrobe, py, runs):
    """Wall seconds of `python -c pass`, alone and under record."""
    def timed(cmd):
        t0 = time.monotonic()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)
        return time.monotonic() - t0
    bare, rec = [], []
    for _ in range(runs):
        bare.append(timed([py, "-c", "pass"]))
        rec.append(timed([pystrobe, "record", "-f", "folded", "-o",
                          os.devnull, "--", py, "-c", "pass"]))
    return bare, rec


def program_runs(pystrobe, py, scope, seconds=3):
    """With one busy target thread and pystrobe at 999 Hz: ps_sample runs
    per second (timers on the target thread, -p, or on every CPU, --all)
    and pystrobe's own CPU seconds per second of recording."""
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        old = f.read().strip()
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1")
    try:
        work = subprocess.Popen([py, WORKLOAD, "10", "100000"],
                                stdout=subprocess.DEVNULL)
        time.sleep(0.3)
        target = ["-p", str(work.pid)] if scope == "thread" else ["--all"]
        duration = seconds + 1.5
        rec = subprocess.Popen([pystrobe, "record", "-F", "999", "-d",
                                str(duration), "-f", "folded", "-o",
                                os.devnull] + target,
                               stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        _, cnt0 = bpf_stats("ps_sample")
        t0 = time.monotonic()
        time.sleep(seconds)
        _, cnt1 = bpf_stats("ps_sample")
        dt = time.monotonic() - t0
        _, _, ru = os.wait4(rec.pid, 0)
        rec.returncode = 0
        work.kill()
        work.wait()
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(old)
    return (cnt1 - cnt0) / dt, (ru.ru_utime + ru.ru_stime) / duration


def bpf_stats(prog_name):
    progs = json.loads(subprocess.run(["bpftool", "-j", "prog", "show"],
                                      capture_output=True, text=True).stdout)
    for p in progs:
        if p.get("name") == prog_name:
            return p.get("run_time_ns", 0), p.get("run_cnt", 0)
    return 0, 0


def profiled(pystrobe, freq, py, args):
    return [pystrobe, "record", "-F", str(freq), "-f", "folded", "-o",
            os.devnull, "--", py, WORKLOAD] + args


def overhead(pystrobe, py, runs, freqs, depth, rounds):
    base, prof = [], {f: [] for f in freqs}
    for _ in range(runs):
        base.append(run_work([py, WORKLOAD, str(depth), str(rounds)]))
        for f in freqs:
            prof[f].append(run_work(profiled(pystrobe, f, py,
                                             [str(depth), str(rounds)])))
    med = statistics.median(base)
    rows = [("unprofiled", med, 1.0, base)]
    for f in freqs:
        m = statistics.median(prof[f])
        rows.append(("pystrobe %d Hz" % f, m, m / med, prof[f]))
    return rows


def per_sample_cost(pystrobe, py, depth, freq=999, seconds=6):
    """BPF run time per program run and per sample of the target.

    The program runs on every CPU at every tick and returns at once for
    other processes, so run_time_ns/run_cnt (as the kernel reports it) mixes
    both; the time of all runs divided by the target's samples is an upper
    bound for one stack walk.
    """
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        old = f.read().strip()
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1")
    try:
        work = subprocess.Popen([py, WORKLOAD, str(depth), "100000"],
                                stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        out = tempfile.NamedTemporaryFile(suffix=".folded")
        rec = subprocess.Popen([pystrobe, "record", "-F", str(freq), "-p",
                                str(work.pid), "-d", str(seconds), "-f",
                                "folded", "-o", out.name],
                               stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        ns0, cnt0 = bpf_stats("ps_sample")
        t0 = time.monotonic()
        time.sleep(seconds - 2.0)
        ns1, cnt1 = bpf_stats("ps_sample")
        window = time.monotonic() - t0
        rec.wait(timeout=60)
        work.kill()
        work.wait()
        samples = sum(int(line.rsplit(" ", 1)[1]) for line in open(out.name))
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(old)
    runs = cnt1 - cnt0
    per_run = (ns1 - ns0) / runs / 1000.0 if runs else float("nan")
    # Target samples inside the measured window, pro rata.
    target = samples * window / seconds
    per_target = (ns1 - ns0) / target / 1000.0 if target else float("nan")
    return per_run, per_target, runs, int(target)


PINGPONG = os.path.join(HERE, "bench_pingpong.py")


def offcpu_overhead(pystrobe, py, runs, messages):
    """Switch-heavy workload with and without --offcpu, and BPF cost per
    context switch (ps_switch runs on every switch of every CPU)."""
    base, prof = [], []
    cmd = [py, PINGPONG, str(messages)]
    for _ in range(runs):
        base.append(run_work(cmd))
        prof.append(run_work([pystrobe, "record", "--offcpu", "-f", "folded",
                              "-o", os.devnull, "--"] + cmd))
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        old = f.read().strip()
    with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
        f.write("1")
    try:
        rec = subprocess.Popen([pystrobe, "record", "--offcpu", "-f",
                                "folded", "-o", os.devnull, "--"] +
                               [py, PINGPONG, str(messages * 4)],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        ns0, cnt0 = bpf_stats("ps_switch")
        time.sleep(1.0)
        ns1, cnt1 = bpf_stats("ps_switch")
        rec.wait(timeout=300)
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(old)
    per_switch = (ns1 - ns0) / (cnt1 - cnt0) / 1000.0 if cnt1 > cnt0 \
        else float("nan")
    return (statistics.median(base), statistics.median(prof), base, prof,
            per_switch, cnt1 - cnt0)


def austin_overhead(root, py, runs, freq, depth, rounds):
    """Austin on the same workload at the same rate (bullseye's 3.9)."""
    austin = shutil.which("austin")
    if not austin or not os.path.isdir(root):
        return None
    dst = os.path.join(root, "tmp", "bench_workload.py")
    shutil.copy(WORKLOAD, dst)
    args = [str(depth), str(rounds)]
    plain = ["chroot", root, py, "/tmp/bench_workload.py"] + args
    interval = str(int(1e6 / freq))
    ours_cmd = [PYSTROBE, "record", "-F", str(freq), "-f", "folded", "-o",
                os.devnull, "--"] + plain
    base, aus, ours = [], [], []
    for _ in range(runs):
        base.append(run_work(plain))
        aus.append(run_work([austin, "-i", interval, "-o", os.devnull] +
                            plain))
        ours.append(run_work(ours_cmd))
    return (statistics.median(base), statistics.median(aus),
            statistics.median(ours))


CALLS_WORKLOAD = os.path.join(HERE, "bench_calls_workload.py")
CALLS_LABELS = ("3.9-bullseye", "3.11-pyenv", "3.12-pyenv", "3.14-sid")
BENCH_DIR = "/tmp/pystrobe-bench"  # as the target sees it, in every root


def calls_setups(pystrobe, labels):
    """(label, argv_of(args), provider dir as the target sees it) for the
    interpreters scripts/pythons.sh lists under these labels. Interpreters
    in a root run chrooted, with the workload and the provider copied in."""
    out = subprocess.run(["bash", os.path.join(HERE, "pythons.sh")],
                         capture_output=True, text=True).stdout
    found = dict((l.split()[0], l.split()[1:]) for l in out.splitlines()
                 if len(l.split()) == 3)
    provider = os.path.join(os.path.dirname(pystrobe), ".output", "provider")
    setups = []
    for label in labels:
        if label not in found:
            continue
        root, py = found[label]
        host_dir = os.path.join(root, BENCH_DIR.lstrip("/"))
        shutil.rmtree(host_dir, ignore_errors=True)
        os.makedirs(host_dir)
        shutil.copy(CALLS_WORKLOAD, host_dir)
        shutil.copytree(provider, os.path.join(host_dir, "provider"))
        pre = [] if root == "/" else ["chroot", root]
        wl = os.path.join(BENCH_DIR, os.path.basename(CALLS_WORKLOAD))
        setups.append((label, (lambda pre, py, wl: lambda args: pre + [py, wl] + args)(pre, py, wl),
                       os.path.join(BENCH_DIR, "provider")))
    return setups


def calls_overhead(pystrobe, argv_of, runs, n, provider_dir, shape):
    """Cost per activation (entry + return), as seconds added per
    activation over the unprofiled median, for: the provider loaded but
    untraced, cProfile, and pystrobe calls. Untraced variants run 10x more
    activations, so that their few-percent differences rise above the
    noise. Returns the rows and the per-activation cost pystrobe calls
    reported it subtracted (calibration), if any."""
    penv = dict(os.environ, PYTHONPATH=provider_dir)
    calls_json = tempfile.NamedTemporaryFile(suffix=".json")
    variants = [
        ("none", 10 * n, lambda k: argv_of([str(k), "plain", shape]), None),
        ("provider loaded, untraced", 10 * n,
         lambda k: argv_of([str(k), "plain", shape]), penv),
        ("cProfile", 10 * n, lambda k: argv_of([str(k), "cprofile", shape]), None),
        ("none", n, lambda k: argv_of([str(k), "plain", shape]), None),
        ("cProfile", n, lambda k: argv_of([str(k), "cprofile", shape]), None),
        ("pystrobe calls", n, lambda k: [pystrobe, "calls", "-f", "json", "-o",
                                         calls_json.name, "--"]
         + argv_of([str(k), "plain", shape]), None),
    ]
    res = [[] for _ in variants]
    for _ in range(runs):
        for i, (name, k, cmd, env) in enumerate(variants):
            out = subprocess.run(cmd(k), capture_output=True, text=True,
                                 env=env, timeout=600).stdout.split()
            nums = [float(x) for x in out if x.count(".") == 1
                    and x.replace(".", "").isdigit()]
            res[i].append(nums[0] if nums else float("nan"))
    rows = []
    base = {}
    for (name, k, _, _), xs in zip(variants, res):
        m = statistics.median(xs)
        if name == "none":
            base[k] = m
        rows.append((name, k, m, m / base[k], (m - base[k]) / k * 1e6, xs))
    calib = None
    try:
        with open(calls_json.name) as f:
            calib = json.load(f).get("calibration")
    except (OSError, ValueError):
        pass
    return rows, calib


MEMORY_WORKLOAD = os.path.join(HERE, "bench_memory_workload.py")


def floats(text):
    return [float(x) for x in text.split() if x.count(".") == 1
            and x.replace(".", "").isdigit()]


def memory_overhead(pystrobe, root, runs, n_mix, n_pairs, provider_dir):
    """Allocation-heavy pure Python on the peers root's python3.14 (Debian
    sid, with python3-memray and python3-scalene): unprofiled, the provider
    loaded but untraced, pystrobe memory, tracemalloc, Memray and Scalene,
    interleaved; then the fast path (one allocation and one free per round)
    and the cost of a sampled allocation."""
    py = "/usr/bin/python3.14"
    if not os.path.exists(root + py):
        return None
    shutil.copy(MEMORY_WORKLOAD, os.path.join(root, "tmp", "bench_memory_workload.py"))
    stage = "/tmp/pystrobe-bench-provider"
    shutil.rmtree(root + stage, ignore_errors=True)
    shutil.copytree(provider_dir, root + stage)
    work = "/tmp/bench_memory_workload.py"
    # Into the root with its own /proc (Memray reads /proc/self), keeping
    # the PID (pystrobe follows the command's execs into the root).
    inroot = ["unshare", "--mount", "sh", "-c",
              'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"', root]
    plain = inroot + [py, work]
    untraced = inroot + ["env", "PYTHONPATH=" + stage, py, work]
    ours = [pystrobe, "memory", "-f", "json", "-o", os.devnull]
    has = lambda exe: os.path.exists(root + "/usr/bin/" + exe)
    variants = [
        ("unprofiled", plain, []),
        ("provider loaded, untraced", untraced, []),
        ("pystrobe memory (512 KiB)", ours + ["--"] + plain, []),
        ("pystrobe memory --rate 64K", ours[:2] + ["--rate", "64K"] + ours[2:] + ["--"] + plain, []),
        ("tracemalloc", plain, ["tracemalloc"]),
    ]
    if has("memray"):
        variants += [
            ("memray run", inroot + ["memray", "run", "-q", "-f", "-o", "/tmp/bench.memray",
                                     work], []),
            ("memray run --trace-python-allocators",
             inroot + ["memray", "run", "-q", "-f", "--trace-python-allocators", "-o",
                       "/tmp/bench.memray", work], []),
        ]
    if has("scalene"):
        variants.append(("scalene --memory", inroot + [py, "-m", "scalene", "--cli", "--memory",
                                                       "--outfile", "/dev/null", work], []))
    res = {name: [] for name, _, _ in variants}
    for _ in range(runs):
        for name, cmd, extra in variants:
            out = subprocess.run(cmd + [str(n_mix), "mix"] + extra, capture_output=True,
                                 text=True, timeout=900).stdout
            nums = floats(out)
            res[name].append(nums[0] if nums else float("nan"))
    base = statistics.median(res["unprofiled"])
    mix_rows = [(name, statistics.median(xs), statistics.median(xs) / base, xs)
                for name, xs in res.items()]

    # The fast path: traced at 1 GiB (next to no samples) against untraced.
    fast = {"unprofiled": [], "provider loaded, untraced": [], "traced, no sample": []}
    for _ in range(runs):
        fast["unprofiled"].append(run_work(plain + [str(n_pairs), "pairs"]))
        fast["provider loaded, untraced"].append(run_work(untraced + [str(n_pairs), "pairs"]))
        fast["traced, no sample"].append(run_work(
            ours[:2] + ["--rate", "1G"] + ours[2:] + ["--"] + plain + [str(n_pairs), "pairs"]))
    fbase = statistics.median(fast["unprofiled"])
    fast_rows = [(name, statistics.median(xs), (statistics.median(xs) - fbase) / n_pairs * 1e9, xs)
                 for name, xs in fast.items()]

    # A sampled allocation with its free: at a 64-byte rate, 22 % of the
    # 16-byte blocks are sampled. Its cost = the time added over the same
    # run at 1 GiB (hooks on, no samples) / the number of samples.
    n_small = n_pairs // 10
    tmp = tempfile.NamedTemporaryFile(suffix=".json")
    with open("/proc/sys/kernel/bpf_stats_enabled") as f:
        old = f.read().strip()
    per = []
    try:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write("1")
        for _ in range(runs):
            t1 = run_work(ours[:2] + ["--rate", "1G"] + ours[2:] + ["--"] + plain
                          + [str(n_small), "pairs"])
            proc = subprocess.Popen([pystrobe, "memory", "--rate", "64", "-f", "json", "-o",
                                     tmp.name, "--"] + plain + [str(n_small), "pairs"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    text=True)
            time.sleep(1.0)
            s0 = {p: bpf_stats(p) for p in ("pm_alloc", "pm_free")}
            time.sleep(1.0)
            s1 = {p: bpf_stats(p) for p in ("pm_alloc", "pm_free")}
            t2 = floats(proc.communicate(timeout=900)[0])[0]
            with open(tmp.name) as f:
                doc = json.load(f)
            samples = sum(v["samples"] for v in doc["views"])
            bpf = [(s1[p][0] - s0[p][0]) / max(1, s1[p][1] - s0[p][1]) / 1000.0
                   for p in ("pm_alloc", "pm_free")]
            per.append(((t2 - t1) / samples * 1e6, bpf[0], bpf[1], samples))
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(old)
    return mix_rows, fast_rows, per


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pystrobe", default="./pystrobe")
    ap.add_argument("--python", default="/usr/bin/python3.11"
                    if os.path.exists("/usr/bin/python3.11") else sys.executable)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--calls", type=int, default=1000000,
                    help="activations per traced calls run (10x untraced)")
    ap.add_argument("--root", default=os.environ.get(
        "PYSTROBE_CACHE", "/var/cache/pystrobe") + "/roots/bullseye")
    ap.add_argument("--only", default="sampling,timers,startup,offcpu,calls,memory,austin",
                    help="comma-separated sections (default: all)")
    a = ap.parse_args()
    global PYSTROBE
    pystrobe = PYSTROBE = os.path.abspath(a.pystrobe)

    print("# pystrobe benchmark: %s, %d runs each, median" %
          (a.python, a.runs))
    if "sampling" in a.only:
        print("\n## Overhead, CPU-bound workload (depth 10)")
        print("| run | median s | ratio | runs |")
        print("|---|---|---|---|")
        for name, med, ratio, xs in overhead(pystrobe, a.python, a.runs,
                                             [99, 999], 10, a.rounds):
            print("| %s | %.3f | %.4f | %s |" %
                  (name, med, ratio, " ".join("%.3f" % x for x in xs)))

        print("\n## BPF time per sample (kernel.bpf_stats_enabled, 999 Hz)")
        print("| Python stack depth | µs per run (run_time_ns/run_cnt) | "
              "µs per target sample (upper bound) | runs | target samples |")
        print("|---|---|---|---|---|")
        for depth in (10, 128):
            per_run, per_target, runs, target = per_sample_cost(
                pystrobe, a.python, depth)
            print("| %d | %.2f | %.2f | %d | %d |" %
                  (depth, per_run, per_target, runs, target))

    if "timers" in a.only:
        print("\n## Timer interrupts alone vs pystrobe (workload CPU seconds, "
              "depth 10)")
        print("| run | median CPU s | ratio | µs per firing added | runs |")
        print("|---|---|---|---|---|")
        for name, cpu, ratio, per, xs in timer_cost(
                pystrobe, a.python, a.runs, [99, 999], 10, a.rounds):
            print("| %s | %.3f | %.4f | %.1f | %s |" % (
                name, cpu, ratio, per, " ".join("%.3f" % x for x in xs)))
        print("\nOne busy target thread, 999 Hz, %d CPUs: ps_sample runs per "
              "second and pystrobe's own CPU (share of one CPU)" %
              os.cpu_count())
        print("| timers | runs/s | pystrobe CPU |")
        print("|---|---|---|")
        for scope, label in (("thread", "on the target thread (-p)"),
                             ("all", "on every CPU (--all)")):
            runs, own = program_runs(pystrobe, a.python, scope)
            print("| %s | %.0f | %.2f %% |" % (label, runs, 100 * own))

    if "startup" in a.only:
        bare, rec = startup_cost(pystrobe, a.python, max(a.runs, 7))
        print("\n## Start-up: `%s -c pass`, wall seconds" % a.python)
        print("| run | median s | runs |")
        print("|---|---|---|")
        print("| bare | %.3f | %s |" % (statistics.median(bare),
                                     " ".join("%.3f" % x for x in bare)))
        print("| pystrobe record | %.3f | %s |" % (
            statistics.median(rec), " ".join("%.3f" % x for x in rec)))
        print("\nadded: %.3f s" % (statistics.median(rec) -
                                   statistics.median(bare)))

    if "offcpu" in a.only:
        print("\n## Off-CPU: two threads ping-ponging over pipes (--offcpu)")
        b, p, bs, ps, per_switch, switches = offcpu_overhead(
            pystrobe, a.python, a.runs, 50000)
        print("| run | median s | ratio | runs |")
        print("|---|---|---|---|")
        print("| unprofiled | %.3f | 1.0000 | %s |" %
              (b, " ".join("%.3f" % x for x in bs)))
        print("| pystrobe --offcpu | %.3f | %.4f | %s |" %
              (p, p / b, " ".join("%.3f" % x for x in ps)))
        print("\nBPF time per context switch (ps_switch run_time_ns/run_cnt, all "
              "switches on the host): %.2f µs over %d switches" %
              (per_switch, switches))

    if "calls" in a.only:
        n = a.calls
        for shape in ("simple", "mixed"):
            print("\n## Call tracing: cost per activation (entry + return), %s "
                  "workload, %d activations" % (shape, n))
            for label, argv_of, pdir in calls_setups(pystrobe, CALLS_LABELS):
                rows, calib = calls_overhead(pystrobe, argv_of, a.runs, n, pdir, shape)
                print("\n%s:\n" % label)
                print("| run | activations | median s | ratio | µs per activation added | runs |")
                print("|---|---|---|---|---|---|")
                for name, k, m, ratio, per_call, xs in rows:
                    print("| %s | %d | %.3f | %.3f | %.3f | %s |" % (
                        name, k, m, ratio, per_call, " ".join("%.3f" % x for x in xs)))
                if calib:
                    print("\npystrobe calls subtracted, the lower quartile of its calibrations: %s" % calib)

    if "memory" in a.only:
        root = os.path.join(os.path.dirname(a.root), "sid-peers")
        provider_dir = os.path.join(os.path.dirname(pystrobe), ".output", "provider")
        res = memory_overhead(pystrobe, root, a.runs, 3000000, 50000000, provider_dir)
        if res is None:
            print("\n## Memory: no %s (debootstrap --variant=minbase "
                  "--include=python3-memray,python3-scalene sid %s): skipped" % (root, root))
        else:
            mix_rows, fast_rows, per = res
            print("\n## Memory: allocation-heavy pure Python, 3 000 000 rounds "
                  "(Debian sid python3.14, %s)" % root)
            print("| run | median s | ratio | runs |")
            print("|---|---|---|---|")
            for name, med, ratio, xs in mix_rows:
                print("| %s | %.3f | %.3f | %s |" % (name, med, ratio,
                                                    " ".join("%.3f" % x for x in xs)))
            print("\nFast path, one allocation and one free per round, 50 000 000 rounds:")
            print("| run | median s | ns added per allocation + free | runs |")
            print("|---|---|---|---|")
            for name, med, ns, xs in fast_rows:
                print("| %s | %.3f | %.1f | %s |" % (name, med, ns,
                                                   " ".join("%.3f" % x for x in xs)))
            print("\nA sampled allocation and its free (--rate 64, 5 000 000 rounds):")
            print("| µs added per sample (alloc + free) | BPF µs per pm_alloc | "
                  "BPF µs per pm_free | samples |")
            print("|---|---|---|---|")
            for us, ba, bf, n in per:
                print("| %.2f | %.2f | %.2f | %d |" % (us, ba, bf, n))

    if "austin" in a.only:
        print("\n## Austin vs pystrobe, same workload and rates "
              "(bullseye python3.9, ratios to unprofiled)")
        print("| rate | unprofiled | austin | pystrobe |")
        print("|---|---|---|---|")
        for freq in (99, 999):
            res = austin_overhead(a.root, "/usr/bin/python3.9", a.runs, freq, 10,
                                  a.rounds)
            if res is None:
                print("austin or the bullseye root is missing: skipped")
                break
            base, aus, ours = res
            print("| %d Hz | %.3f s | %.4f | %.4f |" %
                  (freq, base, aus / base, ours / base))


if __name__ == "__main__":
    main()
