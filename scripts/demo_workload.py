"""A small program with a known CPU profile, for `make demo`.

parse() ~20 %, transform() ~30 %, render() ~50 % of the CPU time, below
handle_request() and main(); a helper thread spends its time in checksum().
"""
import threading
import time


def parse(n):
    total = 0
    for i in range(n):
        total += i % 7
    return total


def transform(n):
    return sum(i * i for i in range(n))


def render(n):
    out = []
    for i in range(n):
        out.append(str(i))
    return len("".join(out))


def handle_request():
    parse(20000)
    transform(30000)
    render(32000)


def checksum(stop):
    value = 0
    while not stop.is_set():
        for i in range(5000):
            value = (value * 31 + i) & 0xFFFFFFFF
        time.sleep(0.001)


def main(seconds=3.0):
    stop = threading.Event()
    helper = threading.Thread(target=checksum, args=(stop,), name="checksum")
    helper.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        handle_request()
    stop.set()
    helper.join()


if __name__ == "__main__":
    main()
