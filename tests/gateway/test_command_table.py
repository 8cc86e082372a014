"""Commands are found through an explicit table (gateway/remote_commands.py's HANDLERS),
never by looking a method up by the name that arrived: any other name, also the name of
one of the class's own methods, is an unknown command."""

from __future__ import annotations

import json

import pytest

from gateway.events import iso
from gateway.remote_commands import COMMAND_NAMES, HANDLERS, RemoteCommands


class Home:
    def status_snapshot(self) -> dict[str, str]:
        return {"state": "ok"}

    def sensor_ids(self) -> list[str]:
        return ["radar"]


def test_the_table_names_the_three_commands_of_the_api():
    assert COMMAND_NAMES == tuple(HANDLERS) == ("test_alarm", "status", "silence_sensor")


@pytest.mark.parametrize("name", ["handle", "_remember", "_test_alarm", "_do_status", "__init__",
                                  "suppresses", "Status", ""])
def test_any_other_name_is_an_unknown_command_answered_with_an_error_and_an_event(name):
    out = RemoteCommands(Home()).handle(name, json.dumps({"id": "c1"}).encode(), False, 1000.0)
    assert not out.ok and out.error == (f"unknown command {name!r}; known: test_alarm, status, "
                                        "silence_sensor")
    assert [e.type for e in out.events] == ["command_error"]
    assert out.events[0].values == {"command": name, "problem": out.error}


def test_each_name_in_the_table_reaches_its_own_handler():
    rc = RemoteCommands(Home())
    assert rc.handle("status", b'{"id": "a"}', False, 1000.0).result == {"state": "ok"}
    test = rc.handle("test_alarm", b'{"id": "b"}', False, 1000.0)
    assert test.ok and [e.type for e in test.events] == ["test_alarm"]
    silence = rc.handle("silence_sensor", json.dumps({"id": "c", "sensor": "radar",
                                                      "until": iso(2000.0)}).encode(), False, 1000.0)
    assert silence.ok and silence.result is not None and silence.result["silenced"] is True
