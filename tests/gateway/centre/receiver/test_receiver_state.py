"""The centre's state (gateway/centre/receiver/state.py): an alarm that another centre acknowledged is
not waiting here (issue 14)."""

from __future__ import annotations

import json

from gateway.centre.receiver import CentreState
from tests.support.centre_alarms import ROOT, T0, published_alarm


def test_an_alarm_acknowledged_by_another_centre_is_not_waiting() -> None:
    state = CentreState()
    topic, payload = published_alarm(1, "gw-A")
    state.ingest(topic, payload, False, T0)
    [record] = state.alarms
    state.ingest(f"{ROOT}/gw-A/ack", json.dumps({"id": record.id, "by": "centre-turku",
                                                 "at": "2026-09-21T10:00:00Z"}).encode(),
                 False, T0 + 3)
    assert record.acked_by == "centre-turku" and record.acked_at == T0 + 3
