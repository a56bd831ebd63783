# SPDX-License-Identifier: BSD-2-Clause
# Workload for the call-tracing tests: makes a known number of calls of each
# function and writes what it did, measured by itself, as a Python literal
# to OUT: expected counts per function, the wall time of fib(20) and of the
# sleep inside sleeper(), and its thread CPU time there.
# Usage: calls.py OUT SCALE [EXIT_CODE [GO_FILE]]
#   SCALE multiplies the big loop (1 000 000 calls at SCALE 10).
#   GO_FILE: wait until it exists before the counted work (for -p attach).
import sys
import threading
import time

try:
    import asyncio
except ImportError:  # python3.X-minimal: coroutines driven by hand below
    asyncio = None


def leaf(x):
    return x + 1


def tiny():
    pass


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def fib_calls(n):
    return 1 if n < 2 else 1 + fib_calls(n - 1) + fib_calls(n - 2)


def gen(n):
    for i in range(n):
        yield i


class Counter:
    def method(self, x):
        return x * 2


def boom():
    raise ValueError("boom")


def catcher():
    try:
        boom()
    except ValueError:
        pass


def sleeper(seconds):
    time.sleep(seconds)


def burner(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def worker(n):
    for _ in range(n):
        leaf(0)


class Suspend:
    """Awaitable that suspends its awaiter once, like asyncio.sleep(0)."""

    def __await__(self):
        yield


async def coro(i):
    await (asyncio.sleep(0) if asyncio else Suspend())
    return i


async def gather(n):
    return await asyncio.gather(*(coro(i) for i in range(n)))


def run_coros(n):
    """Runs coro(0..n-1) to the end: with asyncio if there is one, else
    each resumed once after its suspension, as an event loop would."""
    if asyncio:
        return asyncio.run(gather(n))
    pending = [coro(i) for i in range(n)]
    results = []
    while pending:
        for c in list(pending):
            try:
                c.send(None)
            except StopIteration as e:
                results.append(e.value)
                pending.remove(c)
    return results


def main():
    out, scale = sys.argv[1], int(sys.argv[2])
    code = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    if len(sys.argv) > 4:
        import os.path

        with open(sys.argv[4] + ".ready", "w"):
            pass
        while not os.path.exists(sys.argv[4]):
            time.sleep(0.01)
    res = {"version": "%d.%d" % sys.version_info[:2]}
    for i in range(1000):
        leaf(i)
    for _ in range(100000 * scale):
        tiny()
    t0 = time.perf_counter()
    fib(20)
    res["fib_wall"] = time.perf_counter() - t0
    res["gen_items"] = sum(1 for _ in gen(100))
    c = Counter()
    for i in range(500):
        c.method(i)
    for _ in range(50):
        catcher()
    t0, c0 = time.perf_counter(), time.thread_time()
    sleeper(0.2)
    res["sleep_wall"] = time.perf_counter() - t0
    res["sleep_cpu"] = time.thread_time() - c0
    t0, c0 = time.perf_counter(), time.thread_time()
    burner(0.1)
    res["burn_wall"] = time.perf_counter() - t0
    res["burn_cpu"] = time.thread_time() - c0
    threads = [threading.Thread(target=worker, args=(300,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run_coros(50)
    res["calls"] = {
        "leaf": 1000 + 2 * 300,
        "tiny": 100000 * scale,
        "fib": fib_calls(20),
        "gen": 1,
        "method": 500,
        "catcher": 50,
        "boom": 50,
        "sleeper": 1,
        "burner": 1,
        "worker": 2,
        "coro": 50,
    }
    res["resumes"] = {"gen": 100, "coro": 50}
    res["unwinds"] = {"boom": 50}
    with open(out + ".tmp", "w") as f:
        f.write(repr(res))
    import os

    os.rename(out + ".tmp", out)
    print("calls workload done")
    sys.exit(code)


main()
