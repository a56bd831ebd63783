# SPDX-License-Identifier: BSD-2-Clause
"""Kernel-only view workload: memory the kernel sees a process take, by the
Python function that takes it, every round for a while.

    map_pages     anonymous 1 MiB mappings (mmap.mmap), kept
    touch_pages   writes one byte in each page of them (first touches)
    big_blocks    4 MiB bytearrays (glibc serves them with mmap, and
                  CPython zeroes them: mapped and touched), kept

Usage: memory_kernel.py OUT SECONDS [GO]
With GO, waits for the file GO first (after writing GO.ready). Writes a
Python literal to OUT: bytes mapped and pages touched per function.
"""
import mmap
import os
import sys
import time

MAP = 1 << 20
BIG = 4 << 20
PAGE = mmap.PAGESIZE
KEEP = []


def map_pages(n):
    for _ in range(n):
        KEEP.append(mmap.mmap(-1, MAP))


def touch_pages(maps):
    for m in maps:
        for off in range(0, MAP, PAGE):
            m[off] = 1


def big_blocks(n):
    for _ in range(n):
        KEEP.append(bytearray(BIG))


def main():
    out, seconds = sys.argv[1], float(sys.argv[2])
    if len(sys.argv) > 3:
        go = sys.argv[3]
        with open(go + ".ready", "w"):
            pass
        while not os.path.exists(go):
            time.sleep(0.01)
    rounds = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        map_pages(4)
        touch_pages(KEEP[-4:])
        big_blocks(2)
        rounds += 1
        time.sleep(0.1)
    elapsed = time.monotonic() - t0
    # glibc maps a 4 MiB block with its header: one more page
    big_mapped = rounds * 2 * ((BIG + 64 + PAGE - 1) // PAGE * PAGE)
    truth = {
        "elapsed": elapsed,
        "mapped": {"map_pages": rounds * 4 * MAP, "big_blocks": big_mapped},
        "touched": {"touch_pages": rounds * 4 * MAP, "big_blocks": rounds * 2 * BIG},
    }
    with open(out + ".tmp", "w") as f:
        f.write(repr(truth))
    os.rename(out + ".tmp", out)
    print("memory kernel workload done")
    # Out without the interpreter's teardown, which unmaps all of KEEP: the
    # kernel-only view cannot tell that from the program's work, and a
    # point taken after it (a slow exit on a busy machine: 3 of 33 runs in
    # three CI runs here) shows no leak.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
