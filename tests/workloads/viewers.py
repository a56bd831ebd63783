# SPDX-License-Identifier: BSD-2-Clause
# Workload for the viewer tests (JSON, HTML, speedscope, diff): the main
# thread alternates burn_hot and burn_cold, HOT and COLD units of work each
# round, while a thread named "napper" takes 20 ms naps in nap(). It
# measures itself: each burn function's thread CPU time, the napper's wall
# time inside time.sleep() (the nap, then taking the GIL back from the
# burner), its number of naps, and the threads' native ids; written as a
# Python literal to OUT (only the stdlib of pythonX.Y-minimal).
# Usage: viewers.py OUT SECONDS HOT COLD
import sys
import threading
import time

UNIT = 20000


def burn_hot(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


def burn_cold(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


NAP = 0.02


def nap(stop, slept):
    while not stop.is_set():
        t = time.perf_counter()
        time.sleep(NAP)
        slept[0] += time.perf_counter() - t
        slept[1] += 1


def napper(stop, slept, ids):
    ids["napper"] = threading.get_native_id()
    nap(stop, slept)


def main():
    out, seconds = sys.argv[1], float(sys.argv[2])
    hot, cold = int(sys.argv[3]), int(sys.argv[4])
    stop, slept, ids = threading.Event(), [0.0, 0], {}
    t = threading.Thread(target=napper, args=(stop, slept, ids), name="napper")
    t.start()
    cpu = {"burn_hot": 0.0, "burn_cold": 0.0}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for fn, n in ((burn_hot, hot), (burn_cold, cold)):
            c = time.thread_time()
            fn(n * UNIT)
            cpu[fn.__name__] += time.thread_time() - c
    stop.set()
    t.join()
    with open(out + ".tmp", "w") as f:
        f.write(repr({"cpu": cpu, "slept": slept[0], "naps": slept[1], "nap": NAP,
                      "napper_tid": ids["napper"],
                      "main_tid": threading.get_native_id()}))
    import os
    os.rename(out + ".tmp", out)


main()
