# SPDX-License-Identifier: BSD-2-Clause
# Workload for the `lines` test: hot_lines spends nearly all its time on the
# line marked HOT-LINE; main calls it from the line marked CALL-LINE. The test
# finds both markers in this file.
# Usage: lines.py OUT SECONDS
import os
import sys
import time


def hot_lines(n):
    x = 0
    i = 0
    while i < n:
        x = (x * 31 + i) % 1000003; x = (x * 7 + 3) % 1000003; x = (x ^ (x >> 3)) % 1000003; i += 1  # HOT-LINE
    return x


def main():
    out, seconds = sys.argv[1], float(sys.argv[2])
    end = time.monotonic() + seconds
    calls = 0
    t0 = time.thread_time()
    while time.monotonic() < end:
        hot_lines(50000)  # CALL-LINE
        calls += 1
    with open(out + ".tmp", "w") as f:
        f.write(repr({
            "pid": os.getpid(),
            "version": sys.version.split()[0],
            "file": main.__code__.co_filename,
            "calls": calls,
            "cpu": time.thread_time() - t0,
        }))
    os.rename(out + ".tmp", out)


main()
