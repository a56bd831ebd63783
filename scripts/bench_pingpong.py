"""Two threads ping-ponging one byte over a pair of pipes: a context switch
per message. Prints the seconds the exchange itself took."""
import os
import sys
import threading
import time


def echo(rfd, wfd, n):
    for _ in range(n):
        os.write(wfd, os.read(rfd, 1))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
    a_r, a_w = os.pipe()
    b_r, b_w = os.pipe()
    t = threading.Thread(target=echo, args=(a_r, b_w, n))
    t.start()
    start = time.perf_counter()
    for _ in range(n):
        os.write(a_w, b"x")
        os.read(b_r, 1)
    elapsed = time.perf_counter() - start
    t.join()
    print("%.6f" % elapsed)


if __name__ == "__main__":
    main()
