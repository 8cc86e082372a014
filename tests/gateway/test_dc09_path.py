"""The gateway's own second alarm path over SIA DC-09 (EN 50136 dual path, issue 12).

The broker is down for the whole test: the alarm can only get out over DC-09, to
pysiaalarm as the receiver, and the gateway counts it delivered on the receiver's ACK.
"""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from gateway.config import ConfigError, load_config, parse_config
from gateway.daemon import Daemon
from tests.support.gateway_proc import write_config
from tests.support.sia_receiver import SiaReceiver, hex_key

KEY = "0123456789ABCDEF"


async def test_an_alarm_reaches_the_dc09_receiver_and_is_acknowledged_while_the_broker_is_down(
        mosquitto, tmp_path, monkeypatch):
    mosquitto.stop()                                   # the MQTT path is down throughout
    monkeypatch.setenv("DC09_PATH_KEY", hex_key(KEY))
    async with SiaReceiver({"5678": KEY}) as rx:
        path = write_config(tmp_path, mosquitto.url, extra=f"""
            [dc09]
            account = "5678"
            zones = {{ hall = 4 }}
            [dc09.receiver]
            host = "127.0.0.1"
            port = {rx.port}
            key_env = "DC09_PATH_KEY"
            null_interval = 1
            """)
        daemon = Daemon(load_config(path))
        run = asyncio.create_task(daemon.run())
        try:
            await rx.wait_for(lambda: ("5678", "1", "101", "01", "004") in rx.cid(), 30)
            await rx.wait_for(lambda: not any(e.event.type == "sos"
                                              for e in daemon.outbox.entries.values()), 30)
            await rx.wait_for(lambda: rx.nulls(), 10)            # the account is supervised
        finally:
            daemon.stop_requested.set()
            await asyncio.wait_for(run, 20)
    assert ("5678", "1", "305", "01", "000") in rx.cid()         # gateway_started, too
    assert all(e.encrypted for e in rx.events)
    config = load_config(path)
    with sqlite3.connect(config.storage.path) as db:             # the gateway's own record
        acked = db.execute("SELECT acked_by FROM events WHERE type = 'sos'").fetchall()
    assert acked and all(by == f"dc09:127.0.0.1:{rx.port}" for (by,) in acked)


@pytest.mark.parametrize("table, problem", [
    ({"account": "12", "receiver": {"host": "h", "port": 1}}, "dc09.account"),
    ({"account": "1234", "receiver": {"host": "h", "port": 1, "ack_timout": 2}},
     "dc09.receiver.ack_timout: unknown key"),
    ({"account": "1234", "receiver": {"host": "h", "port": 1, "key_env": "NOPE_X"}},
     "dc09.receiver.key_env: environment variable 'NOPE_X' is not set"),
])
def test_a_bad_dc09_table_is_a_config_error(table, problem):
    with pytest.raises(ConfigError) as err:
        parse_config({"gateway_id": "gw-1", "site_id": "site-1", "dc09": table}, env={})
    assert problem in "\n".join(err.value.lines)
