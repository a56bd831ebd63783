# SPDX-License-Identifier: BSD-2-Clause
"""Memory workload for threads, realloc, GIL-free allocations and fork.

    in_thread        4 threads allocate known numbers of 64 KiB temporaries
    keep_in_thread   and each keeps a known number of 64 KiB blocks
    grow             one bytearray grown by appending (realloc): in use at
                     the end is its final block only
    compress         zlib compresses with the GIL released (its state comes
                     from PyMem_RawMalloc, without the GIL)
    forker           forks while the threads run; the child allocates and
                     exits on its own (its status is recorded)

Usage: memory_misc.py OUT SCALE
Writes a Python literal to OUT.
"""
import os
import sys
import threading
import zlib
from itertools import repeat

BLOCK = 65536
KEPT = []
KEPT_LOCK = threading.Lock()
GROWN = None


def in_thread(n):
    for _ in repeat(None, n):
        b = bytearray(BLOCK)  # noqa: F841


def keep_in_thread(n):
    for _ in repeat(None, n):
        b = bytearray(BLOCK)
        with KEPT_LOCK:
            KEPT.append(b)


def grow(n, chunk):
    b = bytearray()
    for _ in repeat(None, n):
        b += chunk
    return b


def compress(data, n):
    for _ in repeat(None, n):
        zlib.compress(data, 6)


def child_work():
    """In the forked child: allocate, check, exit with the verdict."""
    try:
        x = [bytearray(BLOCK) for _ in range(160)]
        ok = sum(len(b) for b in x) == 160 * BLOCK
        os._exit(0 if ok else 3)
    except BaseException:
        os._exit(4)


def forker():
    pid = os.fork()
    if pid == 0:
        child_work()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") \
        else (status >> 8)


def worker(n, k, go):
    go.wait()
    in_thread(n)
    keep_in_thread(k)


def main():
    out, scale = sys.argv[1], float(sys.argv[2])
    counts = [int(c * scale) or 1 for c in (800, 600, 400, 200)]
    kept = [int(c * scale) or 1 for c in (64, 48, 32, 16)]
    go = threading.Event()
    threads = [threading.Thread(target=worker, args=(n, k, go)) for n, k in zip(counts, kept)]
    for t in threads:
        t.start()
    go.set()
    child_status = forker()  # while the threads allocate
    data = bytes(range(256)) * 4096  # 1 MiB
    compress(data, int(20 * scale) or 1)
    global GROWN
    GROWN = grow(int(128 * scale) or 1, b"x" * BLOCK)
    for t in threads:
        t.join()
    sizes = sys.getsizeof(bytearray(BLOCK))
    truth = {
        "in_thread": sum(counts) * sizes,
        "keep_in_thread": sum(kept) * sizes,
        "grow_inuse": sys.getsizeof(GROWN),
        "child_status": child_status,
    }
    with open(out + ".tmp", "w") as f:
        f.write(repr(truth))
    os.rename(out + ".tmp", out)
    print("memory misc workload done")


if __name__ == "__main__":
    main()
