"""The alarm centre's screen (gateway/centre/receiver/view.py) shows whole ids, room, severity and the
results of commands (issue 14)."""

from __future__ import annotations

import json

from gateway.catalogue import render
from gateway.centre.receiver import Centre
from gateway.events import Event, new_event_id

ROOT = "safehome/v1"
T0 = 1_790_000_000.0


def _alarm(seq: int, gateway: str) -> tuple[str, bytes]:
    ev = Event(new_event_id(), seq, "fall", "critical", T0, T0 + 1,
               render("fall", {"room": "bathroom"}), room="bathroom", confidence=0.9)
    return f"{ROOT}/{gateway}/alarm", json.dumps(ev.payload(gateway, "site-9", 1)).encode()


def test_the_centre_screen_shows_whole_ids_room_severity_and_command_results() -> None:
    from rich.console import Console

    from gateway.centre.receiver.view import render as render_view
    centre = Centre("mqtt://127.0.0.1:1", lang="en")
    gw = "gw-helsinki-kallio-0042"
    centre.state.ingest(*_alarm(1, gw), False, T0)
    centre.state.ingest(f"{ROOT}/{gw}/cmd/status/result",
                        json.dumps({"id": "c-1", "ok": True, "result": {"pending": 0}}).encode(),
                        False, T0)
    console = Console(record=True, width=120)
    console.print(render_view(centre, T0 + 5))
    screen = console.export_text()
    assert gw in screen and "critical" in screen and "bathroom" in screen
    assert "Command results" in screen and "pending=0" in screen
