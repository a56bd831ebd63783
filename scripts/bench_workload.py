"""CPU-bound pure-Python work of a fixed size, at a chosen stack depth.

Prints the seconds the work itself took (start-up excluded), so profiled and
unprofiled runs compare the same thing: wall-clock seconds, then the
thread's CPU seconds (which include the timer interrupts the thread takes,
and not the time other processes of a shared machine take from it).
"""
import sys
import time


def work(n):
    total = 0
    for i in range(n):
        total += (i * i) % 7
    return total


def descend(depth, n):
    if depth <= 1:
        return work(n)
    return descend(depth - 1, n)


def main():
    depth = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    sys.setrecursionlimit(10000)
    start, cpu = time.perf_counter(), time.thread_time()
    for _ in range(rounds):
        descend(depth, 200000)
    print("%.6f %.6f" % (time.perf_counter() - start, time.thread_time() - cpu))


if __name__ == "__main__":
    main()
