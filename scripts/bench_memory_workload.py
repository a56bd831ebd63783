"""Allocation-heavy pure Python for the memory benchmark (scripts/bench.py).

    bench_memory_workload.py N [mix|pairs] [tracemalloc]

mix:   N rounds of building a small record (a dict, a formatted str, a
       list, a tuple; about 8 allocations), most dropped at once
pairs: N allocations of one small object, each freed at the next (one
       allocation and one free per round: the per-call fast path)
tracemalloc: trace with tracemalloc (started before the timed part).
Prints the seconds the timed part took (time.perf_counter()).
"""
import sys
import time
from itertools import repeat


def mix(n):
    out = []
    for i in range(n):
        d = {"id": i, "name": "item%d" % i, "tags": [i, i + 1, i + 2]}
        out.append((d["name"], d["id"] * 2))
        if len(out) >= 1000:
            out = []
    return out


def pairs(n):
    for _ in repeat(None, n):
        object()


def main():
    n = int(sys.argv[1])
    kind = sys.argv[2] if len(sys.argv) > 2 else "mix"
    if "tracemalloc" in sys.argv[3:]:
        import tracemalloc
        tracemalloc.start()
    fn = mix if kind == "mix" else pairs
    t0 = time.perf_counter()
    fn(n)
    print("%.4f" % (time.perf_counter() - t0))


if __name__ == "__main__":
    main()
