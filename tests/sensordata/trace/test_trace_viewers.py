"""Traces that Foxglove and the official MCAP tools can show (issue 14).

The official MCAP reader (the `mcap` package) must list a schema for every channel of a
simulated trace; accelerometer and radar channels must be CDR with ros2msg schemas (what
Foxglove decodes for ROS 2 files), decodable by the official `mcap-ros2-support` decoder
without Safehome's code; every JSON message must be valid against its channel's JSON
Schema. In version 3 an accelerometer or radar message is one window of a stream as
columns (`t0` + `dt[]`, `x[]`, ...), and what the official decoder reads is exactly what
Safehome reads. Version 1 traces are still read.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from mcap.reader import make_reader

from sensordata.readings import AccelBlock, reading_time
from sensordata.trace import TraceReader, TraceWriter
from simulator.engine import simulate_to
from simulator.scenario import load_scenario
from tests.sensordata.trace.test_trace_format import T0, every_kind, same

REPO = Path(__file__).resolve().parents[3]

mcap_ros2 = pytest.importorskip("mcap_ros2.decoder")


@pytest.fixture(scope="module")
def demo_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("viewers") / "demo.mcap"
    simulate_to(str(path), load_scenario(REPO / "simulator" / "scenarios" / "demo.toml"), seed=0)
    return path


def test_the_official_reader_lists_a_schema_for_every_channel(demo_trace: Path) -> None:
    with open(demo_trace, "rb") as fh:
        summary = make_reader(fh).get_summary()
    assert summary is not None and summary.channels
    encodings = {}
    for ch in summary.channels.values():
        schema = summary.schemas.get(ch.schema_id)
        assert schema is not None and schema.data, f"{ch.topic} has no schema"
        encodings[ch.metadata.get("kind", ch.topic)] = (ch.message_encoding, schema.encoding)
    assert encodings["accel"] == ("cdr", "ros2msg")
    assert encodings["radar_targets"] == ("cdr", "ros2msg")
    for kind in ("motion", "contact", "heart_rate", "labels"):
        assert encodings[kind] == ("json", "jsonschema"), kind


def _official_messages(path: Path):  # type: ignore[no-untyped-def]
    """(kind, channel, message, decoded) for every message, decoded by the official
    decoders only: mcap-ros2-support for CDR, json + the channel's JSON Schema."""
    schemas: dict[int, dict] = {}
    with open(path, "rb") as fh:
        reader = make_reader(fh, decoder_factories=[mcap_ros2.DecoderFactory()])
        for schema, channel, message in reader.iter_messages():
            kind = channel.metadata.get("kind", channel.topic)
            if channel.message_encoding == "json":
                if schema.id not in schemas:
                    schemas[schema.id] = json.loads(schema.data)
                decoded = json.loads(message.data)
                jsonschema.validate(decoded, schemas[schema.id])
            else:
                assert channel.message_encoding == "cdr" and schema.encoding == "ros2msg"
                decoded = mcap_ros2.DecoderFactory().decoder_for("cdr", schema)(message.data)
            yield kind, channel, message, decoded


def _times(decoded) -> np.ndarray:  # type: ignore[no-untyped-def]
    """A batch's sample (frame) times as a viewer computes them: t0 + dt, or t."""
    if len(decoded.dt):
        return decoded.t0 + np.asarray(decoded.dt, dtype=np.float32).astype(np.float64)
    return np.asarray(decoded.t, dtype=np.float64)


