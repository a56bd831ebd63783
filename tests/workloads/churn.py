# SPDX-License-Identifier: BSD-2-Clause
# Workload for the call-tracing thread-churn test: starts THREADS short-lived
# threads one after another (more than the tracer's thread map holds at
# once), each calling leaf() CALLS times, and writes the expected count of
# leaf calls and the number of distinct native thread ids as a Python
# literal to OUT.
# Usage: churn.py OUT THREADS CALLS
import sys
import threading


def leaf():
    pass


def work(n, tids):
    tids.add(threading.get_native_id())
    for _ in range(n):
        leaf()


def main():
    out, threads, calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    tids = set()
    for _ in range(threads):
        t = threading.Thread(target=work, args=(calls, tids))
        t.start()
        t.join()
    with open(out + ".tmp", "w") as f:
        f.write(repr({"leaf": threads * calls, "work": threads,
                      "distinct_tids": len(tids)}))
    import os

    os.rename(out + ".tmp", out)


main()
