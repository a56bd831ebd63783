# SPDX-License-Identifier: BSD-2-Clause
"""`pystrobe calls` and its USDT provider (provider/): the tool's own
start-up code hidden, 3.9/3.10 qualified names, slim roots without headers,
one provider binary for every version."""
import glob
import os
import shutil
import subprocess
import sys

import harness as R
from calls import calls_load, check_counts, check_lost_zero
from harness import once, per_interp


def stage_rows(doc):
    """Rows of the provider's own code (its staged sitecustomize.py)."""
    return [f for f in doc["functions"]
            if "pystrobe-provider" in f["file"] or f["name"].startswith("_pystrobe")]


@per_interp("calls-startup", order=131, quick=True)
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
    doc = calls_load(prof, err)
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
    if not truth["threading"]:
        th = [f["name"] for f in doc["functions"] if f["file"].endswith("threading.py")]
        if th:
            errs.append("threading's code recorded though the program never imported it: %s" % th)
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


@per_interp("calls-qualnames", order=132, quick=True)
def t_calls_qualnames(ctx, it):
    """Functions are named by their qualified names on every version, 3.9
    and 3.10 (no co_qualname) included: methods, static and class methods,
    properties, nested classes, closures, wrappers, lambdas, generator
    expressions and class bodies, against the names the interpreter gives
    the objects themselves."""
    tout, hout = it.out("qualnames.out")
    prof = os.path.join(ctx.tmp, "%s-qualnames.json" % it.label)
    rc, out, err, dt = R.run([ctx.pystrobe, "calls", "-f", "json", "-o", prof, "--"]
                             + it.argv("qualnames.py", tout), 120, env=R.workload_env())
    R.check(rc == 0, "exit status %d: %s" % (rc, R.tail(err)))
    doc = calls_load(prof, err)
    truth = read_truth(hout)
    rows = {}
    for f in doc["functions"]:
        if f["file"].endswith("/qualnames.py"):
            rows[f["name"]] = rows.get(f["name"], 0) + f["calls"]
    errs = ["%s: calls=%s, expected %d" % (q, rows.get(q), n)
            for q, n in sorted(truth.items()) if rows.get(q) != n]
    extra = sorted(set(rows) - set(truth) - {"<module>", "main", "deco"})
    if errs:
        raise R.Fail("; ".join(errs[:8]) + " [rows: %s]" % ", ".join(sorted(rows)))
    return "%d qualified names exact%s" % (len(truth), "; also %s" % extra if extra else "")


VERSIONS = ["3.%d" % m for m in range(9, 16)]  # what the provider supports


def slim_interps(ctx):
    """The slim roots' interpreters (scripts/pythons.sh --slim), set up."""
    r = subprocess.run(["bash", os.path.join(R.REPO, "scripts", "pythons.sh"), "--slim"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    out = []
    for line in r.stdout.decode().splitlines():
        parts = line.split()
        if len(parts) == 3:
            it = R.Interp(*parts)
            if it.exists():
                it.setup(ctx.run_id)
                out.append(it)
    return out


def headers_in(root):
    return [p for p in glob.glob(os.path.join(root, "usr", "**", "Python.h"), recursive=True)]


@once("calls-slim", order=131, quick=True)
def t_calls_slim(ctx, interps):
    """calls -- chroot ROOT python3.X in roots that hold the interpreter
    alone (no headers anywhere): the provider `make` built loads and the
    counts are exact. Nothing is built here."""
    slim = slim_interps(ctx)
    if not slim:
        raise R.Skip("no slim roots (scripts/provision-pythons.sh makes them)")
    msgs, errs = [], []
    for it in slim:
        hdrs = headers_in(it.root)
        if hdrs:
            errs.append("%s: the root is not slim: %s" % (it.label, hdrs[:2]))
            continue
        tout, hout = it.out("calls.out")
        prof = os.path.join(ctx.tmp, "%s-slim.json" % it.label)
        rc, out, err, dt = R.run([ctx.pystrobe, "calls", "-f", "json", "-o", prof, "--"]
                                 + it.argv("calls.py", tout, 1, 3), 180, env=R.workload_env())
        if rc != 3 or b"provider not loaded" in err:
            errs.append("%s: exit status %d (want 3): %s" % (it.label, rc, R.tail(err)))
            continue
        doc = calls_load(prof, err)
        truth = R.read_result(hout)
        e = []
        check_counts(doc, truth, e)
        check_lost_zero(doc, e)
        errs += ["%s: %s" % (it.label, x) for x in e]
        msgs.append("%s %s (%s)" % (it.label, "exact" if not e else "WRONG", truth["version"]))
    if errs:
        raise R.Fail("; ".join(errs[:8]) + " [" + "; ".join(msgs) + "]")
    return "; ".join(msgs)


@once("provider-build", order=132, quick=True)
def t_provider_build(ctx, interps):
    """build-provider.sh with no host headers (PYSTROBE_HOST_HEADERS=0, no
    pyenv or root headers ever used): headers come from the fetched Debian
    package in the cache, every version 3.9-3.15 gets the module, and it
    loads into every interpreter here, the slim ones included."""
    out_dir = os.path.join(ctx.tmp, "provider-build")
    env = dict(R.workload_env(), PYSTROBE_HOST_HEADERS="0")
    for k in ("PYSTROBE_CACHE", "PYSTROBE_MIRROR"):
        if os.environ.get(k):
            env[k] = os.environ[k]
    rc, out, err, dt = R.run(["bash", os.path.join(R.REPO, "scripts", "build-provider.sh"),
                              out_dir], 900, env=env)
    R.check(rc == 0, "build-provider.sh exited %d: %s" % (rc, R.tail(err)))
    cache = os.environ.get("PYSTROBE_CACHE", "/var/cache/pystrobe")
    line = [l for l in err.decode().splitlines() if "stable ABI" in l]
    R.check(line and os.path.join(cache, "headers") in line[0],
            "not built from the fetched headers: %s" % R.tail(err))
    missing = [v for v in VERSIONS
               if not os.path.exists(os.path.join(out_dir, v, "_pystrobe_provider.so"))]
    R.check(not missing, "no module for %s" % missing)
    loaded, errs = [], []
    for it in [i for i in interps if i.exists()] + slim_interps(ctx):
        if not it.tdir:
            it.setup(ctx.run_id)
        dst = os.path.join(it.hdir, "provider-build")
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(out_dir, dst)
        code = ("import sys, _pystrobe_provider as p; "
                "print('%d.%d' % sys.version_info[:2], p.enabled(), p.tool_id())")
        pre = [] if it.root == "/" else ["chroot", it.root]
        ver = it.label.split("-")[0]
        wenv = dict(R.workload_env(), PYTHONPATH="%s/provider-build/%s" % (it.tdir, ver))
        rc, o, e, _ = R.run(pre + [it.python, "-c", code], 60, env=wenv)
        got = o.decode().split()
        if rc != 0 or not got or got[0] != ver or got[1] != "False":
            errs.append("%s: %s" % (it.label, R.tail(e) or o.decode()))
        else:
            loaded.append(it.label)
    if errs:
        raise R.Fail("; ".join(errs) + " [loaded in %s]" % " ".join(loaded))
    return "%s; loaded in %d interpreters: %s" % (line[0].split("build-provider: ")[-1],
                                                  len(loaded), " ".join(loaded))

