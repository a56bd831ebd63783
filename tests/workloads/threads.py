# SPDX-License-Identifier: BSD-2-Clause
# Workload for the `threads` test: four threads (worker-1..worker-4) burn
# 1x, 2x, 3x, 4x units of work in their own functions burn_t1..burn_t4. Each
# thread reports its native thread id and its own time.thread_time().
# Usage: threads.py OUT TOTAL_CPU_SECONDS
import os
import sys
import threading
import time

CHUNK = 10000


def burn_t1(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


def burn_t2(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


def burn_t3(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


def burn_t4(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


BURNERS = {1: burn_t1, 2: burn_t2, 3: burn_t3, 4: burn_t4}


def calibrate():
    # chunks of CHUNK iterations per CPU second
    t0 = time.thread_time()
    n = 0
    while time.thread_time() - t0 < 0.2:
        burn_t1(CHUNK)
        n += 1
    return n / (time.thread_time() - t0)


def worker(k, chunks, start, results):
    start.wait()
    fn = BURNERS[k]
    for _ in range(chunks):
        fn(CHUNK)
    results[k] = {
        "tid": threading.get_native_id(),
        "name": threading.current_thread().name,
        "func": fn.__name__,
        "cpu": time.thread_time(),
    }


def main():
    out, total = sys.argv[1], float(sys.argv[2])
    rate = calibrate()
    unit = max(1, int(rate * total / 10.0))
    start = threading.Event()
    results = {}
    threads = [threading.Thread(target=worker, name="worker-%d" % k,
                                args=(k, k * unit, start, results))
               for k in (1, 2, 3, 4)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join()
    with open(out + ".tmp", "w") as f:
        f.write(repr({
            "pid": os.getpid(),
            "version": sys.version.split()[0],
            "file": main.__code__.co_filename,
            "main_tid": threading.get_native_id(),
            "threads": results,
        }))
    os.rename(out + ".tmp", out)


main()
