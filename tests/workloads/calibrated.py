# SPDX-License-Identifier: BSD-2-Clause
# Workload for the calls-calibrated test: three functions of known cost,
# each timed by this program with time.thread_time() around its one call
# per round: many() (N calls of a tiny function), consume() (a generator
# resumed N times) and spin() (a loop, no calls). The same rounds run first
# in a child started with -S (no site, hence no pystrobe provider: untraced)
# and then here (traced); OUT gets both, as a Python literal:
# {"untraced": {fn: seconds per round}, "traced": {...}, "rounds": R,
#  "version": "3.X", "clock": the provider's timestamps (stats()["clock"])}.
# Usage: calibrated.py OUT [ROUNDS] | calibrated.py --child ROUNDS
import subprocess
import sys
import time

N_CALLS = 100000
N_RESUMES = 100000
N_SPIN = 400000


def leaf(x):
    return x + 1


def many(n):
    s = 0
    for i in range(n):
        s += leaf(i)
    return s


def gen(n):
    for i in range(n):
        yield i


def consume(n):
    s = 0
    for v in gen(n):
        s += v
    return s


def spin(n):
    s = 0
    for i in range(n):
        s += i * i % 7
    return s


def rounds(r):
    """CPU seconds per round of each function (the mean of r rounds)."""
    cost = {"many": 0.0, "consume": 0.0, "spin": 0.0}
    for _ in range(r):
        for name, fn, n in (("many", many, N_CALLS), ("consume", consume, N_RESUMES),
                            ("spin", spin, N_SPIN)):
            t0 = time.thread_time()
            fn(n)
            cost[name] += time.thread_time() - t0
    return dict((k, v / r) for k, v in cost.items())


def main():
    if sys.argv[1] == "--child":
        print(repr(rounds(int(sys.argv[2]))))
        return
    out, r = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5
    child = subprocess.run([sys.executable, "-S", __file__, "--child", str(r)],
                           stdout=subprocess.PIPE, check=True)
    untraced = eval(child.stdout.decode())
    traced = rounds(r)
    provider = sys.modules.get("_pystrobe_provider")
    with open(out + ".tmp", "w") as f:
        f.write(repr({"untraced": untraced, "traced": traced, "rounds": r,
                      "version": "%d.%d" % sys.version_info[:2],
                      "clock": provider.stats()["clock"] if provider else None}))
    import os
    os.rename(out + ".tmp", out)


main()
