#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Checks user/cpython/py_offsets_table.c against live interpreters.

For every interpreter scripts/pythons.sh lists (chroot'ed ones included, read
from the host through /proc/PID/mem as pystrobe does), starts a process that
sleeps inside a function named pystrobe_probe_fn and then, with nothing but
the compiled table:
  - 3.13+: finds _PyRuntime, checks the "xdebugpy" cookie and the version,
    and compares every field the table locates inside _Py_DebugOffsets with
    the live value (and with the table's own walk/code offsets);
  - all versions: walks _PyRuntime -> interpreter -> thread states, finds the
    main thread (native_thread_id == pid, or thread_id == threading.get_ident()
    on 3.9/3.10), walks its frames (skipping shim frames, clearing stack-ref
    tag bits) and reads each code object's name, file name and first line.
Exits 1 on any mismatch. Run as root: python3 scripts/check-offsets-live.py
"""
import os
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OFF_NONE = 0xFFFF

DUMPER = r"""
#include <stdio.h>
#include "cpython/py_offsets.h"
#define W(f) printf("%d.%d walk.%s %u\n", v->major, v->minor, #f, (unsigned)v->walk.f)
#define C(f) printf("%d.%d code.%s %u\n", v->major, v->minor, #f, (unsigned)v->code.f)
#define D(f) printf("%d.%d dbg.%s %u\n", v->major, v->minor, #f, (unsigned)v->dbg.f)
int main(void)
{
	for (int i = 0; i < py_versions_count; i++) {
		const struct py_version_info *v = &py_versions[i];
		printf("%d.%d has_debug_offsets %d\n", v->major, v->minor, v->has_debug_offsets);
		printf("%d.%d tstate_thread_id %u\n", v->major, v->minor, (unsigned)v->tstate_thread_id);
		W(runtime_interpreters_head); W(interp_threads_head); W(tstate_next);
		W(tstate_native_thread_id); W(tstate_frame); W(cframe_current_frame);
		W(frame_previous); W(frame_code); W(frame_instr); W(frame_owner);
		W(frame_is_entry); W(instr_size); W(owner_shim_min);
		C(co_filename); C(co_name); C(co_qualname); C(co_firstlineno);
		C(co_linetable); C(co_code_adaptive); C(bytes_size); C(bytes_data);
		C(unicode_length); C(unicode_state); C(ascii_data); C(compact_data);
		D(size); D(version); D(free_threaded); D(runtime_interpreters_head);
		D(interp_threads_head); D(tstate_next); D(tstate_native_thread_id);
		D(tstate_current_frame); D(frame_previous); D(frame_executable);
		D(frame_instr_ptr); D(frame_owner); D(code_filename); D(code_name);
		D(code_qualname); D(code_linetable); D(code_firstlineno);
		D(code_co_code_adaptive); D(unicode_state); D(unicode_length);
		D(unicode_asciiobject_size); D(bytes_ob_size); D(bytes_ob_sval);
	}
	return 0;
}
"""

# dbg field -> (table field it must equal) for the live comparison.
DBG_VS_TABLE = {
    "runtime_interpreters_head": "walk.runtime_interpreters_head",
    "interp_threads_head": "walk.interp_threads_head",
    "tstate_next": "walk.tstate_next",
    "tstate_native_thread_id": "walk.tstate_native_thread_id",
    "tstate_current_frame": "walk.tstate_frame",
    "frame_previous": "walk.frame_previous",
    "frame_executable": "walk.frame_code",
    "frame_instr_ptr": "walk.frame_instr",
    "frame_owner": "walk.frame_owner",
    "code_filename": "code.co_filename",
    "code_name": "code.co_name",
    "code_qualname": "code.co_qualname",
    "code_linetable": "code.co_linetable",
    "code_firstlineno": "code.co_firstlineno",
    "code_co_code_adaptive": "code.co_code_adaptive",
    "unicode_state": "code.unicode_state",
    "unicode_length": "code.unicode_length",
    "unicode_asciiobject_size": "code.ascii_data",
    "bytes_ob_size": "code.bytes_size",
    "bytes_ob_sval": "code.bytes_data",
}

CHILD = r"""
import sys, threading, time
def pystrobe_probe_fn():
    print("READY", threading.get_ident(), sys.hexversion, flush=True)
    time.sleep(60)
pystrobe_probe_fn()
"""


def load_table():
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "dump.c")
        with open(src, "w") as f:
            f.write(DUMPER)
        exe = os.path.join(d, "dump")
        subprocess.run(
            ["cc", "-std=gnu11", "-iquote", os.path.join(REPO, "user"),
             "-iquote", REPO, "-o", exe, src,
             os.path.join(REPO, "user", "cpython", "py_offsets_table.c")],
            check=True)
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    table = {}
    for line in out.splitlines():
        ver, key, val = line.split()
        table.setdefault(ver, {})[key] = int(val)
    return table


def find_runtime(pid):
    """Address of _PyRuntime in pid, from the python/libpython mapping."""
    seen = set()
    with open(f"/proc/{pid}/maps") as f:
        maps = [line.split() for line in f]
    for m in maps:
        if len(m) < 6 or m[5] in seen or "python" not in os.path.basename(m[5]):
            continue
        path = m[5]
        seen.add(path)
        # A chroot'ed process in our mount namespace shows host paths in
        # maps (d_path is relative to the reader's root); one in another
        # mount namespace shows its own paths, reachable via /proc/PID/root.
        host = f"/proc/{pid}/root{path}"
        if not os.path.exists(host):
            host = path
        syms = subprocess.run(["readelf", "-sW", host], capture_output=True, text=True).stdout
        addr = None
        for line in syms.splitlines():
            p = line.split()
            if len(p) >= 8 and p[7] == "_PyRuntime" and p[3] == "OBJECT":
                addr = int(p[1], 16)
                break
        if addr is None:
            continue
        hdr = subprocess.run(["readelf", "-hlW", host], capture_output=True, text=True).stdout
        is_exec = re.search(r"Type:\s+EXEC", hdr) is not None
        bias = 0
        if not is_exec:
            first_load = None
            for line in hdr.splitlines():
                p = line.split()
                if p and p[0] == "LOAD":
                    first_load = int(p[2], 16) & ~0xFFF
                    break
            start = min(int(x[0].split("-")[0], 16) for x in maps
                        if len(x) >= 6 and x[5] == path and int(x[2], 16) == 0)
            bias = start - first_load
        return addr + bias, path
    return None, None


class Mem:
    def __init__(self, pid):
        self.f = open(f"/proc/{pid}/mem", "rb", buffering=0)

    def read(self, addr, n):
        self.f.seek(addr)
        return self.f.read(n)

    def u64(self, addr):
        return struct.unpack("<Q", self.read(addr, 8))[0]

    def u32(self, addr):
        return struct.unpack("<I", self.read(addr, 4))[0]

    def i32(self, addr):
        return struct.unpack("<i", self.read(addr, 4))[0]

    def u8(self, addr):
        return self.read(addr, 1)[0]


def read_str(mem, t, obj):
    """A compact ASCII str object (names and file names of our test code)."""
    length = mem.u64(obj + t["code.unicode_length"])
    state = mem.u32(obj + t["code.unicode_state"])
    compact, ascii_ = (state >> 5) & 1, (state >> 6) & 1
    if not (compact and ascii_) or length > 4096:
        return f"<non-ascii str state={state:#x} len={length}>"
    return mem.read(obj + t["code.ascii_data"], length).decode()


def check_one(label, root, python, table):
    errs = []
    cmd = [python, "-c", CHILD]
    if root != "/":
        cmd = ["chroot", root] + cmd
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline().split()
        if not line or line[0] != "READY":
            return [f"child did not start: {line}"]
        ident, hexver = int(line[1]), int(line[2])
        ver = f"{hexver >> 24}.{(hexver >> 16) & 0xFF}"
        t = table.get(ver)
        if t is None:
            return [f"Python {ver} not in table"]
        pid = child.pid
        runtime, module = find_runtime(pid)
        if runtime is None:
            return ["no _PyRuntime symbol found"]
        mem = Mem(pid)
        notes = [f"_PyRuntime={runtime:#x} in {module}"]

        if t["has_debug_offsets"]:
            cookie = mem.read(runtime, 8)
            if cookie != b"xdebugpy":
                errs.append(f"cookie {cookie!r}")
            live_ver = mem.u64(runtime + t["dbg.version"])
            if live_ver != hexver:
                errs.append(f"dbg version {live_ver:#x} != {hexver:#x}")
            if mem.u64(runtime + t["dbg.free_threaded"]) != 0:
                errs.append("free_threaded != 0")
            n = 0
            for dk, tk in DBG_VS_TABLE.items():
                doff = t["dbg." + dk]
                if doff == OFF_NONE:
                    continue
                live = mem.u64(runtime + doff)
                if live != t[tk]:
                    errs.append(f"live dbg.{dk} = {live}, table {tk} = {t[tk]}")
                n += 1
            notes.append(f"cookie ok, version {live_ver:#x}, {n} debug offsets match")

        # Walk runtime -> interpreter -> thread states.
        interp = mem.u64(runtime + t["walk.runtime_interpreters_head"])
        ts = mem.u64(interp + t["walk.interp_threads_head"])
        found = None
        for _ in range(256):
            if not ts:
                break
            if t["walk.tstate_native_thread_id"] != OFF_NONE:
                if mem.u64(ts + t["walk.tstate_native_thread_id"]) == pid:
                    found = ts
                    break
            elif mem.u64(ts + t["tstate_thread_id"]) == ident:
                found = ts
                break
            ts = mem.u64(ts + t["walk.tstate_next"])
        if not found:
            return errs + ["main thread state not found"]
        frame = mem.u64(found + t["walk.tstate_frame"])
        if t["walk.cframe_current_frame"] != OFF_NONE:
            frame = mem.u64(frame + t["walk.cframe_current_frame"])
        names, skipped, tags, owners = [], 0, set(), []
        tag_mask = 3 if (hexver >> 16) >= 0x030E else 0
        for _ in range(64):
            if not frame:
                break
            if t["walk.frame_owner"] != OFF_NONE and \
                    mem.u8(frame + t["walk.frame_owner"]) >= t["walk.owner_shim_min"]:
                skipped += 1
                owners.append(mem.u8(frame + t["walk.frame_owner"]))
                frame = mem.u64(frame + t["walk.frame_previous"])
                continue
            raw = mem.u64(frame + t["walk.frame_code"])
            tags.add(raw & 7)
            code = raw & ~tag_mask
            qn = t["code.co_qualname"] if t["code.co_qualname"] != OFF_NONE else t["code.co_name"]
            name = read_str(mem, t, mem.u64(code + qn))
            fname = read_str(mem, t, mem.u64(code + t["code.co_filename"]))
            line = mem.i32(code + t["code.co_firstlineno"])
            lt = mem.u64(code + t["code.co_linetable"])
            ltlen = mem.u64(lt + t["code.bytes_size"])
            if t["walk.instr_size"] == 8:
                ip = mem.u64(frame + t["walk.frame_instr"])
                instr = (ip - (code + t["code.co_code_adaptive"])) // 2 if ip else -1
            else:
                instr = mem.i32(frame + t["walk.frame_instr"])
            names.append(f"{name}@{fname}:{line}[i={instr},lt={ltlen}]")
            frame = mem.u64(frame + t["walk.frame_previous"])
        notes.append(f"stack (leaf first): {' <- '.join(names)}; shim frames skipped: {skipped} (owners {owners}); code pointer low bits seen: {sorted(tags)}")
        # (<module>'s co_firstlineno is 2 on 3.9, 1 later: not compared.)
        want = ["pystrobe_probe_fn@<string>:3", "<module>@<string>"]
        got = [n.split("[")[0] for n in names]
        got[1:] = [g.rsplit(":", 1)[0] for g in got[1:]]
        if got != want:
            errs.append(f"stack {got} != {want}")
        if hexver >> 16 >= 0x030B:
            for n in names:
                i = int(re.search(r"i=(-?\d+)", n).group(1))
                if not 0 <= i < 1000:
                    errs.append(f"implausible instruction index in {n}")
        print(f"  {label}: " + "; ".join(notes))
        return errs
    finally:
        child.kill()
        child.wait()


def main():
    table = load_table()
    pythons = subprocess.run(["bash", os.path.join(HERE, "pythons.sh")],
                             check=True, capture_output=True, text=True).stdout
    bad = 0
    for line in pythons.splitlines():
        label, root, python = line.split()
        errs = check_one(label, root, python, table)
        print(f"{'FAIL' if errs else 'ok'} {label}")
        for e in errs:
            print(f"    {e}")
        bad += bool(errs)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
