"""What detectors learn (the home's routine) survives a restart, through the SQLite store."""

from __future__ import annotations

import datetime as dt

from gateway.config import parse_config
from gateway.pipeline import Pipeline
from gateway.store import Store
from sensordata.readings import Motion

HOME = {"gateway_id": "gw-1", "site_id": "site-1", "timezone": "Europe/Helsinki",
        "rooms": [{"id": "kitchen"}],
        "sensors": [{"id": "pir", "type": "demo", "room": "kitchen"}]}


def mornings(days: int) -> list[Motion]:
    """Up at 07:00 local every day: a bout of kitchen motion for an hour."""
    tz = dt.timezone(dt.timedelta(hours=2))
    out = []
    for d in range(days):
        start = dt.datetime(2026, 3, 2, 7, 0, tzinfo=tz) + dt.timedelta(days=d)
        out += [Motion("pir", start.timestamp() + m * 300, True) for m in range(13)]
    return out


async def test_the_learned_routine_is_saved_and_restored(tmp_path):
    cfg = parse_config(HOME, env={})
    first = Pipeline(cfg)
    first.feed(mornings(16))
    states = first.detector_states()
    learned = states["not_up"]["days"]
    assert len(learned) >= 14 and all(minute == 420.0 for _, minute in learned), \
        "fifteen mornings up at 07:00 learned"

    store = Store(tmp_path / "e.db")
    await store.open()
    for name, state in states.items():
        store.save_detector_state(name, state)
    await store.flush()
    await store.close()

    store = Store(tmp_path / "e.db")
    await store.open()
    restored = await store.load_detector_state()
    await store.close()
    second = Pipeline(cfg)
    second.restore_states(restored)
    assert second.detector_states()["not_up"] == states["not_up"]
    assert Pipeline(cfg).detector_states()["not_up"]["days"] == [], "a fresh pipeline knows nothing"
