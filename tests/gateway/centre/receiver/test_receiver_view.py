"""The alarm centre's screen (gateway/centre/receiver/view.py) shows whole ids, room, severity and the
results of commands (issue 14)."""

from __future__ import annotations

import json

from gateway.centre.receiver import Centre
from tests.support.centre_alarms import ROOT, T0, published_alarm


def test_the_centre_screen_shows_whole_ids_room_severity_and_command_results() -> None:
    from rich.console import Console

    from gateway.centre.receiver.view import render as render_view
    centre = Centre("mqtt://127.0.0.1:1", lang="en")
    gw = "gw-helsinki-kallio-0042"
    centre.state.ingest(*published_alarm(1, gw), False, T0)
    centre.state.ingest(f"{ROOT}/{gw}/cmd/status/result",
                        json.dumps({"id": "c-1", "ok": True, "result": {"pending": 0}}).encode(),
                        False, T0)
    console = Console(record=True, width=120)
    console.print(render_view(centre, T0 + 5))
    screen = console.export_text()
    assert gw in screen and "critical" in screen and "bathroom" in screen
    assert "Command results" in screen and "pending=0" in screen
