# SPDX-License-Identifier: BSD-2-Clause
# Workload for the findings tests: planted problems, each beside a control
# that looks similar but does not have it.
#
# PHASE calls (run under `pystrobe calls`):
#   cheap()       called 20 000 times from hammer(): planted repeated_call
#   expensive()   as long as those 20 000 calls, in one call: control
#   tiny()        called 2 000 times from main(), a small share: control
# PHASE record (run under `pystrobe record --wall`), each for SECONDS:
#   hot()         one line holds its CPU time: planted hot_line
#   spread()      as much CPU time over ten lines: control
#   wait_lock()   waits on a lock a helper thread holds: planted lock_wait
#   nap()         sleeps as long: planted sleep_wait, control for lock_wait
#   fetch()       reads a pipe a helper writes to later: planted io_wait
#
# Lines that matter end in a "planted: NAME" comment; the workload finds them
# in its own source and writes them, with its functions' first lines and what
# it measured itself (calls, wall and CPU times), as a Python literal to OUT.
# Usage: findings.py OUT PHASE SECONDS (SECONDS: record's phase length)
import os
import sys
import threading
import time


MARK = "# " + "planted: "  # (so that this line is not one)


def planted_lines():
    lines = {}
    with open(__file__) as f:
        for i, ln in enumerate(f, 1):
            if MARK in ln:
                lines[ln.rsplit(MARK, 1)[1].strip()] = i
    return lines


def spin(seconds):
    """Iterations of a one-line loop that take about `seconds` here."""
    n, t0 = 20000, time.perf_counter()
    while True:
        s = 0
        for i in range(n): s += i  # noqa: E701 (one line, like hot's)
        dt = time.perf_counter() - t0
        if dt > 0.02:
            return max(1, int(n * seconds / dt))
        n *= 4
        t0 = time.perf_counter()


# ---- calls ----


def cheap(x):
    s = 0
    for i in range(40):
        s += i * x
    return s


def hammer(n):
    for i in range(n):
        cheap(i)  # planted: cheap call


def expensive(seconds):
    end = time.perf_counter() + seconds
    s = 0
    while time.perf_counter() < end:
        for i in range(2000):
            s += i % 7
    return s


def tiny(x):
    return x + 1


def phase_calls(res, seconds):
    t0 = time.perf_counter()
    hammer(20000)
    res["hammer_wall"] = time.perf_counter() - t0
    # As long as the 20 000 cheap calls took, in one call.
    t0 = time.perf_counter()
    expensive(res["hammer_wall"])
    res["expensive_wall"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(2000):
        tiny(i)
    res["tiny_wall"] = time.perf_counter() - t0
    res["calls"] = {"cheap": 20000, "hammer": 1, "expensive": 1, "tiny": 2000}


# ---- record ----


def hot(iters):
    s = 0
    for i in range(iters): s += i  # noqa: E701  # planted: hot line
    return s


def spread(iters):
    k = iters // 10
    s = 0
    for i in range(k): s += i  # noqa: E701  # planted: spread 1
    for i in range(k): s += i  # noqa: E701
    for i in range(k): s += i  # noqa: E701
    for i in range(k): s += i  # noqa: E701
    for i in range(k): s += i  # noqa: E701
    for i in range(k): s += i  # noqa: E701
    for i in range(k): s += i  # noqa: E701
    for i in range(k): s += i  # noqa: E701
    for i in range(k): s += i  # noqa: E701
    for i in range(k): s += i  # noqa: E701  # planted: spread 10
    return s


def wait_lock(lock):
    lock.acquire()  # planted: lock wait
    lock.release()


def nap(seconds):
    time.sleep(seconds)  # planted: sleep


def fetch(fd):
    return os.read(fd, 1)  # planted: io wait


def holder(lock, held, seconds):
    with lock:
        held.set()
        time.sleep(seconds)


def writer(fd, seconds):
    time.sleep(seconds)
    os.write(fd, b"x")


def timed(res, name, fn, *args):
    w0, c0 = time.perf_counter(), time.thread_time()
    fn(*args)
    res["wall"][name] = time.perf_counter() - w0
    res["cpu"][name] = time.thread_time() - c0


def phase_record(res, seconds):
    res["wall"], res["cpu"] = {}, {}
    iters = spin(seconds)
    timed(res, "hot", hot, iters)
    timed(res, "spread", spread, iters)
    lock, held = threading.Lock(), threading.Event()
    t = threading.Thread(target=holder, args=(lock, held, 1.5 * seconds))
    t.start()
    held.wait()
    timed(res, "wait_lock", wait_lock, lock)
    t.join()
    timed(res, "nap", nap, 1.5 * seconds)
    r, w = os.pipe()
    t = threading.Thread(target=writer, args=(w, 1.5 * seconds))
    t.start()
    timed(res, "fetch", fetch, r)
    t.join()
    os.close(r)
    os.close(w)


def main():
    out, phase, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    res = {"version": "%d.%d" % sys.version_info[:2], "lines": planted_lines(),
           "first_lines": dict((fn.__name__, fn.__code__.co_firstlineno) for fn in (
               cheap, hammer, expensive, tiny, hot, spread, wait_lock, nap, fetch,
               holder, writer, main))}
    w0, c0 = time.perf_counter(), time.process_time()
    {"calls": phase_calls, "record": phase_record}[phase](res, seconds)
    res["total_wall"] = time.perf_counter() - w0
    res["total_cpu"] = time.process_time() - c0
    with open(out + ".tmp", "w") as f:
        f.write(repr(res))
    os.rename(out + ".tmp", out)


main()
