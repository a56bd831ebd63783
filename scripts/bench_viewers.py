#!/usr/bin/env python3
"""How fast the HTML report opens: synthetic profiles of many distinct
stacks (tests/integration/pprof_gen.py), rendered by `pystrobe report -o
x.html`, opened in headless Chromium (tests/integration/browser.js, the
tools of scripts/install-viewers.sh) several times each.

    python3 scripts/bench_viewers.py --pystrobe ./pystrobe [--runs 5]
        [--stacks 10000,100000]

Prints, per size: the page's size, the median time `report` took to write
it, and the median time to first render (from navigation start to the end
of the page's first draw, the page's own performance.now()) with every run.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
IT = os.path.join(os.path.dirname(HERE), "tests", "integration")
NPM = os.path.join(os.environ.get("PYSTROBE_CACHE", "/var/cache/pystrobe"), "npm")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pystrobe", default="./pystrobe")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--stacks", default="10000,100000")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="pystrobe-bench-viewers-")
    env = dict(os.environ, PYSTROBE_NPM=NPM)
    print("| distinct stacks | tree nodes (all threads) | page MB | report -o x.html, median s "
          "| first render, median ms | runs (ms) |")
    print("|---|---|---|---|---|---|")
    for n in [int(x) for x in a.stacks.split(",")]:
        prof = os.path.join(tmp, "s%d.pb.gz" % n)
        page = os.path.join(tmp, "s%d.html" % n)
        gen = json.loads(subprocess.run(["python3", os.path.join(IT, "pprof_gen.py"), prof,
                                         str(n)], check=True, capture_output=True,
                                        text=True).stdout)
        writes, renders = [], []
        for _ in range(a.runs):
            t = time.monotonic()
            subprocess.run([a.pystrobe, "report", prof, "-o", page], check=True)
            writes.append(time.monotonic() - t)
            seen = json.loads(subprocess.run(
                ["node", os.path.join(IT, "browser.js"), "html", page,
                 os.path.join(tmp, "s.png")], check=True, capture_output=True, text=True,
                env=env).stdout)
            if seen["errors"]:
                raise SystemExit("page errors: %s" % seen["errors"])
            renders.append(seen["first_render_ms"])
        print("| %d | %d | %.1f | %.2f | %.0f | %s |" % (
            n, gen["merged_nodes"], os.path.getsize(page) / 1e6, statistics.median(writes),
            statistics.median(renders), " ".join("%.0f" % r for r in renders)))


if __name__ == "__main__":
    main()
