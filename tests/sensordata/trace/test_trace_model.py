"""A damaged trace is reported in the home's local time (sensordata/trace/model.py)."""

from __future__ import annotations


def test_the_truncated_trace_warning_prints_local_time_not_an_epoch() -> None:
    from sensordata.trace.model import TraceDamage
    text = str(TraceDamage("x.mcap", 100, "file ends mid-record (truncated)",
                           1772438400.5, "Europe/Helsinki"))
    assert "readings up to 2026-03-02 10:00:00+02:00" in text
    assert "1772438400" not in text
