"""The centre's state (gateway/centre/receiver/state.py): an alarm that another centre acknowledged is
not waiting here (issue 14)."""

from __future__ import annotations

import json

from gateway.catalogue import render
from gateway.centre.receiver import CentreState
from gateway.events import Event, new_event_id

ROOT = "safehome/v1"
T0 = 1_790_000_000.0


def _alarm(seq: int, gateway: str) -> tuple[str, bytes]:
    ev = Event(new_event_id(), seq, "fall", "critical", T0, T0 + 1,
               render("fall", {"room": "bathroom"}), room="bathroom", confidence=0.9)
    return f"{ROOT}/{gateway}/alarm", json.dumps(ev.payload(gateway, "site-9", 1)).encode()


def test_an_alarm_acknowledged_by_another_centre_is_not_waiting() -> None:
    state = CentreState()
    topic, payload = _alarm(1, "gw-A")
    state.ingest(topic, payload, False, T0)
    [record] = state.alarms
    state.ingest(f"{ROOT}/gw-A/ack", json.dumps({"id": record.id, "by": "centre-turku",
                                                 "at": "2026-09-21T10:00:00Z"}).encode(),
                 False, T0 + 3)
    assert record.acked_by == "centre-turku" and record.acked_at == T0 + 3
