# SPDX-License-Identifier: BSD-2-Clause
# Workload for the `offcpu-gil` test: three threads (gil-1..gil-3) burn CPU in
# pure Python loops (gil_burn) concurrently for SECONDS of wall time, so they
# take turns on the GIL. Each thread measures, over its whole target
# function, its own wall time (time.perf_counter) and CPU time
# (time.thread_time), and reports its native thread id.
# Usage: gil.py OUT SECONDS
import os
import sys
import threading
import time


def gil_burn(end):
    x = 0
    while time.perf_counter() < end:
        for i in range(500):
            x = (x * 31 + i) % 1000003
    return x


def worker(k, seconds, start, results):
    w0 = time.perf_counter()
    c0 = time.thread_time()
    start.wait()
    gil_burn(time.perf_counter() + seconds)
    results[k] = {
        "tid": threading.get_native_id(),
        "name": threading.current_thread().name,
        "cpu": time.thread_time() - c0,
        "wall": time.perf_counter() - w0,
    }


def main():
    out, seconds = sys.argv[1], float(sys.argv[2])
    start = threading.Event()
    results = {}
    threads = [threading.Thread(target=worker, name="gil-%d" % k,
                                args=(k, seconds, start, results))
               for k in (1, 2, 3)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join()
    with open(out + ".tmp", "w") as f:
        f.write(repr({
            "pid": os.getpid(),
            "version": sys.version.split()[0],
            "main_tid": threading.get_native_id(),
            "threads": results,
        }))
    os.rename(out + ".tmp", out)


main()
