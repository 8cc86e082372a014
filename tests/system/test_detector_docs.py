"""docs/writing-a-detector.md cannot rot: its example detector is extracted, installed as a
third-party plugin through the `safehome.detectors` entry-point group, validated by the
config loader and run through the gateway's real pipeline in sensor time."""

from __future__ import annotations

import re
import sys
import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from detectors import registry
from detectors.base import Detector
from gateway.config import ConfigError, parse_config
from gateway.pipeline import Pipeline
from sensordata.readings import Motion

DOC = Path(__file__).resolve().parents[2] / "docs" / "writing-a-detector.md"
TZ = ZoneInfo("Europe/Helsinki")
HOME = '''gateway_id = "gw-1"
site_id = "site-1"
[[rooms]]
id = "kitchen"
[[sensors]]
id = "pir-kitchen"
type = "demo"
room = "kitchen"
'''


def example(name: str) -> str:
    """The fenced block that follows `<!-- example: NAME -->` in the doc."""
    m = re.search(rf"<!-- example: {name} -->\s*```\w+\n(.*?)```", DOC.read_text(), re.S)
    assert m, f"example {name!r} not found in {DOC}"
    return m.group(1)


def local(day: int, hh: int, mm: int = 0) -> float:
    return datetime(2026, 11, day, hh, mm, tzinfo=TZ).timestamp()


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """The doc's detector as an installed distribution with an entry point."""
    (tmp_path / "kitchen_example.py").write_text(example("detector"))
    dist = tmp_path / "kitchen_example-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kitchen-example\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[safehome.detectors]\nkitchen_morning = kitchen_example:KitchenMorningDetector\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry._entry_points.cache_clear()
    yield registry.load("kitchen_morning")
    registry._entry_points.cache_clear()
    sys.modules.pop("kitchen_example", None)


def home(extra: str = "") -> str:
    return HOME + extra


def test_the_example_registers_as_a_detector(plugin):
    assert issubclass(plugin, Detector)
    assert "kitchen_morning" in registry.known_names()
    assert plugin.default_on is False


def test_its_config_validates_and_a_typo_is_named(plugin):
    cfg = parse_config(tomllib.loads(home(example("config"))))
    assert cfg.detector_settings()["kitchen_morning"].window == "06:30-10:30"
    # off unless the home asks for it
    assert "kitchen_morning" not in parse_config(tomllib.loads(home())).detector_settings()
    with pytest.raises(ConfigError, match="windw"):
        parse_config(tomllib.loads(home(example("config").replace("window =", "windw ="))))
    with pytest.raises(ConfigError, match="25:00"):
        parse_config(tomllib.loads(home(example("config").replace("06:30", "25:00"))))


def test_an_empty_kitchen_morning_raises_one_inactivity_alarm_through_the_pipeline(plugin):
    cfg = parse_config(tomllib.loads(home(example("config"))))
    p = Pipeline(cfg, clock=lambda: 0.0)
    events = p.feed([Motion("pir-kitchen", local(2, 5, 50), True)])  # before the window
    for minute in range(0, 6 * 60, 5):                                # 06:00 .. 12:00 ticks
        events += p.tick(local(2, 6) + minute * 60)
    alarms = [e for e in events if e.type == "inactivity"]
    assert len(alarms) == 1 and alarms[0].room == "kitchen"
    assert local(2, 10, 30) <= alarms[0].occurred_at < local(2, 10, 36)
    assert alarms[0].text["fi"] and alarms[0].text["sv"] and alarms[0].text["en"]


def test_a_kitchen_visit_in_the_window_means_no_alarm_and_state_survives_a_restart(plugin):
    cfg = parse_config(tomllib.loads(home(example("config"))))
    p = Pipeline(cfg, clock=lambda: 0.0)
    events = p.feed([Motion("pir-kitchen", local(3, 7, 15), True)])
    saved = p.detector_states()
    assert saved["kitchen_morning"]["seen_day"] is not None
    restarted = Pipeline(cfg, clock=lambda: 0.0)
    restarted.restore_states(saved)
    for minute in range(0, 5 * 60, 5):
        events += restarted.tick(local(3, 8) + minute * 60)
    assert not [e for e in events if e.type == "inactivity"]
