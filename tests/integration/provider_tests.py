# SPDX-License-Identifier: BSD-2-Clause
"""Integration tests of `pystrobe calls` and its USDT provider (provider/).

Run by tests/integration/run.py, which registers PER_INTERP (each test runs
once per interpreter: t_NAME(ctx, it)) and ONCE (t_NAME(ctx, interps)), in
its own style: a test returns a one-line summary of what it measured, or
raises the runner's Fail/Skip. The runner's helpers are reached through
its module (__main__), at call time.
"""
import os
import sys

R = sys.modules["__main__"]  # tests/integration/run.py


def stage_rows(doc):
    """Rows of the provider's own code (its staged sitecustomize.py)."""
    return [f for f in doc["functions"]
            if "pystrobe-provider" in f["file"] or f["name"].startswith("_pystrobe")]


def t_calls_startup(ctx, it):
    """Nothing of pystrobe's own start-up code, nor of the interpreter's
    start-up it runs inside (site, a user's sitecustomize), is recorded:
    recording starts with the program, and every return it saw matched."""
    n = 1234
    tout, hout = it.out("startup.out")
    usite_t = it.script("usersite")
    usite_h = it.host(usite_t)
    os.makedirs(usite_h, exist_ok=True)
    with open(os.path.join(usite_h, "sitecustomize.py"), "w") as f:
        f.write("import sys\n\n\ndef user_site_func():\n    return 'ran'\n\n\n"
                "sys._startup_marker = user_site_func()\n")
    prof = os.path.join(ctx.tmp, "%s-startup.json" % it.label)
    env = R.workload_env()
    env["PYTHONPATH"] = usite_t
    rc, out, err, dt = R.run([ctx.pystrobe, "calls", "-f", "json", "-o", prof, "--"]
                             + it.argv("startup.py", tout, n), 120, env=env)
    R.check(rc == 0, "exit status %d: %s" % (rc, R.tail(err)))
    doc = R.calls_load(prof, err)
    truth = read_truth(hout)
    errs = []
    rows = {f["name"]: f for f in doc["functions"] if f["file"].endswith("/startup.py")}
    for name, want in truth["calls"].items():
        got = rows.get(name, {}).get("calls")
        if got != want:
            errs.append("%s calls=%s, expected %d" % (name, got, want))
    if truth["user_sitecustomize"] != "ran":
        errs.append("the user's sitecustomize did not run (marker %r)" % truth["user_sitecustomize"])
    if truth["pythonpath"] != usite_t:
        errs.append("PYTHONPATH seen by the program %r, expected %r" % (truth["pythonpath"], usite_t))
    own = stage_rows(doc)
    if own:
        errs.append("pystrobe's own frames recorded: %s" % [f["name"] for f in own])
    startup = [f["name"] for f in doc["functions"]
               if f["name"] == "user_site_func" or f["file"].endswith("/sitecustomize.py")
               or f["file"].endswith("site.py") or f["file"] == "<frozen site>"]
    if startup:
        errs.append("start-up frames recorded: %s" % startup)
    modules = [f["file"] for f in doc["functions"]
               if f["name"] == "<module>" and not f["file"].endswith("/startup.py")]
    if modules:
        errs.append("imports recorded though the program imports nothing: %s" % modules)
    unmatched = doc["lost"].get("returns_unmatched")
    if unmatched:
        errs.append("returns_unmatched=%d (a frame entered before recording started)" % unmatched)
    others = sorted(f["name"] for f in doc["functions"] if not f["file"].endswith("/startup.py"))
    msg = "%d functions; others: %s" % (len(doc["functions"]), ", ".join(others) or "none")
    if errs:
        raise R.Fail("; ".join(errs) + " [" + msg + "]")
    return msg


def read_truth(path):
    return R.read_result(path)


PER_INTERP = [
    ("calls-startup", t_calls_startup, True),
]
ONCE = []
