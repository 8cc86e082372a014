"""An alarm as a gateway publishes it (topic and payload bytes), for the receiver's specs."""

from __future__ import annotations

import json

from gateway.catalogue import render
from gateway.events import Event, new_event_id

ROOT = "safehome/v1"
T0 = 1_790_000_000.0


def published_alarm(seq: int, gateway: str) -> tuple[str, bytes]:
    ev = Event(new_event_id(), seq, "fall", "critical", T0, T0 + 1,
               render("fall", {"room": "bathroom"}), room="bathroom", confidence=0.9)
    return f"{ROOT}/{gateway}/alarm", json.dumps(ev.payload(gateway, "site-9", 1)).encode()
