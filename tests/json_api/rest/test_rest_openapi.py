# SPDX-License-Identifier: GPL-3.0-or-later
"""rest_openapi: GET /v1/openapi.json is a valid OpenAPI 3.1 document that
lists exactly the routes of the operation table.

Validation uses @seriousme/openapi-schema-validator (the official 3.1 JSON
schema, plus resolution of every $ref), installed from
tests/json_api/package-lock.json by the rest_openapi_npm fixture into the
build tree. The route check reads NIMBUS_OPERATIONS from the header, so a row
without a route, or a route without a row, fails here.
Usage: test_rest_openapi.py NIMBUS_BINARY NPM_DIR
"""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from nimbus_harness import NimbusServer  # noqa: E402
from rest_client import Client, expect_ok, table_rows  # noqa: E402


def main():
    binary, npm_dir = sys.argv[1], sys.argv[2]
    rows = table_rows()
    assert len(rows) == 10, rows
    with NimbusServer(binary, workers=1) as srv:
        c = Client(srv.port)
        r = c.get("/v1/openapi.json")
        doc = expect_ok(r)
        assert r.header("Content-Type") == "application/json"
        h = c.request("HEAD", "/v1/openapi.json")
        assert h.status == 200 and h.raw == b"" and h.header("Content-Length") == str(len(r.raw))
        c.close()

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(doc, f)
    try:
        out = subprocess.run(["node", os.path.join(npm_dir, "validate_openapi.mjs"), f.name],
                             capture_output=True, text=True, timeout=120)
    finally:
        os.unlink(f.name)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "valid OpenAPI 3.1" in out.stdout, out.stdout

    assert doc["openapi"].startswith("3.1")
    listed = {(m.upper(), path, op["operationId"], min(int(s) for s in op["responses"]
                                                      if s.startswith("2")))
              for path, item in doc["paths"].items() for m, op in item.items()}
    wanted = {(method, path, name, status) for name, _, _, method, path, status in rows}
    assert listed == wanted, (listed ^ wanted)
    for path, item in doc["paths"].items():
        for op in item.values():
            for p in op["parameters"]:
                if p["in"] == "path":
                    assert "{%s}" % p["name"] in path, (path, p)
            errors = [s for s in op["responses"] if s[0] in "45"]
            for s in errors:
                media = op["responses"][s]["content"]
                assert list(media) == ["application/problem+json"], (path, s)
    station = doc["components"]["schemas"]["Station"]
    assert station["required"] == ["id", "name", "city", "country", "latitude", "longitude"]
    assert station["additionalProperties"] is False
    print("rest_openapi: ok")


if __name__ == "__main__":
    main()
