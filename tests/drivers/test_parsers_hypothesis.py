"""Hostile input for every parser of the LD2410, Seeed, BLE and Zigbee2MQTT drivers.

Properties:
- arbitrary bytes, cut into arbitrary chunks, never raise out of a stream parser;
- valid frames buried in garbage (garbage that holds no frame start byte) are all
  recovered, in order, exactly, however the stream is chunked;
- a frame whose checksum (or tail) is damaged is not returned, and is counted;
- payload decoders (BLE, Zigbee2MQTT) raise nothing but their documented PayloadError.
"""

from __future__ import annotations

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.base import SensorInfo
from drivers.ble import parsers as PP
from drivers.ld2410 import protocol as P
from drivers.ld2410.parser import LD2410Parser
from drivers.seeed import fda1, fda2
from drivers.zigbee2mqtt import Settings as ZSettings
from drivers.zigbee2mqtt import Zigbee2MqttDriver

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

u8 = st.integers(0, 255)
u16 = st.integers(0, 0xFFFF)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, prev = [], 0
    for p in points + [len(data)]:
        out.append(data[prev:p])
        prev = p
    return out


def feed_all(parser, data: bytes, cuts: list[int]) -> list:
    out = []
    for chunk in chunked(data, cuts):
        out += parser.feed(chunk)
    return out


def garbage_without(*forbidden: int):
    return st.binary(max_size=40).map(lambda b: bytes(x for x in b if x not in forbidden))


cuts = st.lists(st.integers(0, 10_000), max_size=12)


# ------------------------------------------------------------------ LD2410

@st.composite
def ld2410_frames(draw):
    kind = draw(st.sampled_from(["basic", "eng", "ack", "cmd"]))
    if kind in ("basic", "eng"):
        base = dict(state=draw(st.integers(0, 3)), moving_distance_cm=draw(u16),
                    moving_energy=draw(u8), still_distance_cm=draw(u16),
                    still_energy=draw(u8), detection_distance_cm=draw(u16))
        if kind == "basic":
            return P.Report(False, **base)
        mg, sg = draw(st.integers(0, 8)), draw(st.integers(0, 8))
        light = draw(st.none() | u8)
        out_pin = draw(st.none() | st.booleans()) if light is not None else None
        return P.Report(True, **base, max_moving_gate=mg, max_still_gate=sg,
                        moving_gate_energy=tuple(draw(st.lists(u8, min_size=mg + 1, max_size=mg + 1))),
                        still_gate_energy=tuple(draw(st.lists(u8, min_size=sg + 1, max_size=sg + 1))),
                        light=light, out_pin=out_pin)
    command = draw(st.integers(0, 0xFF))
    data = draw(st.binary(max_size=40))
    if kind == "ack":
        return P.Ack(command, draw(u16), data)
    return P.Command(command, data)


def ld2410_encode(f) -> bytes:
    if isinstance(f, P.Report):
        return P.encode_report(f)
    if isinstance(f, P.Ack):
        return P.encode_ack(f.command, f.status, f.data)
    return P.encode_command(f.command, f.value)


@SETTINGS
@given(st.binary(max_size=600), cuts)
def test_ld2410_arbitrary_bytes_never_raise(data, cut):
    p = LD2410Parser()
    frames = feed_all(p, data, cut)
    assert p.stats["frames"] == len(frames)
    assert p.stats["bytes_discarded"] + p.pending <= len(data)


@SETTINGS
@given(st.lists(st.tuples(garbage_without(0xF4, 0xFD), ld2410_frames()), max_size=8),
       garbage_without(0xF4, 0xFD), cuts)
def test_ld2410_frames_in_garbage_all_recovered(items, tail, cut):
    stream = b"".join(g + ld2410_encode(f) for g, f in items) + tail
    p = LD2410Parser()
    assert feed_all(p, stream, cut) == [f for _, f in items]
    assert p.stats["bytes_discarded"] + p.pending == sum(len(g) for g, _ in items) + len(tail)


@SETTINGS
@given(ld2410_frames(), st.integers(1, 4))
def test_ld2410_damaged_tail_is_counted_and_next_frame_survives(frame, k):
    raw = bytearray(ld2410_encode(frame))
    raw[-k] ^= 0xFF
    good = ld2410_encode(frame)
    p = LD2410Parser()
    assert p.feed(bytes(raw) + good) == [frame]
    assert p.stats["bad_frames"] >= 1


# ------------------------------------------------------------------ MR60FDA2

fda2_frames = st.builds(fda2.Frame, type=u16, data=st.binary(max_size=64), id=u16)


@SETTINGS
@given(st.binary(max_size=600), cuts)
def test_fda2_arbitrary_bytes_never_raise(data, cut):
    p = fda2.FDA2Parser()
    frames = feed_all(p, data, cut)
    assert p.stats["frames"] == len(frames)


@SETTINGS
@given(st.lists(st.tuples(garbage_without(fda2.SOF), fda2_frames), max_size=8),
       garbage_without(fda2.SOF), cuts)
def test_fda2_frames_in_garbage_all_recovered(items, tail, cut):
    stream = b"".join(g + fda2.encode(f) for g, f in items) + tail
    p = fda2.FDA2Parser()
    assert feed_all(p, stream, cut) == [f for _, f in items]


