"""A small program with a known CPU profile, for `make demo`.

Each handle_request() spends about 20 % of its CPU time in parse(), 30 % in
transform() and 50 % in render(), below handle_request() and main(); a
helper thread spends its time in checksum().

The three functions cost different amounts per iteration, and those costs
differ between Python versions (render() is 2-4x dearer per iteration than
parse()), so the iteration counts are calibrated at start-up against the
thread's CPU clock. The shares actually obtained are measured the same way
(time.thread_time() around each call) and printed on stderr at the end, to
compare with the profile.
"""
import sys
import threading
import time

REQUEST_CPU_S = 0.010  # CPU time of one handle_request()
SHARES = {"parse": 0.20, "transform": 0.30, "render": 0.50}


def parse(n):
    total = 0
    for i in range(n):
        total += i % 7
    return total


def transform(n):
    return sum(i * i for i in range(n))


def render(n):
    # In lines of 100 numbers: what it allocates is freed line by line, so
    # it costs formatting, not page faults. (A list of all n strings, freed
    # at once, made CPython 3.12's allocator give its arenas back and map
    # them again on every call in some processes and not in others, and
    # not under `calls`: calls-demo-shares then had render() at 24-27 % of
    # the main thread against 46-48 % sampled, in all five runs.)
    size = 0
    line = []
    for i in range(n):
        line.append(str(i))
        if len(line) == 100:
            size += len(" ".join(line))
            line.clear()
    return size + len(" ".join(line))


FUNCS = {"parse": parse, "transform": transform, "render": render}


def calibrate():
    """Iterations per call giving each function its share of a request:
    a first estimate from short calls, refined at the real size (the cost
    per iteration grows with n: longer strings, a bigger list to free)."""
    counts = {}
    for name, func in FUNCS.items():
        n = 2000
        for _ in range(3):
            best = None
            for _ in range(3):
                t0 = time.thread_time()
                func(n)
                dt = time.thread_time() - t0
                best = dt if best is None or dt < best else best
            n = max(1, int(n * REQUEST_CPU_S * SHARES[name] / max(best, 1e-6)))
        counts[name] = n
    return counts


def handle_request(counts, spent):
    t0 = time.thread_time()
    parse(counts["parse"])
    t1 = time.thread_time()
    transform(counts["transform"])
    t2 = time.thread_time()
    render(counts["render"])
    t3 = time.thread_time()
    spent["parse"] += t1 - t0
    spent["transform"] += t2 - t1
    spent["render"] += t3 - t2


def checksum(stop):
    value = 0
    while not stop.is_set():
        for i in range(5000):
            value = (value * 31 + i) & 0xFFFFFFFF
        time.sleep(0.001)


def main(seconds=3.0):
    counts = calibrate()
    spent = dict.fromkeys(FUNCS, 0.0)
    stop = threading.Event()
    helper = threading.Thread(target=checksum, args=(stop,), name="checksum")
    helper.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        handle_request(counts, spent)
    stop.set()
    helper.join()
    total = sum(spent.values()) or 1.0
    sys.stderr.write("demo: measured shares of handle_request: %s\n" % ", ".join(
        "%s %.1f %%" % (name, 100.0 * spent[name] / total) for name in FUNCS))


if __name__ == "__main__":
    main()
