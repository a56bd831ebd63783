# SPDX-License-Identifier: BSD-2-Clause
"""Bad input: each case exits non-zero with one 'pystrobe: error:' line and
leaves nothing attached."""

import gzip
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

from harness import (
    OUR_PIDS, BadInputs, cgroup_mount, check, once, pick_interps, pid_alive, run,
    wait_for_file, workload_env)


UNSUPPORTED_PYTHONS = [
    "/root/.pyenv/versions/2.7.18/bin/python2.7",
    "/root/.pyenv/versions/3.6.15/bin/python3.6",
]


@once("badinput", order=10, quick=True)
def t_badinput(ctx, interps):
    bad = BadInputs(ctx)
    ok = bad.ok
    py = sys.executable
    env = workload_env()
    expect_error = bad.expect

    # a Python process that is a valid target, for flag tests
    idle = ctx.spawn([py, "-c", "import time\nwhile True: time.sleep(0.05)"])
    # nonexistent pid
    dead = 999999
    while os.path.exists("/proc/%d" % dead):
        dead -= 1
    expect_error("-p nonexistent", ["record", "-p", str(dead), "-d", "1"])
    # non-Python process
    sl = ctx.spawn(["sleep", "60"])
    time.sleep(0.1)
    expect_error("-p non-python", ["record", "-p", str(sl.pid), "-d", "1"])
    # zombie
    zp = ctx.spawn([py, "-c", "import os, sys, time\npid = os.fork()\nif pid == 0: os._exit(0)\n"
                    "print(pid, flush=True)\ntime.sleep(60)"], stdout=subprocess.PIPE)
    zpid = int(zp.p.stdout.readline())
    OUR_PIDS.add(zpid)
    time.sleep(0.2)
    check(not pid_alive(zpid) and os.path.exists("/proc/%d" % zpid), "could not make a zombie")
    expect_error("-p zombie", ["record", "-p", str(zpid), "-d", "1"])
    # unsupported versions
    for upy in UNSUPPORTED_PYTHONS:
        if not os.access(upy, os.X_OK):
            ok.append("(skipped %s: not present)" % upy)
            continue
        up = ctx.spawn([upy, "-c", "import time\nwhile True:\n  x = 0\n  for i in range(100000): x += i\n"
                        "  time.sleep(0.01)"])
        time.sleep(0.5)
        expect_error("-p python %s" % os.path.basename(upy),
                     ["record", "-p", str(up.pid), "-d", "2"])
    # missing privileges: the binary copied where nobody can run it
    bdir = tempfile.mkdtemp(prefix="priv-", dir="/tmp")
    os.chmod(bdir, 0o755)
    nbin = os.path.join(bdir, "pystrobe")
    shutil.copy(ctx.pystrobe, nbin)
    os.chmod(nbin, 0o755)

    def as_nobody(args, timeout):
        return run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                    "--inh-caps=-all", nbin] + args, timeout, env=dict(env, HOME=bdir))
    expect_error("unprivileged -p", ["record", "-p", str(idle.pid), "-d", "1"], runner=as_nobody)
    expect_error("unprivileged -- cmd", ["record", "-d", "1", "--", "/bin/true"], runner=as_nobody)
    # bad flags
    p = str(idle.pid)
    for label, args in [
        ("-F 0", ["record", "-F", "0", "-p", p, "-d", "1"]),
        ("-F abc", ["record", "-F", "abc", "-p", p, "-d", "1"]),
        ("-F 1000000", ["record", "-F", "1000000", "-p", p, "-d", "1"]),
        ("-F -5", ["record", "-F", "-5", "-p", p, "-d", "1"]),
        ("-d -1", ["record", "-d", "-1", "-p", p]),
        ("-d abc", ["record", "-d", "abc", "-p", p]),
        ("-f nope", ["record", "-f", "nope", "-p", p, "-d", "1"]),
        ("-f pprof without -o", ["record", "-f", "pprof", "-p", p, "-d", "1"]),
        ("-p abc", ["record", "-p", "abc", "-d", "1"]),
        ("-p 12,,x", ["record", "-p", "12,,x", "-d", "1"]),
        ("unknown option", ["record", "--no-such-option", "-p", p, "-d", "1"]),
        ("-p and --", ["record", "-p", p, "-d", "1", "--", "/bin/true"]),
        ("no target", ["record", "-d", "1"]),
        ("-F missing argument", ["record", "-p", p, "-F"]),
        ("unknown command", ["frobnicate"]),
        ("-o in missing dir", ["record", "-p", p, "-d", "1", "-o", "/nonexistent/dir/x.folded"]),
        ("-- nonexistent command", ["record", "-d", "1", "--", "/nonexistent/command"]),
        ("report -f pprof", ["report", "/dev/null", "-f", "pprof"]),
    ]:
        expect_error(label, args)
    # corrupt profiles
    d = tempfile.mkdtemp(prefix="corrupt-", dir=ctx.tmp)
    rnd = random.Random(1234)
    files = {}
    files["random bytes"] = bytes(rnd.getrandbits(8) for _ in range(4096))
    files["empty file"] = b""
    files["gzip of random bytes"] = gzip.compress(files["random bytes"])
    real = [os.path.join(ctx.tmp, f) for f in os.listdir(ctx.tmp) if f.endswith(".pprof")]
    if real:
        with open(real[0], "rb") as f:
            good = f.read()
        files["truncated gzip (real pprof)"] = good[:len(good) // 2]
        files["real pprof, bytes flipped inside"] = gzip.compress(
            bytes(b ^ 0x5A if i % 7 == 3 else b for i, b in enumerate(gzip.decompress(good))))
    else:
        files["truncated gzip"] = gzip.compress(b"\x0a\x04\x08\x01\x10\x02" * 500)[:40]
    files["gzip of empty-ish garbage"] = gzip.compress(b"\xff" * 64)
    for label, data in files.items():
        path = os.path.join(d, re.sub(r"\W+", "_", label))
        with open(path, "wb") as f:
            f.write(data)
        expect_error("report " + label, ["report", path, "-f", "folded"])
    expect_error("report nonexistent", ["report", os.path.join(d, "nope.pprof")])
    expect_error("report directory", ["report", d])
    shutil.rmtree(bdir, ignore_errors=True)
    return bad.result()


@once("badinput-offcpu", order=70)
def t_badinput_offcpu(ctx, interps):
    bad = BadInputs(ctx)
    idle = ctx.spawn([sys.executable, "-c", "import time\nwhile True: time.sleep(0.05)"])
    mount = cgroup_mount("cgroup2") or "/sys/fs/cgroup"
    p = str(idle.pid)
    for label, args in [
        ("--cgroup nonexistent", ["record", "--cgroup", "/nonexistent/pystrobe-cg", "-d", "1"]),
        ("--cgroup missing argument", ["record", "-d", "1", "--cgroup"]),
        ("--cgroup with -p", ["record", "--cgroup", mount, "-p", p, "-d", "1"]),
        ("--cgroup with --", ["record", "--cgroup", mount, "-d", "1", "--", "/bin/true"]),
        ("--offcpu --wall", ["record", "--offcpu", "--wall", "-p", p, "-d", "1"]),
    ]:
        bad.expect(label, args, meaning="missing" not in label)
    return bad.result()


@once("badinput-calls", order=120, quick=True)
def t_badinput_calls(ctx, interps):
    bad = BadInputs(ctx)
    plain = pick_interps(ctx, interps, ["3.12-pyenv", "3.11-pyenv", "3.13-pyenv"], 1)[0]
    tout, hout = plain.out("calls-bad.out")
    go_t, go_h = plain.out("calls-bad.go")
    wl = ctx.spawn(plain.argv("calls.py", tout, 1, 0, go_t))
    wait_for_file(go_h + ".ready", 30, wl)
    notpy = ctx.spawn(["sleep", "60"])
    p = str(wl.pid)
    for label, args in [
        ("nothing to trace", ["calls"]),
        ("-p nonexistent", ["calls", "-p", "999999", "-d", "1"]),
        ("-p not python", ["calls", "-p", str(notpy.pid), "-d", "1"]),
        ("-p without probes", ["calls", "-p", p, "-d", "1"]),
        ("-f bogus", ["calls", "-f", "bogus", "-p", p]),
        ("--sort bogus", ["calls", "--sort", "bogus", "-p", p]),
        ("--min-duration -1", ["calls", "--min-duration", "-1", "-p", p]),
        ("-p with --", ["calls", "-p", p, "--", "/bin/true"]),
        ("pprof without -o", ["calls", "-f", "pprof", "-p", p]),
        ("command not found", ["calls", "--", "/nonexistent/python"]),
    ]:
        bad.expect(label, args, meaning=True)
    with open(go_h, "w"):
        pass
    return bad.result()
