#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Writes the seed corpus of fuzz_ws_frame (tests/fuzz/corpus/ws_frame/):
# what clients send after the handshake, as masked frames: every client
# message of the contract, fragmented messages with a ping between the
# fragments, each length form, and a close. Run once and commit its
# output; the fuzzer reads the files, not this script.
#   tests/fuzz/seeds/make_ws_frame.py
import json
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus", "ws_frame")
KEY = b"\x12\x34\x56\x78"


def frame(payload, op=1, fin=True, form=None):
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload)
    form = form or (7 if n < 126 else 16 if n <= 0xFFFF else 64)
    head = bytes([(0x80 if fin else 0) | op])
    if form == 7:
        head += bytes([0x80 | n])
    elif form == 16:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + KEY + bytes(b ^ KEY[i % 4] for i, b in enumerate(payload))


def msg(obj):
    return frame(json.dumps(obj, separators=(",", ":")))


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


os.makedirs(OUT, exist_ok=True)
sub = {"type": "subscribe", "id": "s1", "stations": ["st-1"], "fromSeq": 0}
write("subscribe", msg(sub) + msg({"type": "unsubscribe", "id": "s1"}))
write("subscribe-all", msg({"type": "subscribe", "id": "a"}) + msg({"type": "subscribe", "id": "a"}))
write("subscribe-snapshot", msg({"type": "subscribe", "id": "snap", "stations": ["st-1"],
                                 "snapshot": True, "heartbeat": 5}))
write("subscribe-missing", msg({"type": "subscribe", "id": "m", "stations": ["nope"], "fromSeq": 99}))
write("call-get", msg({"type": "call", "id": "c1", "op": "GetStation", "params": {"id": "st-1"}}))
write("call-list", msg({"type": "call", "id": "c2", "op": "ListStations", "params": {"limit": 5.0}}))
write("call-record", msg({"type": "call", "id": "c3", "op": "RecordObservations", "params": {
    "stationId": "st-1", "observations": [{"observedAt": "2024-05-01T12:00:00Z", "temperature": 14.5},
                                          {"observedAt": "2024-05-01T12:10:00+01:00", "humidity": 80}]}})
      + msg({"type": "call", "id": "c4", "op": "GetObservations", "params": {"stationId": "st-1"}}))
write("call-create", msg({"type": "call", "id": "c5", "op": "CreateStation", "params": {"station": {
    "id": "st-2", "name": "Hill", "city": "Wellington", "country": "NZ", "latitude": -41.3,
    "longitude": 174.7}}}) + msg({"type": "call", "id": "c6", "op": "GetCityWeather",
                                  "params": {"city": "Wellington"}}))
write("malformed", frame("{\"type\":\"subscribe\",\"id\":") + frame("[1,2]") + frame("{\"id\":7}")
      + frame("{\"type\":\"nope\",\"id\":\"x\"}"))
text = json.dumps({"type": "call", "id": "frag", "op": "GetWeather", "params": {"stationId": "st-1"}})
write("fragmented", frame(text[:10], fin=False) + frame(b"hi", op=9) + frame(text[10:30], op=0, fin=False)
      + frame(text[30:], op=0))
write("length-forms", frame(json.dumps({"type": "unsubscribe", "id": "u"}), form=16)
      + frame(json.dumps({"type": "unsubscribe", "id": "v"}), form=64)
      + frame("x" * 200 + "\"", form=16))
write("close", msg({"type": "unsubscribe", "id": "z"}) + frame(b"\x03\xe8bye", op=8))
write("bad-utf8", frame(b"{\"type\":\"\xc0\xaf\"}"))
write("binary", frame(b"\x00\x01", op=2))
