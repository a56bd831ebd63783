# SPDX-License-Identifier: BSD-2-Clause
# Workload for the qualified-name test of `pystrobe calls`: functions in
# every place a qualified name comes from (methods, static and class
# methods, properties, nested classes, closures, functools.wraps wrappers,
# lambdas and generator expressions inside methods, class bodies), each
# called a known number of times. Writes {qualname: calls} as a Python
# literal to OUT, the names taken from the objects themselves (__qualname__
# of functions, classes, lambdas and generators), never spelled out here.
# Usage: qualnames.py OUT
import functools
import sys

WRAPPER_QUALNAMES = []


def deco(f):
    def wrapper(*args):
        return f(*args)

    WRAPPER_QUALNAMES.append(wrapper.__qualname__)  # before wraps renames it
    return functools.wraps(f)(wrapper)


class Klass:
    def method(self):
        return 1

    @staticmethod
    def static():
        return 2

    @classmethod
    def klass(cls):
        return 3

    @property
    def prop(self):
        return 4

    def lam(self):
        f = (lambda: 5)
        return f, f()

    def genexpr(self):
        g = (i for i in range(3))
        return g, sum(g)

    class Inner:
        def meth(self):
            return 6


class Sub(Klass):
    pass


@deco
def decorated():
    return 7


def outer():
    def inner():
        return 8

    inner()
    return inner


def make_local():
    class Local:
        def meth(self):
            return 9

    Local().meth()
    return Local


def main():
    out = sys.argv[1]
    n = 3
    k, s = Klass(), Sub()
    for _ in range(n):
        k.method()
        s.method()  # inherited: still Klass.method
        Klass.static()
        Sub.klass()
        k.prop
        Klass.Inner().meth()
        decorated()
    lam, _ = k.lam()
    gen, _ = k.genexpr()
    inner = outer()
    local = make_local()
    res = {
        Klass.method.__qualname__: 2 * n,
        Klass.static.__qualname__: n,
        Klass.klass.__func__.__qualname__: n,
        Klass.prop.fget.__qualname__: n,
        Klass.Inner.meth.__qualname__: n,
        WRAPPER_QUALNAMES[0]: n,
        decorated.__wrapped__.__qualname__: n,
        Klass.lam.__qualname__: 1,
        lam.__qualname__: 1,
        Klass.genexpr.__qualname__: 1,
        gen.__qualname__: 1,  # one call (and 4 resumes)
        outer.__qualname__: 1,
        inner.__qualname__: 1,
        make_local.__qualname__: 1,
        local.__qualname__: 1,  # its class body
        local.meth.__qualname__: 1,
        Klass.__qualname__: 1,  # class bodies run once, at import
        Klass.Inner.__qualname__: 1,
        Sub.__qualname__: 1,
    }
    with open(out + ".tmp", "w") as f:
        f.write(repr(res))
    import os

    os.rename(out + ".tmp", out)


main()
