# SPDX-License-Identifier: BSD-2-Clause
# Workload for the `offcpu-idle` test: two worker threads block for good
# before OUT.ready is written, one in lock.acquire() on a held
# threading.Lock (idle_lock), one in threading.Event().wait() (idle_event),
# and the main thread in one time.sleep(MAX_SECONDS) (idle_main); OUT.ready
# holds the three native thread ids. The test kills it when done (after
# MAX_SECONDS it releases the workers and writes OUT itself).
# Usage: idle.py OUT MAX_SECONDS
import os
import sys
import threading
import time


def idle_lock(lock, tids):
    tids["lock"] = threading.get_native_id()
    lock.acquire()


def idle_event(ev, tids):
    tids["event"] = threading.get_native_id()
    ev.wait()


def idle_main(max_seconds):
    time.sleep(max_seconds)


def main():
    out, max_seconds = sys.argv[1], float(sys.argv[2])
    tids = {"main": threading.get_native_id()}
    lock = threading.Lock()
    lock.acquire()
    ev = threading.Event()
    tl = threading.Thread(target=idle_lock, args=(lock, tids), name="idle-lock")
    te = threading.Thread(target=idle_event, args=(ev, tids), name="idle-event")
    tl.start()
    te.start()
    while "lock" not in tids or "event" not in tids:
        time.sleep(0.01)
    time.sleep(0.2)  # both are blocked by now
    with open(out + ".ready", "w") as f:
        f.write(repr(tids))
    idle_main(max_seconds)
    lock.release()
    ev.set()
    tl.join()
    te.join()
    with open(out + ".tmp", "w") as f:
        f.write(repr({
            "pid": os.getpid(),
            "version": sys.version.split()[0],
            "tids": tids,
        }))
    os.rename(out + ".tmp", out)


main()
