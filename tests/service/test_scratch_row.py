# SPDX-License-Identifier: GPL-3.0-or-later
"""scratch_row: adding an operation is exactly what docs/architecture.md
("Adding an operation") says, and the build says what is missing.

NIMBUS_SCRATCH_OP adds a test-only row, ScratchOp, to NIMBUS_OPERATIONS
(service/nimbus_operations.h) with its request and response structs, and
nothing else. Each source file is compiled with it, with the exact flags
of the real build (compile_commands.json), warnings as errors:

- every place the checklist names must fail, and its error must name the
  scratch row (scratch_op / ScratchOp), so a newcomer is told what to add;
- a hand-written switch over nimbus_op_t fails too (-Wswitch-enum), as
  tests/service/test_auth.c's does;
- the core's write switch (service/op_table.c) names every row, so it
  fails until told whether the new one writes; past it the dispatch needs
  nimbus_service_scratch_op, so the link fails naming the operation nobody
  wrote;
- the freshness switches (service/freshness.c) name every row, so a new
  one must say what its answers depend on and what its writes change
  before a rendered answer can be kept;
- every file the table drives (the JSON call and codecs, REST's handler,
  request decoding, router and OpenAPI, the stream's call and session, the
  SOAP host) compiles unchanged: it needs no edit for a new operation.

Usage: test_scratch_row.py BUILD_DIR
"""

import json
import os
import shlex
import subprocess
import sys
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# The checklist of docs/architecture.md: (file, what its error must name).
MUST_FAIL = [
    ("service/op_fields.c", "scratch_op_request_type"),
    ("service/op_table.c", "NIMBUS_OP_ScratchOp"),
    ("service/freshness.c", "NIMBUS_OP_ScratchOp"),
    ("json_api/rest/rest_binding.c", "rest_scratch_op"),
    ("soap/soap_ops.c", "ScratchOp"),
    ("tests/service/test_auth.c", "NIMBUS_OP_ScratchOp"),
]

# Generic: driven by the table, they compile with the new row as they are.
MUST_COMPILE = [
    "service/validate.c",
    "json_api/json/json_call.c",
    "json_api/json/json_decode.c",
    "json_api/json/json_encode.c",
    "json_api/json/json_schema.c",
    "json_api/rest/rest_handle.c",
    "json_api/rest/rest_request.c",
    "json_api/rest/rest_route.c",
    "json_api/rest/openapi.c",
    "json_api/stream/stream_call.c",
    "json_api/stream/stream_session.c",
    "soap/soap_host.c",
]


def commands(build_dir):
    with open(os.path.join(build_dir, "compile_commands.json")) as f:
        entries = json.load(f)
    by_file = {}
    for e in entries:
        path = os.path.relpath(os.path.abspath(e["file"]), REPO)
        args = e.get("arguments") or shlex.split(e["command"])
        by_file.setdefault(path, (args, e["directory"]))
    return by_file


def compile_with_row(entry, out_obj=None, extra=()):
    args, cwd = entry
    cmd = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a == "-c":
            continue
        cmd.append(a)
    cmd += ["-DNIMBUS_SCRATCH_OP"] + list(extra)
    cmd += ["-c", "-o", out_obj] if out_obj else ["-fsyntax-only"]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def main():
    build_dir = sys.argv[1]
    by_file = commands(build_dir)
    failures = []
    for path, name in MUST_FAIL:
        r = compile_with_row(by_file[path])
        if r.returncode == 0:
            failures.append("%s compiled with the scratch row: it should have to name it" % path)
        elif name not in r.stderr:
            failures.append("%s failed without naming %s:\n%s" % (path, name, r.stderr[-2000:]))
        else:
            first = next(line for line in r.stderr.splitlines() if name in line)
            print("needs an edit: %-32s %s" % (path, first.split(": ", 1)[-1][:110]))
    for path in MUST_COMPILE:
        r = compile_with_row(by_file[path])
        if r.returncode != 0:
            failures.append("%s needed an edit for the scratch row:\n%s" % (path, r.stderr[-2000:]))
        else:
            print("driven by the table: %s" % path)
    # Once the switch is told whether the row writes, the dispatch compiles
    # and the link asks for the operation itself.
    with tempfile.TemporaryDirectory() as tmp:
        obj = os.path.join(tmp, "op_table.o")
        r = compile_with_row(by_file["service/op_table.c"], obj,
                             ("-Wno-error=switch", "-Wno-error=switch-enum"))
        undefined = subprocess.run(["nm", "-u", obj], capture_output=True, text=True).stdout
        for symbol in ("nimbus_service_scratch_op", "nimbus_scratch_op_response_cleanup"):
            if r.returncode != 0 or symbol not in undefined:
                failures.append("service/op_table.c does not need %s" % symbol)
            else:
                print("link needs:    %s" % symbol)
    # The control: without the row, the same files compile.
    for path, _ in MUST_FAIL:
        args, cwd = by_file[path]
        cmd = [a for a in args if a != "-c"]
        if "-o" in cmd:
            i = cmd.index("-o")
            del cmd[i:i + 2]
        r = subprocess.run(cmd + ["-fsyntax-only"], cwd=cwd, capture_output=True, text=True)
        if r.returncode != 0:
            failures.append("%s does not compile even without the row:\n%s" % (path, r.stderr))
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("scratch_row: a new row needs exactly the checklist's edits")


if __name__ == "__main__":
    main()
