# SPDX-License-Identifier: BSD-2-Clause
# Workload for the `shares` test: three functions burn known shares (about
# 20/30/50 %) of the thread's CPU time, each called from run_round <- main <-
# <module>. The shares actually measured with time.thread_time() around each
# call are the ground truth, written as a Python literal to argv[1].
# Only the stdlib modules in pythonX.Y-minimal are used (no json).
# Usage: shares.py OUT SECONDS
import os
import sys
import time

UNIT = 20000


def burn_a(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


def burn_b(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


def burn_c(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


def run_round(acc):
    t0 = time.thread_time()
    burn_a(2 * UNIT)
    t1 = time.thread_time()
    burn_b(3 * UNIT)
    t2 = time.thread_time()
    burn_c(5 * UNIT)
    t3 = time.thread_time()
    acc["burn_a"] += t1 - t0
    acc["burn_b"] += t2 - t1
    acc["burn_c"] += t3 - t2


def write_result(path, result):
    with open(path + ".tmp", "w") as f:
        f.write(repr(result))
    os.rename(path + ".tmp", path)


def main():
    out, seconds = sys.argv[1], float(sys.argv[2])
    acc = {"burn_a": 0.0, "burn_b": 0.0, "burn_c": 0.0}
    end = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < end:
        run_round(acc)
        rounds += 1
    total = sum(acc.values())
    write_result(out, {
        "pid": os.getpid(),
        "version": sys.version.split()[0],
        "file": main.__code__.co_filename,
        "rounds": rounds,
        "cpu": acc,
        "thread_time": time.thread_time(),
        "shares": dict((k, v / total) for k, v in acc.items()),
    })


main()
