#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Writes user/cpython/py_offsets_table.c from the outputs of scripts/py_offsets_probe.c.

Called by scripts/gen-offsets.sh as

    gen_offsets_emit.py MINOR=PRIMARY.txt[,CHECK.txt...] ...

where each .txt holds the probe's "name value" lines, preceded by a
"source <description>" line. For each minor version the first file is the
one the entry is generated from; every other file (another patch release or
another build of the same minor) must give identical offsets, else this
exits with status 1 and names the differing fields.
"""
import sys

OFF_NONE = 0xFFFF

WALK = [
    "runtime_interpreters_head",
    "interp_threads_head",
    "tstate_next",
    "tstate_native_thread_id",
    "tstate_thread_id",
    "tstate_frame",
    "cframe_current_frame",
    "frame_previous",
    "frame_code",
    "frame_instr",
    "frame_owner",
    "frame_is_entry",
    "instr_size",
    "owner_shim_min",
]
GIL = ["runtime_off", "interp_ptr_off", "size"]
CODE = [
    "co_filename",
    "co_name",
    "co_qualname",
    "co_firstlineno",
    "co_linetable",
    "co_code_adaptive",
    "bytes_size",
    "bytes_data",
    "unicode_length",
    "unicode_state",
    "ascii_data",
    "compact_data",
]
# Finding a method's class on versions without co_qualname (OFF_NONE after).
CLS = [
    "frame_localsplus",
    "co_varnames",
    "co_argcount",
    "tuple_items",
    "tuple_size",
    "tp_name",
    "tp_flags",
    "tp_dict",
    "tp_mro",
    "ht_qualname",
    "func_code",
    "dict_keys",
    "dict_values",
    "dk_size",
    "dk_nentries",
    "dk_indices",
    "entry_size",
    "entry_key",
    "entry_value",
    "wrapped_callable",
]
DBG = [
    "size",
    "version",
    "free_threaded",
    "runtime_interpreters_head",
    "interp_threads_head",
    "tstate_next",
    "tstate_native_thread_id",
    "tstate_current_frame",
    "frame_previous",
    "frame_executable",
    "frame_instr_ptr",
    "frame_owner",
    "code_filename",
    "code_name",
    "code_qualname",
    "code_linetable",
    "code_firstlineno",
    "code_co_code_adaptive",
    "unicode_state",
    "unicode_length",
    "unicode_asciiobject_size",
    "bytes_ob_size",
    "bytes_ob_sval",
    "debugger_eval_breaker",
    "debugger_support",
    "debugger_enabled",
    "debugger_pending_call",
    "debugger_script_path",
    "debugger_script_path_size",
]
# Fields whose value is not an offset (no OFF_NONE, may be any byte).
NOT_OFFSETS = {"walk.instr_size", "walk.owner_shim_min"}
# Lines that describe the build rather than the layout: not compared.
INFO = {"source", "version", "version_hex"}


def die(msg):
    print(f"gen-offsets: {msg}", file=sys.stderr)
    sys.exit(1)


def parse(path):
    vals = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            key, _, val = line.partition(" ")
            if key in vals:
                die(f"{path}: duplicate {key}")
            vals[key] = val
    for k in ("source", "version", "version_hex"):
        if k not in vals:
            die(f"{path}: no {k} line (probe failed?)")
    return vals


def num(vals, key, path):
    if key not in vals:
        die(f"{path}: probe printed no {key}")
    v = vals[key]
    if v == "none":
        return OFF_NONE
    n = int(v)
    limit = 0xFF if key in ("walk.instr_size", "walk.owner_shim_min") else 0xFFFE
    if n > limit:
        die(f"{path}: {key} = {n} does not fit its field")
    return n


def fmt(key, n):
    if n == OFF_NONE and key not in NOT_OFFSETS:
        return "OFF_NONE"
    return str(n)


def main(argv):
    entries = []
    for arg in argv:
        minor, _, files = arg.partition("=")
        files = files.split(",")
        sets = [(f, parse(f)) for f in files]
        ppath, primary = sets[0]
        if not primary["version"].startswith(minor + "."):
            die(f"{ppath}: headers are {primary['version']}, expected {minor}")
        checked = []
        for path, other in sets[1:]:
            if not other["version"].startswith(minor + "."):
                die(f"{path}: headers are {other['version']}, expected {minor}")
            keys = (set(primary) | set(other)) - INFO
            diff = sorted(k for k in keys if primary.get(k) != other.get(k))
            if diff:
                lines = "\n".join(
                    f"  {k}: {primary.get(k)} ({primary['version']}) != "
                    f"{other.get(k)} ({other['version']})"
                    for k in diff
                )
                die(
                    f"Python {minor}: {primary['source']} and {other['source']} "
                    f"give different offsets:\n{lines}"
                )
            checked.append(f"{other['version']} ({other['source']})")
        entries.append((minor, ppath, primary, checked))

    out = []
    w = out.append
    w("/* SPDX-License-Identifier: BSD-2-Clause */")
    w("/*")
    w(" * GENERATED FILE: do not edit. Regenerate with `make offsets`, which runs")
    w(" *   bash scripts/gen-offsets.sh > user/cpython/py_offsets_table.c")
    w(" * (scripts/py_offsets_probe.c compiled against each version's own headers,")
    w(" * including the internal ones, with -DPy_BUILD_CORE; the header sets come")
    w(" * from pyenv and from scripts/provision-pythons.sh).")
    w(" *")
    w(" * Header sets used, per minor version (first: generated from; others:")
    w(" * checked to give identical offsets):")
    for minor, _, p, checked in entries:
        w(f" *   {minor}: {p['version']} ({p['source']})")
        for c in checked:
            w(f" *     = {c}")
    w(" */")
    w('#include <stddef.h>')
    w('#include "cpython/py_offsets.h"')
    w("")
    w("const struct py_version_info py_versions[] = {")
    for minor, path, p, checked in entries:
        major_n, minor_n = (int(x) for x in minor.split("."))
        walk = {k: num(p, "walk." + k, path) for k in WALK}
        code = {k: num(p, "code." + k, path) for k in CODE}
        gil = {k: num(p, "gil." + k, path) for k in GIL}
        cls = {k: num(p, "cls." + k, path) for k in CLS}
        has_dbg = "dbg.size" in p
        dbg = {k: num(p, "dbg." + k, path) if has_dbg else OFF_NONE for k in DBG}
        if not has_dbg:
            dbg["size"] = 0
        if (major_n, minor_n) <= (3, 9):
            linetable = "PY_LINETABLE_LNOTAB"
        elif (major_n, minor_n) == (3, 10):
            linetable = "PY_LINETABLE_310"
        else:
            linetable = "PY_LINETABLE_LOCATION"
        lasti_bytes = 1 if (major_n, minor_n) <= (3, 9) else 0
        frame_fields = [
            walk[k]
            for k in ("frame_previous", "frame_code", "frame_instr",
                      "frame_owner", "frame_is_entry")
            if walk[k] != OFF_NONE
        ]
        gen_from = f"{p['version']} headers ({p['source']})"
        if checked:
            gen_from += "; same offsets: " + ", ".join(c.split(" ")[0] for c in checked)
        w("\t{")
        w(f"\t\t.major = {major_n},")
        w(f"\t\t.minor = {minor_n},")
        w(f'\t\t.generated_from = "{gen_from}",')
        w(f"\t\t.linetable = {linetable},")
        w(f"\t\t.lasti_bytes = {lasti_bytes},")
        notes = [f"frame fields end by byte {max(frame_fields) + 8}"]
        if "owner.cstack" in p:
            notes.append(f"FRAME_OWNED_BY_CSTACK = {p['owner.cstack']}")
        if "owner.interpreter" in p:
            notes.append(f"FRAME_OWNED_BY_INTERPRETER = {p['owner.interpreter']}")
        if "stackref_tag_bits" in p:
            notes.append(f"f_executable is a _PyStackRef: tag mask {p['stackref_tag_bits']}")
        w(f"\t\t/* {'; '.join(notes)} */")
        w("\t\t.walk = {")
        for k in WALK:
            w(f"\t\t\t.{k} = {fmt('walk.' + k, walk[k])},")
        w("\t\t},")
        w("\t\t.code = {")
        for k in CODE:
            w(f"\t\t\t.{k} = {fmt('code.' + k, code[k])},")
        w("\t\t},")
        w("\t\t.gil = {")
        for k in GIL:
            w(f"\t\t\t.{k} = {fmt('gil.' + k, gil[k])},")
        w("\t\t},")
        w("\t\t.cls = {")
        for k in CLS:
            w(f"\t\t\t.{k} = {fmt('cls.' + k, cls[k])},")
        w("\t\t},")
        w(f"\t\t.has_debug_offsets = {1 if has_dbg else 0},")
        w("\t\t.dbg = {")
        for k in DBG:
            w(f"\t\t\t.{k} = {fmt('dbg.' + k, dbg[k]) if k != 'size' else dbg[k]},")
        w("\t\t},")
        w("\t},")
    w("};")
    w("")
    w("const int py_versions_count = sizeof(py_versions) / sizeof(py_versions[0]);")
    w("")
    w("const struct py_version_info *py_version_info__find(int major, int minor)")
    w("{")
    w("\tfor (int i = 0; i < py_versions_count; i++)")
    w("\t\tif (py_versions[i].major == major && py_versions[i].minor == minor)")
    w("\t\t\treturn &py_versions[i];")
    w("\treturn NULL;")
    w("}")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1:])
