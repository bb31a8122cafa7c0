# SPDX-License-Identifier: GPL-3.0-or-later
"""rest_wsdl_table: the WSDL's portType and the operation table list the same
operations, and REST serves a route for each.

Reads wsdl/nimbus.wsdl (the SOAP contract), NIMBUS_OPERATIONS from
service/nimbus_operations.h, and the operationIds of the running server's
/v1/openapi.json (generated from the compiled table). Fails naming any
operation missing from one side, and checks each WSDL operation's input and
output messages are the contract's Op / OpResponse elements.
Usage: test_rest_wsdl_table.py NIMBUS_BINARY
"""

import os
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from nimbus_harness import NimbusServer  # noqa: E402
from rest_client import REPO, Client, expect_ok, table_rows  # noqa: E402

WSDL = "{http://schemas.xmlsoap.org/wsdl/}"


def wsdl_operations():
    root = ET.parse(os.path.join(REPO, "wsdl", "nimbus.wsdl")).getroot()
    tns = root.get("targetNamespace")
    assert tns == "urn:nimbus:weather:v1", tns
    port_types = root.findall(WSDL + "portType")
    assert len(port_types) == 1, port_types
    messages = {m.get("name"): m for m in root.findall(WSDL + "message")}
    ops = []
    for op in port_types[0].findall(WSDL + "operation"):
        name = op.get("name")
        ops.append(name)
        for io, element in (("input", name), ("output", name + "Response")):
            msg = op.find(WSDL + io).get("message").split(":")[-1]
            parts = messages[msg].findall(WSDL + "part")
            assert [p.get("element").split(":")[-1] for p in parts] == [element], (name, io)
    return ops


def main():
    wsdl = wsdl_operations()
    table = [r[0] for r in table_rows()]
    assert len(wsdl) == len(set(wsdl)), wsdl
    missing_in_table = sorted(set(wsdl) - set(table))
    missing_in_wsdl = sorted(set(table) - set(wsdl))
    assert not missing_in_table, "in the WSDL but not in NIMBUS_OPERATIONS: %s" % missing_in_table
    assert not missing_in_wsdl, "in NIMBUS_OPERATIONS but not in the WSDL: %s" % missing_in_wsdl
    with NimbusServer(sys.argv[1], workers=1) as srv:
        doc = expect_ok(Client(srv.port).get("/v1/openapi.json"))
    served = sorted(op["operationId"] for item in doc["paths"].values() for op in item.values())
    assert served == sorted(wsdl), (served, wsdl)
    print("rest_wsdl_table: %d operations agree" % len(wsdl))


if __name__ == "__main__":
    main()
