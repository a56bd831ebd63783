# SPDX-License-Identifier: BSD-2-Clause
# Workload for the calls-batching test: calls that end in the ways a batch
# of events can be left unsent. Threads that end right after fewer calls
# than a batch holds; calls right before os.fork() (the child calls on and
# leaves with os._exit(); pystrobe does not trace a fork's child); and the
# process leaving through os._exit() right after its last calls (no atexit,
# no outermost return). The calls of each function in this process go to
# OUT as a Python literal, {"calls": {fn: count}}, before the last ones.
# Usage: batching.py OUT THREADS
import os
import sys
import threading

N_THREAD = 1000  # calls per thread (plus k): its last batch is partial
N_CHILD = 777
N_EXIT = 333
N_FORK = 111  # just before the fork


def t_leaf(x):
    return x


def c_leaf(x):
    return x


def x_leaf(x):
    return x


def thread_body(n):
    for i in range(n):
        t_leaf(i)


def child_work():
    for i in range(N_CHILD):
        c_leaf(i)
    os._exit(0)


def p_leaf(x):
    return x


def last_calls():
    for i in range(N_EXIT):
        x_leaf(i)


def main():
    out, nthreads = sys.argv[1], int(sys.argv[2])
    ts = [threading.Thread(target=thread_body, args=(N_THREAD + k,)) for k in range(nthreads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for i in range(N_FORK):
        p_leaf(i)
    pid = os.fork()
    if pid == 0:
        child_work()
    os.waitpid(pid, 0)
    calls = {"t_leaf": sum(N_THREAD + k for k in range(nthreads)), "thread_body": nthreads,
             "p_leaf": N_FORK, "c_leaf": 0, "child_work": 0, "x_leaf": N_EXIT,
             "last_calls": 1}
    with open(out + ".tmp", "w") as f:
        f.write(repr({"calls": calls}))
    os.rename(out + ".tmp", out)
    sys.stdout.flush()
    last_calls()
    os._exit(0)


main()
