"""The console's pure parts: one-time links, sessions, what the walk test counts as seeing
someone, rates, the mounting check, the test alarm's steps and hidden secrets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gateway.config import SensorConfig
from gateway.console import mounting
from gateway.console.auth import Gate, LinkBook
from gateway.console.live import LiveState
from gateway.console.test_alarm import SentTestAlarms
from gateway.console.views import HIDDEN, _hide
from gateway.console.walk import sees_someone
from gateway.outbox import Entry
from sensordata.readings import (
    AccelBlock,
    Battery,
    Contact,
    HeartRate,
    LinkQuality,
    Motion,
    RadarPoints,
    RadarTargets,
    Target,
)


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_a_one_time_link_logs_in_once_and_only_before_it_expires(tmp_path):
    clock = Clock()
    book = LinkBook(tmp_path / "links.json", clock=clock)
    first, second = book.issue(minutes=10), book.issue(minutes=10)
    assert first not in (tmp_path / "links.json").read_text(), "only hashes are stored"
    assert (tmp_path / "links.json").stat().st_mode & 0o077 == 0
    assert book.consume(first) and not book.consume(first)
    clock.t += 601
    assert not book.consume(second), "expired"
    assert not book.consume("made-up")


def test_sessions_expire_and_tokens_compare_exactly():
    clock = Clock()
    gate = Gate(needs_login=True, token="t" * 20, links=None, session_s=60, clock=clock)
    sid = gate.open_session()
    assert gate.has_session(sid) and not gate.has_session("other") and not gate.has_session(None)
    clock.t += 61
    assert not gate.has_session(sid)
    assert gate.token_ok("t" * 20) and not gate.token_ok("t" * 19) and not gate.token_ok(None)
    assert not Gate(True, None, None, 60).token_ok(""), "no token configured: no token works"
    assert not gate.link_ok("anything"), "links off: no link works"


def test_the_walk_test_counts_what_shows_a_person():
    rng = np.random.default_rng(1)
    t = np.arange(50) / 50
    still = AccelBlock("w", t, np.tile([0.0, 0.0, 1.0], (50, 1)) + rng.normal(0, 0.005, (50, 3)))
    walking = AccelBlock("w", t, np.c_[0.3 * np.sin(12 * t), np.zeros(50), 1 + 0.3 * np.cos(12 * t)])
    assert sees_someone(walking) and not sees_someone(still)
    assert sees_someone(Motion("p", 0, True)) and not sees_someone(Motion("p", 0, False))
    assert sees_someone(Contact("d", 0, True)) and not sees_someone(Contact("d", 0, False))
    assert sees_someone(RadarTargets("r", 0, 1, (Target(1, 0.0, 2.0, 1.0),)))
    assert not sees_someone(RadarTargets("r", 0, 1, ()))
    assert not sees_someone(RadarPoints("r", 0, 1, np.zeros((3, 5), np.float32))), "clutter"
    assert sees_someone(RadarPoints("r", 0, 1, np.zeros((12, 5), np.float32)))
    assert not sees_someone(HeartRate("w", 0, 70)) and not sees_someone(Battery("w", 0, 80.0))


def test_live_state_keeps_rates_radar_frames_and_walk_ticks():
    mono = Clock(0.0)
    live = LiveState(mono=mono, wall=Clock(1.7e9))
    live.start_walk()
    for i in range(100):  # 10 s of a 10 Hz radar: targets and points each frame
        mono.t = i / 10
        live.tap([RadarTargets("r", i, i, (Target(7, 0.5, 2.0, 0.9, height=1.6),)),
                  RadarPoints("r", i, i, np.ones((400, 5), np.float32))])
    rate, kind = live.sensors["r"].rate(mono.t)
    assert abs(rate - 10.0) < 0.2 and kind in ("radar_targets", "radar_points")
    frame = live.radar["r"]
    assert frame.targets == [{"tid": 7, "x": 0.5, "y": 2.0, "z": 0.9, "height": 1.6}]
    assert len(frame.points) == 300, "a frame's points are capped for the page"
    assert live.walk.seen["r"]["count"] == 200
    live.tap([LinkQuality("z", 0, lqi=87)])
    assert live.sensors["z"].lqi == 87
    live.stop_walk()
    live.tap([Motion("p", 0, True)])
    assert "p" not in live.walk.seen and not live.walk.running
    mono.t += 11
    assert live.sensors["r"].rate(mono.t) == (None, None), "silent for the whole window"


class Estimator:
    def feed(self, readings: Any) -> list:
        return []

    def mounting_estimate(self, sensor: str) -> Mapping[str, float] | None:
        return {"height_m": 2.45, "tilt_deg": 14.0} if sensor == "radar" else None


def test_the_mounting_check_compares_configured_with_measured_where_a_detector_measures():
    s = SensorConfig(id="radar", type="ti_mmwave", room="living",
                     settings={"port": "file:x.bin", "config": "iwr6843aop_wall",
                               "sensor_height_m": 2.0, "elevation_tilt_deg": 15.0})
    conf = mounting.configured(s)
    assert conf == {"height_m": 2.0, "tilt_deg": 15.0}
    from_chirp = SensorConfig(id="radar", type="ti_mmwave",
                              settings={"port": "file:x.bin", "config": "iwr6843aop_ceiling"})
    assert mounting.configured(from_chirp)["height_m"] is not None, "sensorPosition of the chirp config"
    ld2410 = SensorConfig(id="ld", type="hlk_ld2410", settings={"port": "/dev/null", "preset": "bedroom_wall"})
    assert mounting.configured(ld2410)["height_m"] is not None, "the preset's [mounting]"
    detectors = {"radar_fall": object(), "mounting": Estimator()}
    got = mounting.check(conf, mounting.measured(detectors, "radar"))
    assert got["height_m"]["ok"] is False and got["height_m"]["difference"] == 0.45
    assert got["tilt_deg"]["ok"] is True
    unmeasured = mounting.check(conf, mounting.measured(detectors, "other"))
    assert unmeasured["height_m"] == {"configured": 2.0, "measured": None, "tolerance": 0.2}


def test_a_test_alarm_goes_committed_sent_acknowledged_with_who_acked():
    mono, wall = Clock(50.0), Clock(1.7e9)
    tests = SentTestAlarms(mono=mono, wall=wall)
    item = tests.requested("ev-1", 7)
    assert tests.to_json()[0]["step"] == "requested"
    entry = Entry(event=None, attempts=0)  # type: ignore[arg-type]
    tests.committed(item, True, entry)
    assert tests.to_json()[0]["step"] == "committed"
    entry.attempts, entry.first_sent = 1, 50.0
    mono.t, wall.t = 51.0, 1.7e9 + 1
    assert tests.to_json()[0]["step"] == "sent" and tests.to_json()[0]["attempts"] == 1
    tests.acknowledged("other", "op-9", wall.t)
    tests.acknowledged("ev-1", "operator-7", wall.t)
    got = tests.to_json()[0]
    assert (got["step"], got["acknowledged_by"]) == ("acknowledged", "operator-7")


def test_secrets_are_hidden_but_the_names_of_environment_variables_are_shown():
    data = {"mqtt": {"password_env": "MQTT_PASSWORD", "url": "mqtt://x"},
            "sensors": [{"settings": {"api_key": "abc", "password": "p", "port": "/dev/ttyUSB0"}}],
            "console": {"token_env": "CONSOLE_TOKEN", "token": None}}
    got = _hide(data)
    assert got["mqtt"]["password_env"] == "MQTT_PASSWORD"
    assert got["sensors"][0]["settings"] == {"api_key": HIDDEN, "password": HIDDEN, "port": "/dev/ttyUSB0"}
    assert got["console"] == {"token_env": "CONSOLE_TOKEN", "token": None}


def test_every_page_text_exists_in_finnish_swedish_and_english():
    import re

    from gateway.console.server import STATIC
    source = (STATIC / "i18n.js").read_text(encoding="utf-8")
    blocks = dict(re.findall(r"\n  (en|fi|sv): \{(.*?)\n  \},", source, re.DOTALL))
    keys = {lang: set(re.findall(r"(\w+): \"", body)) for lang, body in blocks.items()}
    assert set(keys) == {"en", "fi", "sv"} and len(keys["en"]) > 100
    assert keys["fi"] == keys["en"] and keys["sv"] == keys["en"]
    used = set(re.findall(r"data-t=\"(\w+)\"", (STATIC / "index.html").read_text(encoding="utf-8")))
    used |= set(re.findall(r"\bt\(\"(\w+)\"", (STATIC / "app.js").read_text(encoding="utf-8")))
    used = {k for k in used if not k.endswith("_")}  # prefixes such as t("kind_" + kind)
    assert used <= keys["en"], used - keys["en"]
    for kind in ("accel", "heart_rate", "motion", "contact", "button", "presence", "radar_targets",
                 "radar_points", "fall_flag", "battery", "link", "availability"):
        assert f"kind_{kind}" in keys["en"]
    for state in ("ok", "waiting", "silent", "failed", "silenced"):
        assert f"state_{state}" in keys["en"]


def test_each_client_has_its_own_bucket_and_the_table_stays_bounded():
    from gateway.console.limits import Buckets
    clock = Clock()
    b = Buckets(rate=1.0, burst=3, max_keys=100, clock=clock)
    assert [b.take("10.0.0.66") for _ in range(5)] == [True, True, True, False, False]
    assert b.take("10.0.0.7"), "another client is not slowed by the first one's flood"
    assert b.empty("10.0.0.66") and b.retry_after("10.0.0.66") == 1.0
    clock.t += 1.0
    assert b.take("10.0.0.66") and not b.take("10.0.0.66")
    for n in range(1000):
        b.take(f"10.1.{n // 256}.{n % 256}")
    assert len(b._table) == 100


def test_an_ipv6_client_is_counted_by_its_64_and_a_mapped_ipv4_as_itself():
    from gateway.console.limits import client_key
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert client_key("::ffff:192.168.1.20") == "192.168.1.20"
    assert client_key("::1") == "::1" and client_key("127.0.0.2") == "127.0.0.2"


def test_a_throttled_log_line_is_written_once_then_summarised_with_counts(caplog):
    import logging

    from gateway.console.limits import Throttled
    clock = Clock()
    t = Throttled(logging.getLogger("safehome.test"), "login refused", interval_s=60, clock=clock)
    with caplog.at_level(logging.WARNING, logger="safehome.test"):
        for n in range(500):
            t.note("10.0.0.66" if n % 5 else "10.0.0.7", "wrong token")
            clock.t += 0.01
        t.tick()                              # the minute is not over: nothing more yet
        clock.t += 60
        t.tick()                              # one summary line for the minute
        t.note("10.0.0.66", "wrong token")   # the next minute: held for its summary
        clock.t += 60
        t.tick()
        clock.t += 61
        t.tick()                              # nothing held: nothing written
        t.note("10.0.0.66", "wrong token")   # a quiet minute later: written at once again
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["login refused from 10.0.0.7 (wrong token)",
                     "login refused: 499 more in the last 65 s from 2 address(es) "
                     "(10.0.0.66 x400, 10.0.0.7 x99)",
                     "login refused: 1 more in the last 60 s from 1 address(es) (10.0.0.66 x1)",
                     "login refused from 10.0.0.66 (wrong token)"]
    assert t.total == 502
