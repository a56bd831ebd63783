# SPDX-License-Identifier: BSD-2-Clause
# Workload for the `deep` test: phase 1 burns in bottom_150 under exactly 150
# `recurse` frames (below the sampler's frame cap), phase 2 burns in bottom_300
# under 300 `recurse` frames (above it). The CPU time of each phase is
# measured with time.thread_time().
# Usage: deep.py OUT SECONDS_PER_PHASE
import os
import sys
import time


def spin(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


def bottom_150(seconds):
    t0 = time.thread_time()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        x = 0
        for i in range(20000):
            x = (x * 31 + i) % 1000003
    return time.thread_time() - t0


def bottom_300(seconds):
    t0 = time.thread_time()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        x = 0
        for i in range(20000):
            x = (x * 31 + i) % 1000003
    return time.thread_time() - t0


def recurse(depth, leaf, seconds):
    if depth > 1:
        return recurse(depth - 1, leaf, seconds)
    return leaf(seconds)


def main():
    out, seconds = sys.argv[1], float(sys.argv[2])
    sys.setrecursionlimit(5000)
    cpu150 = recurse(150, bottom_150, seconds)
    cpu300 = recurse(300, bottom_300, seconds)
    with open(out + ".tmp", "w") as f:
        f.write(repr({
            "pid": os.getpid(),
            "version": sys.version.split()[0],
            "file": main.__code__.co_filename,
            "cpu": {"bottom_150": cpu150, "bottom_300": cpu300},
        }))
    os.rename(out + ".tmp", out)


main()
