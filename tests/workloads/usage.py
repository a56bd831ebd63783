# SPDX-License-Identifier: BSD-2-Clause
# Workload for the resource timeline test: alternates phases of PHASE
# seconds, for ROUNDS rounds:
#   burn   a CPU loop
#   sleep  10 ms sleeps
# after the first burn it allocates and touches ALLOC MiB (kept to the end);
# in the second sleep phase it writes WRITE MiB to a new file under DIR and
# fsyncs it. Every ~5 ms it notes its own counters: (wall clock ns, process
# CPU ns, resident bytes (None without /proc), voluntary and involuntary
# context switches of all its threads), so the test can tell what the
# process did in any window. Writes them, the phases and the write window as a Python literal
# to OUT (stdlib only).
# Usage: usage.py OUT PHASE ROUNDS DIR [ALLOC_MIB WRITE_MIB]
import os
import resource
import sys
import time

ALLOC_MIB = 64
WRITE_MIB = 8
PAGE = os.sysconf("SC_PAGE_SIZE")


def counters():
    ru = resource.getrusage(resource.RUSAGE_SELF)  # every thread's switches
    try:
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * PAGE
    except OSError:
        rss = None  # a root without /proc
    return (time.time_ns(), time.process_time_ns(), rss, ru.ru_nvcsw, ru.ru_nivcsw)


def burn(seconds, notes):
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        next_note = time.monotonic() + 0.005
        while time.monotonic() < next_note:
            for i in range(100):
                x = (x * 31 + i) % 1000003
        notes.append(counters())
    return x


def nap(seconds, notes):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.01)
        notes.append(counters())


def main():
    out, phase, rounds, wdir = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    alloc_mib = int(sys.argv[5]) if len(sys.argv) > 5 else ALLOC_MIB
    write_mib = int(sys.argv[6]) if len(sys.argv) > 6 else WRITE_MIB
    notes = [counters()]
    phases = []
    keep = None
    write = None
    for r in range(rounds):
        t0 = time.time_ns()
        burn(phase, notes)
        phases.append(("burn", t0, time.time_ns()))
        if r == 0:
            before = counters()
            keep = b"\x01" * (alloc_mib << 20)  # written, so resident
            notes.append(counters())
            alloc = (before[0], notes[-1][0], len(keep))
        t0 = time.time_ns()
        if r == 1:
            path = os.path.join(wdir, "usage-%d.bin" % os.getpid())
            data = b"\x02" * (write_mib << 20)
            w0 = time.time_ns()
            with open(path, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            write = (w0, time.time_ns(), len(data))
            notes.append(counters())
        nap(phase - (time.time_ns() - t0) / 1e9, notes)
        phases.append(("sleep", t0, time.time_ns()))
    notes.append(counters())
    res = {"pid": os.getpid(), "notes": notes, "phases": phases, "alloc": alloc,
           "write": write, "kept": len(keep)}
    with open(out + ".tmp", "w") as f:
        f.write(repr(res))
    os.rename(out + ".tmp", out)


if __name__ == "__main__":
    main()
