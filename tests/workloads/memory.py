# SPDX-License-Identifier: BSD-2-Clause
"""Memory workload: allocation sites whose totals it knows, spread over a few
seconds of rounds so that growth over time shows.

    temp_a, temp_b   64 KiB blocks (bytearray) dropped at once: temporaries
    leak             64 KiB blocks appended to a global list every round
    fill_cache       32 KiB blocks into a dict in the first 30 % of the
                     rounds, never after: a cache that fills, then plateaus
    make_objects     small instances of a __slots__ class (one block each);
                     each round's replace the previous round's

Usage: memory.py OUT SCALE [ROUNDS]

The bytes and blocks one allocation of each kind requests are measured with
tracemalloc (the sizes the allocator hooks see); counts are by construction.
Under PYTHONTRACEMALLOC=1 it also writes tracemalloc's exact live bytes of
this file's allocations at the end of the run. Writes a Python literal to
OUT, with the line of each site (its allocating line ends in a "site"
comment). Loops iterate over prebuilt objects, so that nothing else is
allocated on the measured lines (no int objects).
"""
import sys
import time
import tracemalloc
from itertools import repeat

BLOCK = 65536
CACHE_BLOCK = 32768
ROUND_S = 0.125


class P:
    __slots__ = ("a", "b")


KEEP = []
CACHE = {}
ALIVE = None


def temp_a(n):
    for _ in repeat(None, n):
        b = bytearray(BLOCK)  # noqa: F841  # site: temp_a


def temp_b(n):
    for _ in repeat(None, n):
        b = bytearray(BLOCK)  # noqa: F841  # site: temp_b


def leak(n):
    for _ in repeat(None, n):
        KEEP.append(bytearray(BLOCK))  # site: leak


def fill_cache(keys):
    for k in keys:
        CACHE[k] = bytearray(CACHE_BLOCK)  # site: fill_cache


def make_objects(out, idx):
    for i in idx:
        out[i] = P()  # site: make_objects


def site_lines():
    """{name: line} of the allocating lines above, by their comments."""
    mark = "# " + "site: "  # (so that this line is not one)
    lines = {}
    with open(__file__) as f:
        for i, ln in enumerate(f, 1):
            if mark in ln:
                lines[ln.split(mark, 1)[1].strip()] = i
    return lines


def calibrate():
    """(bytes, blocks) requested by one bytearray(BLOCK), one
    bytearray(CACHE_BLOCK) and one P(), from tracemalloc's traces of the
    three lines below."""
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    first = calibrate.__code__.co_firstlineno
    a = bytearray(BLOCK)  # first + 8
    c = bytearray(CACHE_BLOCK)  # first + 9
    p = P()  # first + 10
    snap = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(True, __file__)])
    if not tracing:
        tracemalloc.stop()
    stats = {s.traceback[0].lineno: (s.size, s.count) for s in snap.statistics("lineno")}
    del a, c, p
    return [stats[first + k] for k in (8, 9, 10)]


def main():
    out, scale = sys.argv[1], float(sys.argv[2])
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 24
    (blk_b, blk_n), (cache_b, cache_n), (obj_b, obj_n) = calibrate()
    n_a = int(3200 * scale / rounds) or 1
    n_b = int(1600 * scale / rounds) or 1
    n_leak = int(768 * scale / rounds) or 1
    n_obj = int(50000 * scale) or 1
    fill_rounds = max(1, int(rounds * 0.3))
    n_cache = int(512 * scale / fill_rounds) or 1
    keys = ["k%d" % i for i in range(n_cache * fill_rounds)]
    objects = [None] * n_obj
    idx = list(range(n_obj))
    t0 = time.monotonic()
    for r in range(rounds):
        temp_a(n_a)
        temp_b(n_b)
        leak(n_leak)
        if r < fill_rounds:
            fill_cache(keys[r * n_cache:(r + 1) * n_cache])
        make_objects(objects, idx)
        rest = t0 + (r + 1) * ROUND_S - time.monotonic()
        if rest > 0:
            time.sleep(rest)
    elapsed = time.monotonic() - t0
    total_leak = n_leak * rounds
    truth = {
        "rounds": rounds,
        "elapsed": elapsed,
        "alloc": {
            "temp_a": (n_a * rounds * blk_b, n_a * rounds * blk_n),
            "temp_b": (n_b * rounds * blk_b, n_b * rounds * blk_n),
            "leak": (total_leak * blk_b, total_leak * blk_n),
            "fill_cache": (len(keys) * cache_b, len(keys) * cache_n),
            "make_objects": (n_obj * rounds * obj_b, n_obj * rounds * obj_n),
        },
        "inuse": {
            "temp_a": (0, 0),
            "temp_b": (0, 0),
            "leak": (total_leak * blk_b, total_leak * blk_n),
            "fill_cache": (len(keys) * cache_b, len(keys) * cache_n),
            "make_objects": (n_obj * obj_b, n_obj * obj_n),
        },
        "leak_bytes_per_s": total_leak * blk_b / elapsed,
        "sizes": {"block": blk_b, "cache": cache_b, "object": obj_b},
        "lines": site_lines(),
    }
    # Live until exit (pystrobe reports what is in use when the program
    # ends, before the interpreter's teardown), as tracemalloc sees it now.
    global ALIVE
    ALIVE = (objects, idx, keys, truth)
    if tracemalloc.is_tracing():
        snap = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(True, __file__)])
        truth["tracemalloc_live"] = sum(s.size for s in snap.statistics("filename"))
    with open(out + ".tmp", "w") as f:
        f.write(repr(truth))
    import os
    os.rename(out + ".tmp", out)
    print("memory workload done")


if __name__ == "__main__":
    main()
