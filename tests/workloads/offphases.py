# SPDX-License-Identifier: BSD-2-Clause
# Workload for the off-CPU tests: for ROUNDS rounds the main thread runs four
# phases, each in its own function, and measures each call's own wall time
# with time.perf_counter():
#   phase_burn   burns CPU for about 60 ms
#   phase_sleep  time.sleep(0.1)
#   phase_pipe   os.read on a pipe that a helper thread writes to ~0.1 s later
#   phase_lock   acquires a threading.Lock that a helper thread holds ~0.1 s
# The helpers are started outside the phase functions, so the phases' own
# off-CPU time is what the main thread spends blocked in them. Writes the
# per-phase totals (seconds), the main thread's native id and the helpers'
# ids as a Python literal to OUT (only the stdlib of pythonX.Y-minimal).
# Usage: offphases.py OUT ROUNDS
import os
import sys
import threading
import time

WAIT = 0.1


def phase_burn(seconds):
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        for i in range(200):
            x = (x * 31 + i) % 1000003
    return x


def phase_sleep(seconds):
    time.sleep(seconds)


def phase_pipe(fd):
    return os.read(fd, 1)


def phase_lock(lock):
    lock.acquire()
    lock.release()


def pipe_writer(fd, helper_tids):
    helper_tids.append(threading.get_native_id())
    time.sleep(WAIT)
    os.write(fd, b"x")


def lock_holder(lock, held, helper_tids):
    helper_tids.append(threading.get_native_id())
    lock.acquire()
    held.set()
    time.sleep(WAIT)
    lock.release()


def timed(fn, arg, totals, name):
    t0 = time.perf_counter()
    fn(arg)
    totals[name] += time.perf_counter() - t0


def run_round(totals, helper_tids):
    timed(phase_burn, 0.06, totals, "phase_burn")
    timed(phase_sleep, WAIT, totals, "phase_sleep")
    r, w = os.pipe()
    t = threading.Thread(target=pipe_writer, args=(w, helper_tids), name="pipe-writer")
    t.start()
    timed(phase_pipe, r, totals, "phase_pipe")
    t.join()
    os.close(r)
    os.close(w)
    lock = threading.Lock()
    held = threading.Event()
    t = threading.Thread(target=lock_holder, args=(lock, held, helper_tids), name="lock-holder")
    t.start()
    held.wait()
    timed(phase_lock, lock, totals, "phase_lock")
    t.join()


def main():
    out, rounds = sys.argv[1], int(sys.argv[2])
    totals = {"phase_burn": 0.0, "phase_sleep": 0.0, "phase_pipe": 0.0, "phase_lock": 0.0}
    helper_tids = []
    t0 = time.perf_counter()
    for _ in range(rounds):
        run_round(totals, helper_tids)
    with open(out + ".tmp", "w") as f:
        f.write(repr({
            "pid": os.getpid(),
            "version": sys.version.split()[0],
            "file": main.__code__.co_filename,
            "main_tid": threading.get_native_id(),
            "helper_tids": helper_tids,
            "rounds": rounds,
            "wall": totals,
            "total_wall": time.perf_counter() - t0,
        }))
    os.rename(out + ".tmp", out)


main()