@SETTINGS
@given(fda2_frames.filter(lambda f: f.data), st.sampled_from(["head", "data"]), st.integers(1, 255))
def test_fda2_checksum_errors_counted(frame, where, flip):
    raw = bytearray(fda2.encode(frame))
    raw[7 if where == "head" else -1] ^= flip
    p = fda2.FDA2Parser()
    assert frame not in p.feed(bytes(raw))
    assert p.stats["checksum_errors"] >= 1


# ------------------------------------------------------------------ MR60FDA1

fda1_frames = st.builds(fda1.Frame, control=u8, command=u8, data=st.binary(max_size=32))


@SETTINGS
@given(st.binary(max_size=600), cuts)
def test_fda1_arbitrary_bytes_never_raise(data, cut):
    p = fda1.FDA1Parser()
    frames = feed_all(p, data, cut)
    assert p.stats["frames"] == len(frames)


@SETTINGS
@given(st.lists(st.tuples(garbage_without(0x53), fda1_frames), max_size=8),
       garbage_without(0x53), cuts)
def test_fda1_frames_in_garbage_all_recovered(items, tail, cut):
    stream = b"".join(g + fda1.encode(f) for g, f in items) + tail
    p = fda1.FDA1Parser()
    assert feed_all(p, stream, cut) == [f for _, f in items]


@SETTINGS
@given(fda1_frames, st.integers(1, 255))
def test_fda1_checksum_errors_counted(frame, flip):
    raw = bytearray(fda1.encode(frame))
    raw[-3] = (raw[-3] + flip) & 0xFF
    p = fda1.FDA1Parser()
    assert p.feed(bytes(raw)) == []
    assert p.stats["checksum_errors"] == 1


# ------------------------------------------------------------------ BLE payloads

@SETTINGS
@given(st.binary(max_size=40))
def test_heart_rate_arbitrary_bytes_only_payload_error(data):
    try:
        m = PP.parse_heart_rate(data)
    except PP.PayloadError:
        return
    assert 0 <= m.bpm <= 0xFFFF and all(0 <= r < 64 for r in m.rr_s)


@SETTINGS
@given(st.integers(0, 0xFFFF), st.none() | st.booleans(), st.none() | u16,
       st.lists(u16, max_size=8))
def test_heart_rate_round_trip(bpm, contact, energy, rr):
    m = PP.parse_heart_rate(PP.encode_heart_rate(bpm, contact, energy, tuple(rr)))
    assert (m.bpm, m.contact, m.energy_kj) == (bpm, contact, energy)
    assert m.rr_s == tuple(v / 1024 for v in rr)


@SETTINGS
@given(st.binary(max_size=120), st.floats(0.001, 10))
def test_pmd_arbitrary_bytes_only_payload_error(data, factor):
    try:
        mg = PP.acc_samples_mg(PP.parse_pmd_header(data), factor)
    except PP.PayloadError:
        return
    assert mg.ndim == 2 and mg.shape[1] == 3


@SETTINGS
@given(st.lists(st.tuples(*[st.integers(-2000, 2000)] * 3), min_size=1, max_size=30),
       st.integers(13, 16))  # deltas of up to 4000 need 13 bits
def test_pmd_delta_round_trip(samples, width):
    samples = [list(s) for s in samples]
    payload = PP.encode_delta_frames(samples, 16, width)
    assert PP.decode_delta_frames(payload, 3, 16) == samples
    frame = b"\x02" + (123).to_bytes(8, "little") + b"\x81" + payload
    mg = PP.acc_samples_mg(PP.parse_pmd_header(frame))
    assert np.array_equal(mg, np.asarray(samples, dtype=float))


@SETTINGS
@given(st.binary(max_size=30))
def test_pmd_response_and_factor_never_raise_otherwise(data):
    try:
        r = PP.parse_pmd_response(data)
    except PP.PayloadError:
        return
    assert PP.pmd_factor(r.parameters) > 0
    try:
        available = PP.parse_pmd_settings(r.parameters)
    except PP.PayloadError:
        return
    assert all(isinstance(v, list) for v in available.values())


# ------------------------------------------------------------------ Zigbee2MQTT payloads

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["occupancy", "contact", "action", "battery", "battery_low",
                         "linkquality", "last_seen", "state", "x"]), inner, max_size=5),
    max_leaves=10)


@SETTINGS
@given(st.lists(st.tuples(
    st.sampled_from(["zigbee2mqtt/m", "zigbee2mqtt/c", "zigbee2mqtt/s", "zigbee2mqtt/m/availability",
                     "zigbee2mqtt/bridge/state", "zigbee2mqtt/other"]),
    st.binary(max_size=30) | json_values.map(lambda v: json.dumps(v).encode()),
    st.booleans()), max_size=15))
def test_zigbee2mqtt_arbitrary_messages_never_raise(messages):
    drv = Zigbee2MqttDriver(SensorInfo("z", None, "zigbee2mqtt"), ZSettings(devices=[
        {"friendly_name": "m", "role": "motion"}, {"friendly_name": "c", "role": "contact"},
        {"friendly_name": "s", "role": "sos_button"}]))
    for topic, payload, retained in messages:
        for r in drv.handle(topic, payload, retained, 1.0):
            assert r.sensor in ("m", "c", "s")
