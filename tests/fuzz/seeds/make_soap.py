#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Writes the seed corpus of fuzz_soap (tests/fuzz/corpus/soap/): realistic
# requests of every operation in both SOAP versions, with each way of
# presenting credentials, plus refusals the pre-parse scan knows. Run once
# and commit its output; the fuzzer reads the files, not this script.
#   tests/fuzz/seeds/make_soap.py
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus", "soap")
NS = "urn:nimbus:weather:v1"
ENV = {1: "http://schemas.xmlsoap.org/soap/envelope/", 2: "http://www.w3.org/2003/05/soap-envelope"}
OPS = ["ListStations", "GetStation", "CreateStation", "UpdateStation", "DeleteStation",
       "RecordObservations", "GetObservations", "GetWeather", "GetCityWeather"]
STATION = ("<n:station><n:id>st-1</n:id><n:name>Harbour</n:name><n:city>Wellington</n:city>"
           "<n:country>NZ</n:country><n:latitude>-41.29</n:latitude><n:longitude>174.78</n:longitude>"
           "<n:elevation>12.5</n:elevation></n:station>")
OBS = ("<n:observation><n:observedAt>2024-05-01T12:00:00Z</n:observedAt><n:temperature>14.5"
       "</n:temperature><n:humidity>80</n:humidity><n:pressure>1013.2</n:pressure><n:windSpeed>4.1"
       "</n:windSpeed><n:windDirection>270</n:windDirection><n:precipitation>0.2</n:precipitation>"
       "</n:observation>")
BODIES = {
    "ListStations": "<n:ListStations><n:city>Wellington</n:city><n:limit>10</n:limit></n:ListStations>",
    "GetStation": "<n:GetStation><n:id>st-1</n:id></n:GetStation>",
    "CreateStation": "<n:CreateStation>" + STATION + "</n:CreateStation>",
    "UpdateStation": "<n:UpdateStation>" + STATION.replace("Harbour", "Harbour &amp; Quay") + "</n:UpdateStation>",
    "DeleteStation": "<n:DeleteStation><n:id>st-9</n:id></n:DeleteStation>",
    "RecordObservations": "<n:RecordObservations><n:stationId>st-1</n:stationId>" + OBS +
        OBS.replace("12:00:00Z", "12:10:00.5+01:00") + "</n:RecordObservations>",
    "GetObservations": "<n:GetObservations><n:stationId>st-1</n:stationId><n:from>2024-05-01T00:00:00Z"
        "</n:from><n:to>2024-05-02T00:00:00Z</n:to><n:limit>5</n:limit></n:GetObservations>",
    "GetWeather": "<n:GetWeather><n:stationId>st-1</n:stationId></n:GetWeather>",
    "GetCityWeather": "<n:GetCityWeather><n:city>Wellington</n:city><n:country>NZ</n:country></n:GetCityWeather>",
}
WSSE = ("<s:Header><wsse:Security xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/"
        "oasis-200401-wss-wssecurity-secext-1.0.xsd\"><wsse:UsernameToken><wsse:Username>admin"
        "</wsse:Username><wsse:Password Type=\"http://docs.oasis-open.org/wss/2004/01/"
        "oasis-200401-wss-username-token-profile-1.0#PasswordText\">fuzz-admin-secret</wsse:Password>"
        "</wsse:UsernameToken></wsse:Security></s:Header>")


def envelope(version, body, header="", prolog='<?xml version="1.0" encoding="UTF-8"?>'):
    return ('%s<s:Envelope xmlns:s="%s" xmlns:n="%s">%s<s:Body>%s</s:Body></s:Envelope>'
            % (prolog, ENV[version], NS, header, body)).encode()


def write(name, flags, op, body):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([flags, op]) + body)


os.makedirs(OUT, exist_ok=True)
for i, op in enumerate(OPS):
    for v in (1, 2):
        # admin Bearer key and the action header; v2 also as the reader (Basic).
        write("%s-%d" % (op, v), (v - 1) | (1 << 1) | 8, i, envelope(v, BODIES[op]))
    write("%s-reader" % op, 1 | (2 << 1), i, envelope(2, BODIES[op]))
write("wsse-create", 0, 2, envelope(1, BODIES["CreateStation"], WSSE))
write("wrong-key", 3 << 1, 1, envelope(1, BODIES["GetStation"]))
write("gzip-record", (1 << 1) | 16, 5, envelope(1, BODIES["RecordObservations"]))
write("doctype", 1 << 1, 0, envelope(1, BODIES["GetStation"], prolog='<?xml version="1.0"?><!DOCTYPE s:Envelope>'))
write("entity-ref", 1 << 1, 0, envelope(1, "<n:GetStation><n:id>&nbsp;&#x1F600;&#0;</n:id></n:GetStation>"))
write("two-children", 1 << 1, 0, envelope(1, BODIES["GetStation"] + BODIES["GetWeather"]))
write("latin1", 1 << 1, 0, envelope(1, BODIES["GetStation"], prolog='<?xml version="1.0" encoding="ISO-8859-1"?>'))
write("binary-type", 1 << 1, 0, envelope(1, '<n:GetStation xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><n:id xsi:type="xsd:base64Binary">c3Q=</n:id></n:GetStation>'))
write("many-attrs", 1 << 1, 0, envelope(1, "<n:GetStation %s><n:id>st-1</n:id></n:GetStation>" % " ".join('a%d="1"' % k for k in range(40))))
write("unknown-op", 1 << 1, 0, envelope(1, "<n:Frobnicate/>"))
write("cdata-comment", 1 << 1, 1, envelope(1, "<!-- c --><n:GetStation><n:id><![CDATA[st-1]]></n:id></n:GetStation>"))
