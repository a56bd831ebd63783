# SPDX-License-Identifier: BSD-2-Clause
"""pystrobe's start-up hook for `pystrobe calls -- CMD`.

pystrobe puts the directory holding this file on PYTHONPATH, with the
_pystrobe_provider module built for the interpreter's minor version either
beside it or in its 3.X subdirectory; site imports this file at start-up.
It loads the provider (which fires pystrobe's USDT probes while pystrobe is
attached), then leaves no trace: its directory goes from sys.path and from
os.environ["PYTHONPATH"] (so child processes run untouched: a child
interpreter is traced only if pystrobe sets it up again), and the
sitecustomize that would have run without it, if any, runs in its place.
Nothing is printed unless the provider cannot be loaded.
"""
import os
import sys


def _pystrobe_same_dir(entry, here):
    if not entry:  # "" is the current directory: never ours to remove
        return False
    try:
        return os.path.realpath(entry) == here
    except (OSError, ValueError):
        return False


def _pystrobe_start():
    here = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
    # Two layouts: DIR/3.X/{sitecustomize.py,_pystrobe_provider.so} with
    # DIR/3.X on PYTHONPATH, or DIR/sitecustomize.py and
    # DIR/3.X/_pystrobe_provider.so with DIR on PYTHONPATH.
    version = "%d.%d" % sys.version_info[:2]
    sub = os.path.join(here, version)
    if os.path.isdir(sub):
        sys.path.insert(0, sub)
    try:
        import _pystrobe_provider  # noqa: F401
    except Exception as e:  # an ImportError, or anything its init raised
        sys.stderr.write("pystrobe: provider not loaded: %s (Python %s)\n"
                         % (e, version))

    sys.path[:] = [p for p in sys.path
                   if p != sub and not _pystrobe_same_dir(p, here)]
    pythonpath = os.environ.get("PYTHONPATH")
    if pythonpath is not None:
        kept = [p for p in pythonpath.split(os.pathsep)
                if not _pystrobe_same_dir(p, here)]
        if kept:
            os.environ["PYTHONPATH"] = os.pathsep.join(kept)
        else:
            del os.environ["PYTHONPATH"]

    # Run the next sitecustomize on the path under the same name, as site
    # would have (its errors reach site's own handler). importlib puts back
    # whatever sys.modules["sitecustomize"] holds once this file finishes,
    # so it must hold a module: the next one, or this one if there is none.
    # (__import__ rather than importlib.util, which would import typing and
    # re on 3.9.)
    me = sys.modules.pop("sitecustomize", None)
    try:
        __import__("sitecustomize")
    except ImportError as e:
        if e.name != "sitecustomize":
            raise
        if me is not None:
            sys.modules["sitecustomize"] = me


_pystrobe_start()
del _pystrobe_start, _pystrobe_same_dir
