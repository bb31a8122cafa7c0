#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ctest fixture pg_cluster: one throw-away PostgreSQL cluster for the
storage tests that run on PostgreSQL too (tests/service's service_pg_*,
server_durability_pg).

  pg_fixture.py start STATE    start a cluster (tests/lib/pg_harness.py) and
                               write how to reach and stop it to STATE
  pg_fixture.py run STATE CMD  run CMD with NIMBUS_TEST_PG_URI naming a fresh
                               database of that cluster (dropped afterwards)
  pg_fixture.py stop STATE     stop the cluster and remove its directory

start fails loudly when PostgreSQL is not installed (so the tests that need
it do not run and ctest fails), and stops a cluster a killed run left.
"""

import json
import os
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pg_harness  # noqa: E402


def stop(state):
    try:
        with open(state) as f:
            s = json.load(f)
    except (OSError, ValueError):
        return
    c = pg_harness.PgCluster.__new__(pg_harness.PgCluster)
    c.__dict__.update(s)
    c.ids = tuple(s["ids"]) if s["ids"] else None
    c.started = True
    c.stop()
    os.unlink(state)


def main():
    cmd, state = sys.argv[1], sys.argv[2]
    if cmd == "start":
        stop(state)
        why = pg_harness.missing()
        if why:
            print("FAIL: the PostgreSQL storage tests cannot run: " + why, file=sys.stderr)
            return 1
        c = pg_harness.PgCluster().start()
        pg_harness._live.remove(c)  # outlives this process, until `stop`
        with open(state, "w") as f:
            json.dump({"bin": c.bin, "dir": c.dir, "data": c.data, "log": c.log,
                       "port": c.port, "ids": c.ids, "settings": c.settings}, f)
        print("PostgreSQL cluster on 127.0.0.1:%d (%s)" % (c.port, c.dir))
        return 0
    if cmd == "stop":
        stop(state)
        return 0
    if cmd == "run":
        with open(state) as f:
            s = json.load(f)
        c = pg_harness.PgCluster.__new__(pg_harness.PgCluster)
        c.__dict__.update(s)
        db = "t_" + uuid.uuid4().hex[:12]
        uri = c.createdb(db)
        env = dict(os.environ, NIMBUS_TEST_PG_URI=uri)
        try:
            return subprocess.run(sys.argv[3:], env=env).returncode
        finally:
            try:
                c.psql('DROP DATABASE "%s" WITH (FORCE)' % db)
            except AssertionError as e:
                print(e, file=sys.stderr)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
