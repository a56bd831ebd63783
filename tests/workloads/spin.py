# SPDX-License-Identifier: BSD-2-Clause
# Long-running workload for the attach, namespace and exit-midrun tests. It
# burns CPU in spin_a or spin_b (argv[2]) called from main, writes OUT.ready
# once it is burning, and stops when OUT.stop appears or after MAX_SECONDS of
# wall time. Writes its pid as it sees it (1 inside a PID namespace), its
# CPU time and its wall time start/stop.
# Usage: spin.py OUT spin_a|spin_b MAX_SECONDS
import os
import sys
import time


def spin_a(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


def spin_b(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


def main():
    out, which, max_seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    fn = {"spin_a": spin_a, "spin_b": spin_b}[which]
    stop = out + ".stop"
    fn(1000)
    with open(out + ".ready", "w") as f:
        f.write(str(os.getpid()))
    t0 = time.thread_time()
    end = time.monotonic() + max_seconds
    n = 0
    while time.monotonic() < end and not os.path.exists(stop):
        fn(20000)
        n += 1
    with open(out + ".tmp", "w") as f:
        f.write(repr({
            "pid": os.getpid(),
            "version": sys.version.split()[0],
            "file": main.__code__.co_filename,
            "func": which,
            "cpu": time.thread_time() - t0,
            "chunks": n,
            "stopped_by_file": os.path.exists(stop),
        }))
    os.rename(out + ".tmp", out)


main()
