#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Runs one test program against a fresh nimbus server.

Usage: with_server.py NIMBUS [SERVER-ARG ...] -- PROGRAM [ARG ...]

Starts NIMBUS through the shared harness (tests/lib/nimbus_harness.py) on an
ephemeral 127.0.0.1 port with SERVER-ARGs, runs PROGRAM with "{url}" in its
arguments replaced by the server's base URL, then stops the server (which
asserts a clean exit and no sanitizer report). Exits with PROGRAM's status,
or 1 if the server misbehaved.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from nimbus_harness import NimbusServer  # noqa: E402


def main(argv):
    if "--" not in argv or len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    split = argv.index("--")
    binary, server_args, program = argv[1], argv[2:split], argv[split + 1:]
    with NimbusServer(binary, args=server_args) as srv:
        cmd = [a.replace("{url}", srv.base_url) for a in program]
        rc = subprocess.call(cmd, timeout=600)
        if rc != 0:
            print("---- nimbus log ----\n" + srv.log_text()[-20000:])
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
