"""Every detection the radar, routine and health detectors raise is a catalogue type whose
fi/sv/en texts render completely from the detection's own evidence (no "?" holes)."""

from __future__ import annotations

from gateway.catalogue import CATALOGUE, render
from tests.detectors.test_daily_summary import month_with_incidents, routine_detectors
from tests.detectors.test_radar_fall import FALL, frames
from tests.detectors.test_radar_fall import make as radar
from tests.detectors.test_wearable_health import blocks, hr
from tests.detectors.test_wearable_health import make as health
from tests.support.home_stream import run


def detections():
    found = []
    stream = month_with_incidents()
    for make in routine_detectors():
        found += run(make(), stream)
    found += run(radar(), frames(FALL + [0.3] * 20 + [0.6, 1.0, 1.4, 1.7] + [1.7] * 40))
    found += run(health(), hr([150] * 400))
    found += run(health(not_worn_minutes=1), hr([0] * 100, contact=False))
    found += run(health(still_minutes=3), blocks(0.001, 5))
    found += run(health(out_of_range_minutes=1), hr([70] * 10) + hr([70], start=hr([0])[0].t + 200,
                                                                     sensor="other"))
    return found


def test_every_type_is_in_the_catalogue_and_renders_without_holes():
    found = detections()
    types = {d.type for d in found}
    assert {"inactivity", "not_up", "dwell_exceeded", "door_night_not_back", "daily_summary",
            "fall_suspected", "fall_cancelled", "heart_rate_abnormal", "wearable_not_worn",
            "wearable_out_of_range"} <= types
    for d in found:
        name = "alarm_cancelled" if d.type == "fall_cancelled" else d.type   # the gateway's mapping
        assert name in CATALOGUE
        texts = render(name, {"room": d.room, "sensor": d.sensor, **d.evidence})
        for lang, text in texts.items():
            assert "?" not in text.replace("(out of range?)", "").replace(
                "(kantaman ulkopuolella?)", "").replace("(utom räckhåll?)", ""), (d.type, lang, text)
        assert all(isinstance(v, (int, float)) for v in d.evidence.values())
