# SPDX-License-Identifier: BSD-2-Clause
# Workload for the `sampler-codes` test: code objects that die young.
# First it imports two dozen stdlib modules (their module bodies are freed
# once imported); then, for SECONDS of CPU time, it compiles a short
# function fn_<i> from a source file named <short-<i>>, runs it for a few
# milliseconds and drops it, while keeping a ring of strings and bytes the
# size of code objects alive, so that the memory of a freed code object is
# soon reused by another object (another code object, or a str).
#
# Every Python frame a profiler can show for the exec'd code is therefore
# fn_<i> in <short-<i>> with the same <i>, first line 2: anything else is a
# wrong name. Ground truth, as a Python literal in OUT: how many functions
# ran and the CPU time spent inside them (time.thread_time()).
# Usage: shortcode.py OUT SECONDS
import os
import sys
import time

MODULES = ("argparse", "ast", "base64", "bisect", "calendar", "configparser",
           "csv", "dataclasses", "datetime", "decimal", "difflib", "email",
           "email.message", "enum", "fractions", "gettext", "heapq",
           "ipaddress", "json", "logging", "pprint", "shlex", "statistics",
           "string", "textwrap", "tokenize", "uuid", "xml.dom.minidom")

# Shapes differ in their bodies (and so in the size of their code objects
# and line tables); {i} makes every constant, name and file distinct.
SHAPES = (
    "\ndef fn_{i}(n):\n    x = {i}\n    for k in range(n):\n"
    "        x = (x * 31 + k) % 1000003\n    return x\n",
    "\ndef fn_{i}(n):\n    s = 0\n    k = 0\n    while k < n:\n"
    "        s += (k ^ {i}) & 255\n        k += 1\n    return s\n",
    "\ndef fn_{i}(n):\n    acc = []\n    for k in range(n):\n"
    "        acc.append(k * {i})\n        if len(acc) > 64:\n"
    "            acc.clear()\n    return len(acc)\n",
)


def run_one(i, budget, junk):
    ns = {}
    src = SHAPES[i % len(SHAPES)].format(i=i)
    exec(compile(src, "<short-%d>" % i, "exec"), ns)
    fn = ns["fn_%d" % i]
    t0 = time.thread_time()
    spent = 0.0
    while spent < budget:
        fn(2000)
        spent = time.thread_time() - t0
    del fn, ns
    # Objects the size of code objects and their strings, to take over
    # the memory just freed.
    for k in range(8):
        junk[(i * 8 + k) % len(junk)] = (
            ("([\\\"]|[^\\ -~]) %d %d" % (i, k)) * (1 + k % 3),
            bytes(96 + 16 * k))
    return spent


def write_result(path, result):
    with open(path + ".tmp", "w") as f:
        f.write(repr(result))
    os.rename(path + ".tmp", path)


def main():
    out, seconds = sys.argv[1], float(sys.argv[2])
    t0 = time.thread_time()
    for m in MODULES:
        __import__(m)
    import_cpu = time.thread_time() - t0
    junk = [None] * 512
    start = time.thread_time()
    inside = 0.0
    i = 0
    while time.thread_time() - start < seconds:
        inside += run_one(i, 0.002 + 0.001 * (i % 3), junk)
        i += 1
    write_result(out, {"pid": os.getpid(), "version": sys.version.split()[0],
                       "functions": i, "fn_cpu": inside,
                       "import_cpu": import_cpu,
                       "cpu": time.thread_time()})


main()
