#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""pystrobe integration tests: real target processes, real BPF.

Runs each test against each interpreter listed by `bash scripts/pythons.sh`
(lines `LABEL ROOT PYTHON_PATH`; ROOT `/` is the host, anything else is run
with `chroot ROOT PYTHON_PATH`). The workloads in tests/workloads measure
their own ground truth (thread CPU time per function or thread) and write it
as a Python literal; the tests compare pystrobe's profiles with it.

    python3 tests/integration/run.py --pystrobe ./pystrobe [--only L1,L2]
        [--area AREA[,AREA]] [--test NAME[,NAME]] [--quick] [-v] [--keep] [--list]

The tests are in one module per area beside this file (sampling.py,
offcpu.py, containers.py, calls.py, badinput.py: `--list` shows them);
harness.py runs them (see its docstring to add one). Prints one line per
(test, interpreter) with PASS/FAIL/SKIP and the measured numbers, then a
summary; exits 1 if anything failed. Only the stdlib is used. Every
subprocess has a timeout. After every test, no BPF program named ps_* or pc_*
(nor a link of one) may be left without a live owner.
"""

import sys

sys.dont_write_bytecode = True  # no __pycache__ in the tree from the area modules

import harness  # noqa: E402 (after the line above)

if __name__ == "__main__":
    sys.exit(harness.main(__doc__.split("\n\n")[0]))
