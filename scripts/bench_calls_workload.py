# SPDX-License-Identifier: BSD-2-Clause
# Call-heavy workload for `make bench`: N calls of a trivial function, timed
# with time.perf_counter(); prints the seconds. With MODE "cprofile" the loop
# runs under cProfile (enabled around the loop only).
# Usage: bench_calls_workload.py N [plain|cprofile]
import sys
import time


def f(x):
    return x


def loop(n):
    for i in range(n):
        f(i)


def main():
    n = int(sys.argv[1])
    mode = sys.argv[2] if len(sys.argv) > 2 else "plain"
    prof = None
    if mode == "cprofile":
        import cProfile

        prof = cProfile.Profile()
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    loop(n)
    if prof:
        prof.disable()
    print("%.6f" % (time.perf_counter() - t0))


main()
