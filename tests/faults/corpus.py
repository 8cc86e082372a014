"""Hostile MQTT payloads for the topics a gateway reads: `ack` and `cmd/{name}`.

Each entry: a name, the topic leaf under the gateway's subtree, the payload bytes, and
an optional MQTT 5 response topic (a leaf under the gateway's own subtree, or a full
topic). What every entry must *not* do: kill or stall a loop, tear the session down,
flood the log, make the gateway publish outside `cmd/{name}/result`, or make it eat its
own output as an ack. What a malformed *command* must do: answer with an error result
and raise a `command_error` event.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass

NESTED = b"[" * 100_000                                  # RecursionError in json.loads
NESTED_VALID = b"[" * 50_000 + b"]" * 50_000            # valid JSON, still too deep
HUGE_ID = json.dumps({"id": "x" * (10 * 1024 * 1024)}).encode()   # a 10 MB ack
NOT_UTF8 = b"\xff\xfe\xfa{\"id\": \"\xc3\x28\"}"


@dataclass(frozen=True)
class Hostile:
    name: str
    leaf: str
    payload: bytes
    response_leaf: str | None = None    # MQTT 5 response topic, relative to the gateway's subtree
    malformed_command: bool = False     # must get an error result and a command_error event


def corpus(rng: random.Random) -> list[Hostile]:
    acks = [
        Hostile("ack nested 100k", "ack", NESTED),
        Hostile("ack nested valid", "ack", NESTED_VALID),
        Hostile("ack 10 MB id", "ack", HUGE_ID),
        Hostile("ack not utf-8", "ack", NOT_UTF8),
        Hostile("ack empty", "ack", b""),
        Hostile("ack null", "ack", b"null"),
        Hostile("ack list", "ack", b"[1, 2, 3]"),
        Hostile("ack string", "ack", b'"01a2159e-61d8-71de-8b9f-eaa5f1532f6c"'),
        Hostile("ack id int", "ack", b'{"id": 5}'),
        Hostile("ack id null", "ack", b'{"id": null}'),
        Hostile("ack id object", "ack", b'{"id": {"$ne": 1}}'),
        Hostile("ack id list", "ack", b'{"id": ["a", "b"]}'),
        Hostile("ack bad at", "ack", b'{"id": "nope", "at": "yesterday"}'),
        Hostile("ack at int", "ack", b'{"id": "nope", "at": 17}'),
        Hostile("ack by object", "ack", b'{"id": "nope", "by": {"x": [1, 2]}}'),
        Hostile("ack NaN", "ack", b'{"id": NaN}'),
        Hostile("ack 1e999", "ack", b'{"id": 1e999}'),
    ]
    # unknown ids (event ids: UUIDs, else they are malformed): must not grow memory without bound or the log line by line
    acks += [Hostile(f"ack unknown {i}", "ack",
                     json.dumps({"id": str(uuid.UUID(int=rng.getrandbits(128)))}).encode())
             for i in range(300)]
    cmds = [
        Hostile("test_alarm nested", "cmd/test_alarm", NESTED, malformed_command=True),
        Hostile("test_alarm nested valid", "cmd/test_alarm", NESTED_VALID, malformed_command=True),
        Hostile("test_alarm not utf-8", "cmd/test_alarm", NOT_UTF8, malformed_command=True),
        Hostile("test_alarm 10 MB", "cmd/test_alarm", HUGE_ID, malformed_command=True),
        Hostile("test_alarm id int", "cmd/test_alarm", b'{"id": 7}', malformed_command=True),
        Hostile("test_alarm list", "cmd/test_alarm", b"[]", malformed_command=True),
        Hostile("test_alarm empty", "cmd/test_alarm", b"", malformed_command=True),
        Hostile("status id too long", "cmd/status", json.dumps({"id": "s" * 1000}).encode(),
                malformed_command=True),
        Hostile("silence wrong types", "cmd/silence_sensor",
                b'{"id": "h-sil-1", "sensor": 5, "until": ["x"]}', malformed_command=True),
        Hostile("silence no tz", "cmd/silence_sensor",
                b'{"id": "h-sil-2", "sensor": "pir-hall", "until": "2030-01-01T00:00:00"}',
                malformed_command=True),
        Hostile("unknown command", "cmd/reboot", b'{"id": "h-reboot"}', malformed_command=True),
        # response topics inside the gateway's own subtree: never there, never as an ack
        Hostile("status -> own alarm topic", "cmd/status", b'{"id": "h-rt-alarm"}', "alarm"),
        Hostile("status -> own ack topic", "cmd/status", b'{"id": "h-rt-ack"}', "ack"),
        Hostile("status -> own status topic", "cmd/status", b'{"id": "h-rt-status"}', "status"),
        Hostile("status -> own event topic", "cmd/status", b'{"id": "h-rt-event"}', "event"),
        Hostile("status -> own cmd topic", "cmd/status", b'{"id": "h-rt-cmd"}', "cmd/test_alarm"),
        Hostile("test_alarm -> own ack topic", "cmd/test_alarm", b'{"id": "h-rt-ta-ack"}', "ack"),
    ]
    return acks + cmds
