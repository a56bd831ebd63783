# SPDX-License-Identifier: BSD-2-Clause
# Workload for `pystrobe scale`: functions whose time grows as planted with
# the input size N, in pure-Python loops (no C calls inside them, so that a
# tracer's cost per C call does not bend the curves):
#   quad(n)        O(n^2): (n/2)^2 steps, called once
#   lookups(n)     O(n log n): 4n binary searches over n^2 slots, called once
#   lin(n)         O(n): 400 n steps, called once
#   step(i)        O(1) per call (120 steps), called n times (O(n) in all)
#   fixed()        O(1): 200 000 steps whatever n, called once
# At N = 1000 each takes about 2 ms or more on the fastest interpreter here
# (3.14: quad and step took under 1 ms with (n/3)^2 and 40 steps), so that
# all clear `scale`'s 1 ms floor for fitting in calls mode.
# Appends what it measured itself (each function's wall time, the calls it
# made, whether every lookup found its target) to OUT as a line holding a
# Python literal.
# Usage: scaling.py OUT N
import sys
import time
from itertools import repeat


def quad(n):
    # Over a list of small ints: no int is allocated per step, so that the
    # cost per step does not grow with n (i + j would leave the small-int
    # cache as n grows)
    row = [1] * (n // 2)
    s = 0
    for a in row:
        for b in row:
            s ^= b
    return s


def lookups(n):
    # 4n binary searches over n^2 slots (numbers, not memory: nothing grows
    # with n to add cache effects): 2 log2 n steps each, a log factor with
    # no constant in it, as the class's model n ln n has none (over 4n
    # slots, log2 4n = 2 + log2 n grows by 1.25 where ln n grows by 1.30
    # from n = 1000 to 8000, and the loop's cost per target dilutes it
    # further: 3.9 measured k = 1.05 against 1.10 planted)
    space = n * n
    found = 0
    for i in range(4 * n):
        target = i * n // 4
        lo, hi = 0, space
        while lo < hi:
            mid = (lo + hi) >> 1
            if mid < target:
                lo = mid + 1
            else:
                hi = mid
        found += lo == target
    return found


def lin(n):
    s = 0
    for _ in repeat(None, 400 * n):
        s ^= 1
    return s


def step(i):
    s = 0
    for k in range(120):
        s += k ^ i
    return s


def fixed():
    s = 0
    for _ in repeat(None, 200000):
        s ^= 1
    return s


def timed(times, name, fn, *args):
    t0 = time.perf_counter()
    r = fn(*args)
    times[name] = time.perf_counter() - t0
    return r


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    times = {}
    timed(times, "quad", quad, n)
    found = timed(times, "lookups", lookups, n)
    timed(times, "lin", lin, n)
    t0 = time.perf_counter()
    for i in range(n):
        step(i)
    times["step"] = time.perf_counter() - t0
    timed(times, "fixed", fixed)
    res = {
        "n": n,
        "times": times,
        "calls": {"quad": 1, "lookups": 1, "lin": 1, "step": n, "fixed": 1},
        "found": found == 4 * n,
    }
    # One line per run: a sweep's repeats at one size share OUT.
    with open(out, "a") as f:
        f.write(repr(res) + "\n")


main()
