# SPDX-License-Identifier: BSD-2-Clause
# Workload for the `sampler-aliasing` test: periodic work whose period can
# lock onto a sampler's. Each phase repeats a cycle of CYCLE_MS of the
# thread's CPU time in which spin_a, spin_b and spin_c run for 6:3:1 of it,
# one after the other, for SECONDS of CPU time. Phase k runs below the
# function phase<k> so that a profile can tell the phases apart.
#
# The cycle is kept in thread CPU time (time.thread_time()), the clock a CPU
# sampler counts, so the workload is exactly periodic where it matters even
# on a loaded machine. Ground truth, written as a Python literal to OUT: per
# phase, the CPU time each spin function measured around its own calls.
# Usage: periodic.py OUT CYCLE_MS:SECONDS[,CYCLE_MS:SECONDS...] (at most 4)
import os
import sys
import time

SPLIT = (0.6, 0.9, 1.0)  # cumulative ends of spin_a, spin_b, spin_c


def spin_a(end):
    t = time.thread_time()
    while t < end:
        for _ in range(8):
            pass
        t = time.thread_time()
    return t


def spin_b(end):
    t = time.thread_time()
    while t < end:
        for _ in range(8):
            pass
        t = time.thread_time()
    return t


def spin_c(end):
    t = time.thread_time()
    while t < end:
        for _ in range(8):
            pass
        t = time.thread_time()
    return t


def run_cycles(cycle, seconds, acc):
    t = time.thread_time()
    stop = t + seconds
    cycles = 0
    while t < stop:
        start = t
        t1 = spin_a(start + SPLIT[0] * cycle)
        t2 = spin_b(start + SPLIT[1] * cycle)
        t3 = spin_c(start + SPLIT[2] * cycle)
        acc["spin_a"] += t1 - t
        acc["spin_b"] += t2 - t1
        acc["spin_c"] += t3 - t2
        t = t3
        cycles += 1
    return cycles


def phase0(cycle, seconds, acc):
    return run_cycles(cycle, seconds, acc)


def phase1(cycle, seconds, acc):
    return run_cycles(cycle, seconds, acc)


def phase2(cycle, seconds, acc):
    return run_cycles(cycle, seconds, acc)


def phase3(cycle, seconds, acc):
    return run_cycles(cycle, seconds, acc)


PHASES = (phase0, phase1, phase2, phase3)


def write_result(path, result):
    with open(path + ".tmp", "w") as f:
        f.write(repr(result))
    os.rename(path + ".tmp", path)


def main():
    out = sys.argv[1]
    plan = [tuple(float(x) for x in p.split(":")) for p in sys.argv[2].split(",")]
    phases = []
    for k, (cycle_ms, seconds) in enumerate(plan[:len(PHASES)]):
        acc = {"spin_a": 0.0, "spin_b": 0.0, "spin_c": 0.0}
        cycles = PHASES[k](cycle_ms / 1000.0, seconds, acc)
        total = sum(acc.values())
        phases.append({"function": PHASES[k].__name__, "cycle_ms": cycle_ms,
                       "cycles": cycles, "cpu": acc,
                       "shares": dict((f, v / total) for f, v in acc.items())})
    write_result(out, {"pid": os.getpid(), "version": sys.version.split()[0],
                       "phases": phases})


main()
