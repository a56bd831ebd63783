#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Generate tests/unit/linetable_fixtures.h from real CPython interpreters.

Driver mode (default): runs itself under every interpreter given with
--python (default: pyenv 3.9 .. 3.13), collects their fixtures and writes the
C header. Emit mode (--emit, run by the interpreter under test): compiles a
set of snippets and prints, as JSON, for each code object its raw line table
(co_lnotab on <= 3.9, co_linetable on 3.10+), co_firstlineno and the line of
every code unit as the interpreter itself reports it:

  * 3.10+: co.co_lines() (start_byte, end_byte, line) ranges, units not in
    any range have no line (-1);
  * 3.9: dis.findlinestarts() semantics (an instruction's line is that of the
    last line start at or before it);

both cross-checked against the C API PyCode_Addr2Line() called through
ctypes. Expected lines are written as run-length ranges of code units.

Usage: scripts/gen-linetable-fixtures.py [--python PATH]... [-o OUT]
"""
import argparse
import glob
import json
import os
import subprocess
import sys

DEFAULT_VERSIONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]


def _gap(n):
    return "\n".join("    # gap %d" % i for i in range(n))


def snippets():
    """(name, source) pairs; every code object inside becomes a fixture."""
    out = []
    out.append(("loops", '''
def loops(n):
    total = 0
    for i in range(n):
        if i % 3 == 0:
            continue
        j = 0
        while j < i:
            j += 1
            if j > 10:
                break
        total += j
    else:
        total -= 1
    return total
'''))
    out.append(("multiline", '''
def multiline(a, b, c):
    x = foo(
        a,
        b +
        c,
        key=[
            1,
            2,
        ],
    )
    y = (a
         if b else
         c)
    return (x.method()
             .other(a)
             .third(b, c))
'''))
    # Line deltas > 255 both ways: a gap between statements, and a call whose
    # arguments span hundreds of lines (3.11+ goes back to the call's line).
    out.append(("big_gap", "\ndef big_gap(a):\n    a = 1\n" + _gap(300) +
                "\n    b = a + 1\n    c = f(\n        a,\n" + _gap(280) +
                "\n        b)\n" + _gap(140) + "\n    return c\n"))
    # One line whose bytecode is far longer than 255 bytes.
    out.append(("long_line", "\ndef long_line(a):\n    x = [" +
                ", ".join("a + %d" % i for i in range(150)) +
                "]\n    return x\n"))
    out.append(("exceptions", '''
def exceptions(path):
    try:
        with open(path) as f:
            data = f.read()
    except (OSError, ValueError) as e:
        data = str(e)
    except Exception:
        raise
    else:
        data += "!"
    finally:
        print("done")
    try:
        return int(data)
    finally:
        pass
'''))
    out.append(("nested", '''
def nested(xs):
    key = lambda v: (v,
                     -v)
    def inner(y):
        def innermost(z):
            return z * y
        return innermost
    sq = [inner(x)(x)
          for x in xs
          if x]
    return sorted(sq, key=key), {k: v for k, v in
                                 zip(xs, sq)}
'''))
    out.append(("gen", '''
def gen(n):
    for i in range(n):
        yield i
        yield from range(i)

async def agen(q):
    async for item in q:
        await item
    async with q:
        return 1
'''))
    body = "".join("    v%d = v%d + %d\n" % (i + 1, i, i) for i in range(320))
    out.append(("long_func", "\ndef long_func(v0):\n" + body +
                "    return v320\n"))
    # Large co_firstlineno: the function starts after 70000 lines.
    out.append(("far", "\n" * 70000 + "def far(a):\n    b = a\n\n\n    return b\n"))
    return out


def code_objects(code):
    yield code
    for c in code.co_consts:
        if hasattr(c, "co_code"):
            for sub in code_objects(c):
                yield sub


def per_unit_lines(co):
    """Line of each code unit, from the interpreter's own Python API."""
    nbytes = len(co.co_code)
    nunits = nbytes // 2
    if sys.version_info >= (3, 10):
        lines = [-1] * nunits
        for start, end, line in co.co_lines():
            for b in range(start, end, 2):
                if 0 <= b // 2 < nunits and line is not None:
                    lines[b // 2] = line
        return lines
    import dis
    starts = list(dis.findlinestarts(co))
    lines = []
    k = -1
    for u in range(nunits):
        while k + 1 < len(starts) and starts[k + 1][0] <= u * 2:
            k += 1
        lines.append(starts[k][1] if k >= 0 else -1)
    return lines


def addr2line():
    import ctypes
    fn = ctypes.pythonapi.PyCode_Addr2Line
    fn.argtypes = [ctypes.py_object, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


def emit():
    a2l = addr2line()
    fixtures = []
    for name, src in snippets():
        mod = compile(src, "<%s>" % name, "exec")
        for co in code_objects(mod):
            if co is mod:
                continue
            lines = per_unit_lines(co)
            for u, line in enumerate(lines):
                capi = a2l(co, u * 2)
                if capi != line:
                    sys.exit("%s: %s unit %d: python says %d, "
                             "PyCode_Addr2Line says %d" %
                             (sys.version.split()[0], co.co_name, u, line,
                              capi))
            nunits = len(lines)
            if sys.version_info >= (3, 10):
                past_end = -1
            else:
                # lnotab cannot tell where the bytecode ends.
                past_end = a2l(co, nunits * 2)
            lines.append(past_end)
            table = co.co_lnotab if sys.version_info < (3, 10) \
                else co.co_linetable
            fixtures.append({
                "name": getattr(co, "co_qualname", co.co_name),
                "firstlineno": co.co_firstlineno,
                "table": list(bytearray(table)),
                "lines": lines,
            })
    json.dump({"version": sys.version.split()[0],
               "minor": sys.version_info[1],
               "fixtures": fixtures}, sys.stdout)


def runs(lines):
    """[(start, end, line)]: run-length ranges of equal lines."""
    out = []
    for u, line in enumerate(lines):
        if out and out[-1][2] == line and out[-1][1] == u:
            out[-1][1] = u + 1
        else:
            out.append([u, u + 1, line])
    return out


def c_ident(s):
    return "".join(ch if ch.isalnum() else "_" for ch in s)


def write_header(results, path):
    def fmt(minor):
        if minor <= 9:
            return "PY_LINETABLE_LNOTAB"
        return "PY_LINETABLE_310" if minor == 10 else "PY_LINETABLE_LOCATION"

    w = []
    w.append("/* SPDX-License-Identifier: BSD-2-Clause */")
    w.append("/*")
    w.append(" * Generated by scripts/gen-linetable-fixtures.py from: " +
             ", ".join(r["version"] for r in results) + ".")
    w.append(" * Do not edit. Each fixture: a code object's raw line table "
             "and, for every")
    w.append(" * code unit (plus one past the end), the line its own "
             "interpreter reports,")
    w.append(" * as ranges [start, end) of code units with the same line "
             "(-1: no line).")
    w.append(" */")
    w.append("#ifndef PYSTROBE_LINETABLE_FIXTURES_H")
    w.append("#define PYSTROBE_LINETABLE_FIXTURES_H")
    w.append("")
    w.append("#include <stddef.h>")
    w.append("#include <stdint.h>")
    w.append("#include \"cpython/py_offsets.h\"")
    w.append("")
    w.append("struct lt_fixture_range {")
    w.append("\tuint32_t start, end; /* code units, end exclusive */")
    w.append("\tint line;")
    w.append("};")
    w.append("")
    w.append("struct lt_fixture {")
    w.append("\tconst char *python;")
    w.append("\tconst char *name;")
    w.append("\tenum py_linetable_format fmt;")
    w.append("\tint firstlineno;")
    w.append("\tconst uint8_t *table;")
    w.append("\tsize_t len;")
    w.append("\tconst struct lt_fixture_range *ranges;")
    w.append("\tsize_t nranges;")
    w.append("};")
    entries = []
    for r in results:
        for i, fx in enumerate(r["fixtures"]):
            ident = "lt_fx_3%d_%d_%s" % (r["minor"], i, c_ident(fx["name"]))
            w.append("")
            w.append("/* %s %s */" % (r["version"], fx["name"]))
            if fx["table"]:
                w.append("static const uint8_t %s_table[] = {" % ident)
                t = fx["table"]
                for k in range(0, len(t), 12):
                    w.append("\t" + ", ".join("0x%02x" % b
                                              for b in t[k:k + 12]) + ",")
                w.append("};")
                table_ref, table_len = ident + "_table", "sizeof(%s_table)" % ident
            else:
                table_ref, table_len = "NULL", "0"
            w.append("static const struct lt_fixture_range %s_ranges[] = {" %
                     ident)
            for s, e, line in runs(fx["lines"]):
                w.append("\t{ %d, %d, %d }," % (s, e, line))
            w.append("};")
            entries.append(
                "\t{ \"%s\", \"%s\", %s, %d, %s, %s, %s_ranges,\n"
                "\t  sizeof(%s_ranges) / sizeof(%s_ranges[0]) }," %
                (r["version"], fx["name"],
                 fmt(r["minor"]),
                 fx["firstlineno"], table_ref, table_len, ident, ident, ident))
    w.append("")
    w.append("static const struct lt_fixture lt_fixtures[] = {")
    w.extend(entries)
    w.append("};")
    w.append("")
    w.append("#define LT_NFIXTURES (sizeof(lt_fixtures) / sizeof(lt_fixtures[0]))")
    w.append("")
    w.append("#endif /* PYSTROBE_LINETABLE_FIXTURES_H */")
    with open(path, "w") as f:
        f.write("\n".join(w) + "\n")


def default_pythons():
    found = []
    for v in DEFAULT_VERSIONS:
        hits = sorted(glob.glob("/root/.pyenv/versions/%s.*/bin/python%s" %
                                (v, v)))
        if not hits:
            sys.exit("no pyenv interpreter for %s (use --python)" % v)
        found.append(hits[-1])
    return found


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--emit", action="store_true",
                    help="print this interpreter's fixtures as JSON")
    ap.add_argument("--python", action="append",
                    help="interpreter to take fixtures from (repeatable)")
    ap.add_argument("-o", "--output",
                    default=os.path.join(root, "tests/unit/linetable_fixtures.h"))
    args = ap.parse_args()
    if args.emit:
        emit()
        return
    results = []
    for py in args.python or default_pythons():
        res = subprocess.run([py, os.path.abspath(__file__), "--emit"],
                             stdout=subprocess.PIPE, check=True)
        results.append(json.loads(res.stdout))
        print("%s: %d code objects" % (results[-1]["version"],
                                       len(results[-1]["fixtures"])),
              file=sys.stderr)
    write_header(results, args.output)


if __name__ == "__main__":
    main()
