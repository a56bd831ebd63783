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

Nothing of the interpreter's start-up is recorded: this file's own work
happens before the provider's start() switches events on, and start(True)
leaves out the frames running at that moment (site's, this file's) and
everything they still call (the next sitecustomize, usercustomize), so that
recording starts with the program's first frame.
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


def _pystrobe_load():
    """Imports the provider (events still off) and removes this directory
    from sys.path and PYTHONPATH; returns the module, or None."""
    here = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
    # Two layouts: DIR/3.X/{sitecustomize.py,_pystrobe_provider.so} with
    # DIR/3.X on PYTHONPATH, or DIR/sitecustomize.py and
    # DIR/3.X/_pystrobe_provider.so with DIR on PYTHONPATH.
    version = "%d.%d" % sys.version_info[:2]
    sub = os.path.join(here, version)
    if os.path.isdir(sub):
        sys.path.insert(0, sub)
    provider = None
    try:
        import _pystrobe_provider as provider
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
    return provider


def _pystrobe_next_exists():
    """Whether another sitecustomize is on the path (this one's directory
    is off it by now): the finders' search, without importing anything."""
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        try:
            if find is not None and find("sitecustomize", None) is not None:
                return True
        except Exception:  # a finder's own trouble: let import decide
            return True
    return False


# Run the next sitecustomize under the same name, as site would have (its
# errors reach site's own handler). importlib puts back whatever
# sys.modules["sitecustomize"] holds once this file finishes, so it must
# hold a module: the next one, or this one if there is none.
_pystrobe_provider = _pystrobe_load()
_pystrobe_next = _pystrobe_next_exists()
_pystrobe_me = sys.modules.pop("sitecustomize", None)
del _pystrobe_load, _pystrobe_next_exists, _pystrobe_same_dir
if _pystrobe_provider is not None:
    # Events on from here, except for the frames running now (site's,
    # this file's) and what they call: recording starts with the program.
    _pystrobe_provider.start(True)
try:
    if _pystrobe_next:
        __import__("sitecustomize")
finally:
    if "sitecustomize" not in sys.modules and _pystrobe_me is not None:
        sys.modules["sitecustomize"] = _pystrobe_me
    del _pystrobe_provider, _pystrobe_next, _pystrobe_me
