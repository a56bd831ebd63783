# SPDX-License-Identifier: BSD-2-Clause
# Workload for the `cmd` test: burns ~BURN seconds of CPU in startup_burn at
# module level right at start-up, prints markers on stdout and stderr and
# exits with status 7. Writes the CPU time of startup_burn and of the whole
# process (time.process_time(), which counts from process creation).
# Usage: cmd.py OUT BURN_SECONDS
import os
import sys
import time


def startup_burn(seconds):
    t0 = time.thread_time()
    while time.thread_time() - t0 < seconds:
        x = 0
        for i in range(5000):
            x = (x * 31 + i) % 1000003
    return time.thread_time() - t0


burned = startup_burn(float(sys.argv[2]))
sys.stdout.write("pystrobe-cmd-stdout-marker\n")
sys.stdout.flush()
sys.stderr.write("pystrobe-cmd-stderr-marker\n")
sys.stderr.flush()
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(repr({
        "pid": os.getpid(),
        "version": sys.version.split()[0],
        "file": startup_burn.__code__.co_filename,
        "burn_cpu": burned,
        "process_cpu": time.process_time(),
    }))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
sys.exit(7)
