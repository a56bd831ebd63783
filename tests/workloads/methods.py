# SPDX-License-Identifier: BSD-2-Clause
# Workload for the `sampler-methods` test: methods whose qualified names a
# profiler must show on every version, including 3.9 and 3.10 whose code
# objects have no co_qualname: an inherited method called on a subclass
# instance (Base.work, not Derived.work), a classmethod, a method of a
# nested class, a subclass's own method, a staticmethod and functions
# (one whose first argument is merely named self). Each burns CPU in turn.
# Ground truth, as a Python literal in OUT: every function's __qualname__ by
# its name, and the version.
# Usage: methods.py OUT SECONDS
import os
import sys
import time


def burn(n):
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003
    return x


class Base:
    def work(self, n):
        return burn_in_work(n)

    @classmethod
    def cwork(cls, n):
        return burn_in_cwork(n)

    @staticmethod
    def swork(n):
        return burn_in_swork(n)


class Derived(Base):
    def own(self, n):
        return burn_in_own(n)


class Outer:
    class Inner:
        def deep(self, n):
            return burn_in_deep(n)


def plain(n):
    return burn_in_plain(n)


def selfish(self, n):
    return burn_in_selfish(n)


# Leaf functions, so that each method's frame is a caller with a line.
def burn_in_work(n):
    return burn(n)


def burn_in_cwork(n):
    return burn(n)


def burn_in_swork(n):
    return burn(n)


def burn_in_own(n):
    return burn(n)


def burn_in_deep(n):
    return burn(n)


def burn_in_plain(n):
    return burn(n)


def burn_in_selfish(n):
    return burn(n)


def main():
    out, seconds = sys.argv[1], float(sys.argv[2])
    d, inner = Derived(), Outer.Inner()
    calls = [d.work, Derived.cwork, Base.swork, d.own, inner.deep, plain,
             lambda n: selfish(d, n)]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for f in calls:
            f(3000)
    funcs = [Base.work, Base.cwork.__func__, Base.swork, Derived.own,
             Outer.Inner.deep, plain, selfish]
    with open(out + ".tmp", "w") as f:
        f.write(repr({"version": sys.version.split()[0],
                      "minor": sys.version_info[1],
                      "qualnames": dict((g.__name__, g.__qualname__)
                                        for g in funcs)}))
    os.rename(out + ".tmp", out)


main()
