# SPDX-License-Identifier: BSD-2-Clause
# Call-heavy workload for `make bench`: N Python activations (a call, or a
# generator resumed: each one entry and one return), timed with
# time.perf_counter(); prints the seconds. With MODE "cprofile" the loop runs
# under cProfile (enabled around the loop only). SHAPE "simple": N calls of a
# trivial function; "mixed": recursion and generators (per round 4 calls of
# a recursive function, 1 call and 3 resumes of a generator).
# Usage: bench_calls_workload.py N [plain|cprofile] [simple|mixed]
import sys
import time


def f(x):
    return x


def loop(n):
    for i in range(n):
        f(i)


def rec(d):
    return 0 if d == 0 else rec(d - 1) + 1


def gen(k):
    for j in range(k):
        yield j


def mixed(n):
    for _ in range(n // 8):
        rec(3)
        for _ in gen(3):
            pass


def main():
    n = int(sys.argv[1])
    mode = sys.argv[2] if len(sys.argv) > 2 else "plain"
    work = mixed if len(sys.argv) > 3 and sys.argv[3] == "mixed" else loop
    prof = None
    if mode == "cprofile":
        import cProfile

        prof = cProfile.Profile()
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    work(n)
    if prof:
        prof.disable()
    print("%.6f" % (time.perf_counter() - t0))


main()
