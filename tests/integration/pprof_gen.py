# SPDX-License-Identifier: BSD-2-Clause
"""Writes synthetic pprof profiles (profile.proto, gzipped) for the viewer
tests and benchmark: many distinct stacks of Python frames, to check that the
HTML report stays usable at that size. Only the stdlib.

    python3 pprof_gen.py OUT.pb.gz STACKS [SEED]

prints {"stacks": N, "functions": F, "nodes": distinct stack-tree nodes
(thread roots included), "merged_nodes": nodes with all threads merged
(one root), "threads": T, "total": sum of samples} as JSON.
"""

import gzip
import json
import random
import sys


def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def field_bytes(num, b):
    return varint(num << 3 | 2) + varint(len(b)) + b


def packed(num, values):
    return field_bytes(num, b"".join(varint(v) for v in values))


class Writer:
    def __init__(self):
        self.strings = {"": 0}
        self.table = [""]

    def s(self, text):
        if text not in self.strings:
            self.strings[text] = len(self.table)
            self.table.append(text)
        return self.strings[text]


def generate(path, nr_stacks, seed=1, threads=8, branching=6, levels=7, max_tail=8):
    """Stacks share prefixes like a call tree: the first `levels` frames of
    stack i are the base-`branching` digits of a distinct random number (a
    path in a regular tree), then a random tail of up to max_tail frames."""
    rnd = random.Random(seed)
    w = Writer()
    nr_funcs = 4000
    names = ["%s_%d" % (rnd.choice(["handle", "parse", "load", "compute", "render", "query",
                                     "encode", "visit", "update", "check"]), i)
             for i in range(nr_funcs)]
    files = ["/srv/app/mod%d.py" % (i % 97) for i in range(nr_funcs)]
    space = branching ** levels
    picks = rnd.sample(range(space), nr_stacks)
    stacks = []
    for i, n in enumerate(picks):
        frames = []  # root first
        prefix = 0
        for lvl in range(levels):
            digit = (n // branching ** (levels - 1 - lvl)) % branching
            prefix = prefix * branching + digit
            frames.append((prefix * 2654435761 + lvl * 40503) % nr_funcs)
        for _ in range(rnd.randrange(max_tail + 1)):
            frames.append(rnd.randrange(nr_funcs))
        stacks.append((i % threads, frames, rnd.randint(1, 100)))

    body = bytearray()
    body += field_bytes(1, field_varint(1, w.s("samples")) + field_varint(2, w.s("count")))
    pid, tid_base = 4242, 4242
    total = 0
    for tid, frames, v in stacks:
        locs = [f + 1 for f in reversed(frames)]  # leaf first; location i+1 = function i
        labels = (field_bytes(3, field_varint(1, w.s("pid")) + field_varint(3, pid))
                  + field_bytes(3, field_varint(1, w.s("tid")) + field_varint(3, tid_base + tid))
                  + field_bytes(3, field_varint(1, w.s("thread_name"))
                                + field_varint(2, w.s("worker-%d" % tid)))
                  + field_bytes(3, field_varint(1, w.s("comm")) + field_varint(2, w.s("python3"))))
        body += field_bytes(2, packed(1, locs) + packed(2, [v]) + labels)
        total += v
    body += field_bytes(3, field_varint(1, 1) + field_varint(5, w.s("[python]")))
    for f in range(nr_funcs):
        line = field_bytes(4, field_varint(1, f + 1) + field_varint(2, 10 + f % 50))
        body += field_bytes(4, field_varint(1, f + 1) + field_varint(2, 1) + line)
    for f in range(nr_funcs):
        body += field_bytes(5, field_varint(1, f + 1) + field_varint(2, w.s(names[f]))
                            + field_varint(3, w.s(names[f])) + field_varint(4, w.s(files[f]))
                            + field_varint(5, 10 + f % 50))
    strings = b"".join(field_bytes(6, t.encode()) for t in w.table)
    with gzip.open(path, "wb", compresslevel=3) as out:
        out.write(bytes(body) + strings)

    # The stack tree the HTML page builds: one root per thread, then
    # distinct (parent, function) children along each stack.
    nodes = set()
    for tid, frames, _ in stacks:
        key = ("t", tid)
        nodes.add(key)
        for f in frames:
            key = (key, f)
            nodes.add(key)
    # All threads merged (the page's first view): one root.
    merged = {()}
    for _, frames, _ in stacks:
        for d in range(1, len(frames) + 1):
            merged.add(tuple(frames[:d]))
    used = set(f for _, frames, _ in stacks for f in frames)
    return {"stacks": len(stacks), "functions": len(used), "nodes": len(nodes),
            "merged_nodes": len(merged), "threads": threads, "total": total}


if __name__ == "__main__":
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    print(json.dumps(generate(sys.argv[1], int(sys.argv[2]), seed)))
