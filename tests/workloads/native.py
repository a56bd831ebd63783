# SPDX-License-Identifier: BSD-2-Clause
# Workload for the native/kernel frames test: sys_heavy spends its time in
# system calls (kernel frames), c_heavy in C code of the interpreter
# (native frames), both called from main. Writes "done" to OUT at the end.
# Usage: native.py OUT SECONDS
import os
import sys
import time


def sys_heavy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(200):
            os.stat("/")


def c_heavy(seconds):
    data = list(range(200000, 0, -1))
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sorted(data)


def main():
    out, seconds = sys.argv[1], float(sys.argv[2])
    sys_heavy(seconds)
    c_heavy(seconds)
    with open(out, "w") as f:
        f.write("done\n")


if __name__ == "__main__":
    main()
