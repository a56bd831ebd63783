# SPDX-License-Identifier: BSD-2-Clause
# What a call or a generator resume costs, per activation, in ns (best of 7
# rounds of N): a generator consumed by a `for` loop (as the calls
# calibration's is), a genexpr consumed by sum() (as demo_workload.py's
# transform() is), the same sum over a list (no generator), and calls of
# an empty function. Run it bare and under `pystrobe calls`: the difference
# is what tracing adds to each pattern.
# Usage: resume_cost.py [N]
#   python3 scripts/resume_cost.py
#   pystrobe calls -o /dev/null -- python3 scripts/resume_cost.py
import sys
import time


def gen(n):
    for _ in range(n):
        yield


def consume_for(n):
    for _ in gen(n):
        pass


def consume_sum(n):
    return sum(i * i for i in range(n))


def consume_list(n):
    return sum([i * i for i in range(n)])


def leaf():
    pass


def calls(n):
    f = leaf
    for _ in range(n):
        f()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    res = {}
    for name, fn in (("for", consume_for), ("sum", consume_sum), ("list", consume_list),
                     ("calls", calls)):
        best = float("inf")
        for _ in range(7):
            t = time.perf_counter_ns()
            fn(n)
            best = min(best, time.perf_counter_ns() - t)
        res[name] = best / n
    print("%s  %s ns per activation" % (sys.version.split()[0], "  ".join(
        "%s %.1f" % kv for kv in res.items())))


if __name__ == "__main__":
    main()