def test_every_message_of_every_channel_decodes_with_the_official_decoders(demo_trace: Path) -> None:
    with open(demo_trace, "rb") as fh:
        summary = make_reader(fh).get_summary()
    assert summary is not None and summary.statistics is not None
    with_messages = {summary.channels[c].topic for c, n in
                     summary.statistics.channel_message_counts.items() if n}
    samples: dict[str, int] = {}
    decoded_topics = set()
    window_s = float(TraceReader(demo_trace).meta["window_s"])
    for kind, channel, message, decoded in _official_messages(demo_trace):
        decoded_topics.add(channel.topic)
        if channel.message_encoding == "json":
            samples[kind] = samples.get(kind, 0) + 1
            continue
        # one message per stream and window: columns of equal length, times in the window
        t = _times(decoded)
        assert message.log_time == message.publish_time
        assert np.all(np.abs(t - message.log_time / 1e9) <= 2 * window_s)
        if kind == "accel":
            assert len(decoded.x) == len(decoded.y) == len(decoded.z) == len(t) > 0
            assert all(-16 <= v <= 16 for v in decoded.x + decoded.y + decoded.z)
            samples[kind] = samples.get(kind, 0) + len(t)
        else:
            assert len(decoded.frame) == len(decoded.count) == len(t) > 0
            assert len(decoded.x) == len(decoded.tid) == sum(decoded.count)
            assert all(np.isfinite(v) for v in decoded.x)
            samples[kind] = samples.get(kind, 0) + len(t)
    assert decoded_topics == with_messages   # every channel decoded
    assert samples["accel"] > 10_000 and samples["radar_targets"] > 1_000
    # a window per message: the accelerometer's 50 Hz come 50 to a message
    assert summary.statistics.message_count < samples["accel"] / 10


def test_safehome_reads_what_the_official_decoder_reads(demo_trace: Path) -> None:
    ours = [r for r in TraceReader(demo_trace).readings() if isinstance(r, AccelBlock)
            and r.sensor == "wearable"]
    theirs = [d for _, ch, _, d in _official_messages(demo_trace) if ch.topic == "wearable/accel"]
    assert len(theirs) == len(ours)   # a block per window, a message per window
    assert np.array_equal(np.concatenate([b.t for b in ours]),
                          np.concatenate([_times(d) for d in theirs]))
    assert np.array_equal(np.concatenate([b.xyz[:, 0] for b in ours]),
                          np.concatenate([d.x for d in theirs]))


def test_every_kind_decodes_with_the_official_decoders_as_safehome_reads_it(tmp_path: Path) -> None:
    """Radar points, frames without targets, unknown heights and sample times that float32
    offsets cannot hold (a late packet an hour old) all decode in a viewer too."""
    written = every_kind(T0) + [AccelBlock("w", np.array([T0 - 3600.123456789, T0 + 0.5]),
                                           np.array([[0.1, 0.2, 0.3], [-0.0, 1e-300, 7.0]]))]
    path = tmp_path / "all.mcap"
    with TraceWriter(path) as w:
        for r in written:
            w.write(r)
    got = list(TraceReader(path).readings())
    by_topic: dict[str, list] = {}
    for _, ch, _, d in _official_messages(path):
        by_topic.setdefault(ch.topic, []).append(d)
    assert set(by_topic) == {f"{r.sensor}/{r.kind}" for r in written}
    blocks = {r.sensor: r for r in got if isinstance(r, AccelBlock)}
    for sensor, block in blocks.items():
        (d,) = by_topic[f"{sensor}/accel"]
        assert np.array_equal(_times(d), block.t)
        assert np.array_equal(np.column_stack([d.x, d.y, d.z]), block.xyz)
    assert len(by_topic["w/accel"][0].t) == 52   # the late packet: explicit times
    (pts,) = by_topic["radar/radar_points"]
    assert list(pts.count) == [7, 0] and len(pts.snr) == 7
    (tg,) = by_topic["radar/radar_targets"]
    assert list(tg.count) == [2, 0] and np.isnan(tg.height[1]) and list(tg.tid) == [3, 4]


def test_version_1_traces_are_still_read() -> None:
    reader = TraceReader(REPO / "tests" / "support" / "data" / "trace-v1.mcap")
    got = list(reader.readings())
    written = every_kind(T0) + every_kind(T0 + 1)
    assert reader.version == 1 and reader.damage is None
    assert len(got) == len(written)
    for r in written:
        assert sum(same(r, g) for g in got) == 1, r
    times = [reading_time(r) for r in got]
    assert times == sorted(times)
    assert [lb.what for lb in reader.labels()] == ["fall"]
