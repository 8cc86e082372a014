"""Traces that Foxglove and the official MCAP tools can show (issue 14).

The official MCAP reader (the `mcap` package) must list a schema for every channel of a
simulated trace; accelerometer and radar channels must be CDR with ros2msg schemas (what
Foxglove decodes for ROS 2 files), decodable by the official `mcap-ros2-support` decoder
without Safehome's code; every JSON message must be valid against its channel's JSON
Schema; every message is one reading whose log time is that reading's time, so a
timestamp plot shows every sample. Version 1 traces are still read.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from mcap.reader import make_reader

from sensordata.readings import AccelBlock, reading_time
from sensordata.trace import TraceReader
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


def test_every_message_decodes_with_the_official_decoders_one_reading_each(demo_trace: Path) -> None:
    schemas: dict[int, dict] = {}
    seen: dict[str, int] = {}
    with open(demo_trace, "rb") as fh:
        reader = make_reader(fh, decoder_factories=[mcap_ros2.DecoderFactory()])
        for schema, channel, message in reader.iter_messages():
            kind = channel.metadata.get("kind", channel.topic)
            seen[kind] = seen.get(kind, 0) + 1
            if channel.message_encoding == "json":
                if schema.id not in schemas:
                    schemas[schema.id] = json.loads(schema.data)
                jsonschema.validate(json.loads(message.data), schemas[schema.id])
                continue
            decoded = mcap_ros2.DecoderFactory().decoder_for("cdr", schema)(message.data)
            # one reading per message, stamped with its own time: plottable sample by sample
            assert message.log_time == round(decoded.t * 1e9)
            if kind == "accel":
                assert -16 <= decoded.x <= 16 and -16 <= decoded.y <= 16
            else:
                assert all(np.isfinite(g.x) for g in decoded.targets)
    assert seen["accel"] > 10_000 and seen["radar_targets"] > 1_000


def test_safehome_reads_what_the_official_decoder_reads(demo_trace: Path) -> None:
    ours = [r for r in TraceReader(demo_trace).readings() if isinstance(r, AccelBlock)
            and r.sensor == "wearable"]
    t = np.concatenate([b.t for b in ours])
    x = np.concatenate([b.xyz[:, 0] for b in ours])
    with open(demo_trace, "rb") as fh:
        theirs = sorted((m.log_time, d.x) for _, ch, m, d in make_reader(
            fh, decoder_factories=[mcap_ros2.DecoderFactory()]).iter_decoded_messages(
                topics=["wearable/accel"]))
    assert len(theirs) == len(t)
    order = np.argsort(t, kind="stable")
    assert np.array_equal(np.array([v for _, v in theirs]), x[order])


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
