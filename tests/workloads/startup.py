# SPDX-License-Identifier: BSD-2-Clause
# Workload for the start-up test of `pystrobe calls`: imports nothing new, calls
# hello() N times and writes what it did as a Python literal to OUT: the
# expected calls, and whether a sitecustomize of the user's ran before it
# (it sets sys._startup_marker).
# Usage: startup.py OUT N
import os  # already imported by site: no import machinery runs
import sys


def hello():
    pass


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    for _ in range(n):
        hello()
    res = {"calls": {"hello": n, "main": 1},
           "user_sitecustomize": getattr(sys, "_startup_marker", None),
           "pythonpath": os.environ.get("PYTHONPATH"),
           "threading": "threading" in sys.modules}
    # binary: a text file may import the locale machinery (3.9's _bootlocale)
    with open(out + ".tmp", "wb") as f:
        f.write(repr(res).encode())
    os.rename(out + ".tmp", out)


main()
