# SPDX-License-Identifier: BSD-2-Clause
# How steady this machine's speed is, without any tracer: every 100 ms, the
# fastest of 5 rounds of 2000 calls of an empty function, and of a loop of
# 2000 bare iterations, in ns each. On a shared VM each vCPU has spells in
# which both run slower; a calls calibration that lands in one is off
# (README, "What tracing costs"). Pin one copy per CPU to compare them.
# Usage: speed_spells.py [SECONDS]
#   python3 scripts/speed_spells.py 5
#   taskset -c 0 python3 scripts/speed_spells.py 5 & taskset -c 1 python3 scripts/speed_spells.py 5
import sys
import time

N = 2000


def leaf():
    pass


def calls(n):
    f = leaf
    for _ in range(n):
        f()


def bare(n):
    for _ in range(n):
        pass


def fastest(fn, rounds=5):
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter_ns()
        fn(N)
        best = min(best, time.perf_counter_ns() - t)
    return best / N


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    end = time.monotonic() + seconds
    points = []
    while time.monotonic() < end:
        points.append((fastest(calls), fastest(bare)))
        time.sleep(0.1)
    low = min(c for c, _ in points)
    slow = [(c, b) for c, b in points if c > 1.25 * low]
    print("%s: %d moments; a call %.0f-%.0f ns; %d moments over 1.25x the fastest call "
          "(calls %s ns, bare loop %s ns against %.1f at the fastest)" % (
              sys.version.split()[0], len(points), low, max(c for c, _ in points), len(slow),
              " ".join("%.0f" % c for c, _ in slow) or "-",
              " ".join("%.1f" % b for _, b in slow) or "-",
              min(b for _, b in points)))


if __name__ == "__main__":
    main()
