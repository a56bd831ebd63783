# SPDX-License-Identifier: BSD-2-Clause
# Workload for the native/kernel frames test: sys_heavy spends its time in
# system calls (kernel frames), c_heavy in C code of the interpreter
# (native frames), both called from main. Writes, as a Python literal to
# OUT, the user and system CPU time sys_heavy took (os.times()).
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
    t0 = os.times()
    sys_heavy(seconds)
    t1 = os.times()
    c_heavy(seconds)
    with open(out + ".tmp", "w") as f:
        f.write(repr({"sys_user": t1.user - t0.user, "sys_system": t1.system - t0.system}))
    os.rename(out + ".tmp", out)


if __name__ == "__main__":
    main()
