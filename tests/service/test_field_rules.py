# SPDX-License-Identifier: GPL-3.0-or-later
"""field_rules: the core's one definition of every field rule
(NIMBUS_RULES and the field tables, printed by dump_fields) against the
WSDL, the other source of truth, which SOAP clients read:

- every xsd:simpleType but ErrorCode is a rule of the same name, of the
  same base type, with the same bounds (min/maxInclusive, min/maxLength or
  length) and pattern, and every rule is a simpleType;
- every contract type (Station, Observation, Summary, WeatherReport) and
  every operation's request and response wrapper element lists the same
  fields in the same order, each as required or optional alike, of the same
  type (a rule's simpleType, a contract type, or the XSD built-in the
  field's kind stands for), repeated elements named in the singular with
  the same occurrence bounds. Request fields marked as extensions (REST's
  UpdateStation id) have no element.

Any difference fails naming the type and field ("Observation.temperature").
Usage: test_field_rules.py DUMP_FIELDS_BINARY
"""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
XSD = "{http://www.w3.org/2001/XMLSchema}"
BASE = {"ID": "xsd:string", "TEXT": "xsd:string", "COUNTRY": "xsd:string",
        "OPAQUE": "xsd:string", "RANGE": "xsd:double", "INTEGER": "xsd:int"}
BUILTIN = {"string": "xsd:string", "double": "xsd:double", "dateTime": "xsd:dateTime",
           "long": "xsd:long", "int": "xsd:int"}


def facets(simple):
    r = simple.find(XSD + "restriction")
    out = {"base": r.get("base")}
    for f in r:
        tag = f.tag.replace(XSD, "")
        out.setdefault(tag, f.get("value"))
    return out


def main():
    tables = json.loads(subprocess.run([sys.argv[1]], capture_output=True, text=True,
                                       check=True).stdout)
    schema = ET.parse(os.path.join(REPO, "wsdl", "nimbus.wsdl")).getroot().find(
        ".//" + XSD + "schema")
    problems = []

    simple = {s.get("name"): facets(s) for s in schema.findall(XSD + "simpleType")}
    simple.pop("ErrorCode", None)
    rules = {r["name"]: r for r in tables["rules"]}
    for name in sorted(set(simple) - set(rules)):
        problems.append("simpleType %s is in the WSDL but not in NIMBUS_RULES" % name)
    for name in sorted(set(rules) - set(simple)):
        problems.append("rule %s is in NIMBUS_RULES but not a simpleType of the WSDL" % name)
    for name in sorted(set(rules) & set(simple)):
        r, s = rules[name], simple[name]
        if BASE[r["kind"]] != s["base"]:
            problems.append("%s: base %s, rule kind %s" % (name, s["base"], r["kind"]))
        if r["kind"] in ("RANGE", "INTEGER"):
            lo, hi = s.get("minInclusive"), s.get("maxInclusive")
        else:
            lo = s.get("minLength", s.get("length"))
            hi = s.get("maxLength", s.get("length"))
        if lo is None or hi is None or float(lo) != r["min"] or float(hi) != r["max"]:
            problems.append("%s: WSDL bounds %s..%s, rule %s..%s" % (name, lo, hi, r["min"],
                                                                      r["max"]))
        if s.get("pattern") != r["pattern"]:
            problems.append("%s: WSDL pattern %s, rule %s" % (name, s.get("pattern"),
                                                               r["pattern"]))

    def sequence(el):
        return el.find(".//" + XSD + "sequence")

    elements = {}
    for ct in schema.findall(XSD + "complexType"):
        elements[ct.get("name")] = sequence(ct)
    for el in schema.findall(XSD + "element"):
        elements[el.get("name")] = sequence(el)
    elements.pop("ServiceFault", None)

    types = tables["types"]
    for name in sorted(set(elements) - set(types)):
        problems.append("%s is in the WSDL but has no field table" % name)
    for name in sorted(set(types) - set(elements)):
        problems.append("field table %s has no element or type in the WSDL" % name)
    for name in sorted(set(types) & set(elements)):
        seq = elements[name]
        wsdl = [] if seq is None else list(seq)
        ours = [f for f in types[name] if not f["extension"]]
        wsdl_names = [e.get("name") for e in wsdl]
        our_names = [f["item"] or f["name"] for f in ours]
        for missing in [n for n in wsdl_names if n not in our_names]:
            problems.append("%s.%s is in the WSDL but not in the field table" % (name, missing))
        for extra in [n for n in our_names if n not in wsdl_names]:
            problems.append("%s.%s is in the field table but not in the WSDL" % (name, extra))
        if set(wsdl_names) == set(our_names) and wsdl_names != our_names:
            problems.append("%s: WSDL order %s, field table order %s" % (name, wsdl_names,
                                                                        our_names))
        by_name = {e.get("name"): e for e in wsdl}
        for f in ours:
            e = by_name.get(f["item"] or f["name"])
            if e is None:
                continue
            where = "%s.%s" % (name, f["name"])
            min_occurs = int(e.get("minOccurs", "1"))
            max_occurs = e.get("maxOccurs", "1")
            if f["kind"] == "array":
                want_max = "unbounded" if f["maxItems"] == 0 else str(f["maxItems"])
                if min_occurs != f["minItems"] or max_occurs != want_max:
                    problems.append("%s: WSDL occurs %d..%s, table %d..%s" % (
                        where, min_occurs, max_occurs, f["minItems"], want_max))
            else:
                if (min_occurs == 1) != f["required"]:
                    problems.append("%s: WSDL minOccurs %d, table %s" % (
                        where, min_occurs, "required" if f["required"] else "optional"))
                if max_occurs != "1":
                    problems.append("%s: WSDL maxOccurs %s for a single field" % (where,
                                                                                  max_occurs))
            wsdl_type = e.get("type")
            if f["rule"]:
                want = "tns:" + f["rule"]
            elif f["type"]:
                want = "tns:" + f["type"]
            else:
                want = BUILTIN[f["kind"]]
            if wsdl_type != want:
                problems.append("%s: WSDL type %s, table %s" % (where, wsdl_type, want))
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print("field_rules: %d rules and %d field tables agree with the WSDL" % (len(rules),
                                                                           len(types)))


if __name__ == "__main__":
    main()
