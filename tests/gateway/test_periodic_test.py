"""The gateway's periodic test report on the home's schedule (issue 12): the schedule,
the status reports that go with it, the config keys, and the running daemon sending it."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.catalogue import CATALOGUE
from gateway.centre.bridge.service import Bridge
from gateway.config import ConfigError, load_config, parse_config
from gateway.daemon import Daemon
from gateway.events import Event
from gateway.health import HealthMonitor
from gateway.periodic_test import PeriodicTest, reports
from tests.support.bridge_util import ACCOUNT, bridge_config
from tests.support.gateway_proc import write_config
from tests.support.sia_receiver import SiaReceiver

TZ = "Europe/Helsinki"


def local(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(TZ)).timestamp()


def test_reports_fall_on_the_configured_time_of_day_also_across_dst():
    sched = PeriodicTest(86400, "03:00", TZ, start=local("2026-10-24T12:00"))
    assert sched.next_at == local("2026-10-25T03:00")        # the night DST ends in Finland
    assert not sched.due(local("2026-10-25T02:59"))
    assert sched.due(local("2026-10-25T03:00:30"))
    assert sched.next_at == local("2026-10-26T03:00")        # 03:00 local again, 25 h later
    assert not sched.due(local("2026-10-25T04:00"))


def test_without_a_time_of_day_reports_are_counted_from_the_start():
    sched = PeriodicTest(3600, None, TZ, start=1000.0)
    assert [sched.due(t) for t in (1000.0, 4599.0, 4600.0, 4601.0, 8200.0)] == \
        [False, False, True, False, True]


def test_sensors_still_silent_get_a_status_report_with_the_test():
    now = [0.0]
    health = HealthMonitor(mono=lambda: now[0])
    health.add("radar-bath", timeout=60)
    health.add("door", timeout=60)
    health.add("band-1", timeout=60)
    now[0] = 1000.0
    assert len(health.newly_silent()) == 3                     # all three silent since 0
    health.sensors["door"].silent = False
    health.sensors["band-1"].silenced_until = 2e10             # the centre silenced it

    def technical(type_name: str, **kw: object) -> Event:
        return Event("id-" + type_name, 1, type_name, CATALOGUE[type_name].severity, 0, 0,
                     {"fi": "x", "sv": "x", "en": "x"}, **kw)  # type: ignore[arg-type]

    out = reports(technical, health, lambda s: "bath" if s == "radar-bath" else None,
                  mono=lambda: 1000.0)
    assert [(e.type, e.sensor, e.room) for e in out] == [
        ("periodic_test", None, None), ("sensor_still_silent", "radar-bath", "bath")]
    assert out[0].evidence == {"sensors_silent": 1}
    assert out[1].evidence == {"seconds": 1000}
    assert (CATALOGUE["periodic_test"].contact_id, CATALOGUE["periodic_test"].qualifier) == (602, 1)
    assert CATALOGUE["sensor_still_silent"].qualifier == 6


@pytest.mark.parametrize("table, problem", [
    ({"periodic_test_interval": 30}, "at least 60 seconds"),
    ({"periodic_test_at": "3 am"}, "HH:MM"),
    ({"periodic_test_intervall": 60}, "did you mean 'periodic_test_interval'"),
])
def test_bad_schedules_are_config_errors(table, problem):
    with pytest.raises(ConfigError) as err:
        parse_config({"gateway_id": "gw-1", "site_id": "site-1", "alarm": table}, env={})
    assert problem in "\n".join(err.value.lines)


async def test_the_real_gateway_reaches_a_dc09_receiver_with_its_periodic_test_and_an_alarm(
        mosquitto, tmp_path):
    """Daemon -> mosquitto -> bridge -> pysiaalarm: the periodic test arrives as 1 602, the
    pendant's SOS as 1 101 in the hall's zone, and the receiver's ACK acks the gateway's
    alarm (its outbox empties). The schedule is shortened in place (the config's minimum
    is 60 s); the wiring in the daemon is what is under test."""
    path = write_config(tmp_path, mosquitto.url, extra="[alarm]\nperiodic_test_interval = 60\n")
    config = load_config(path)
    daemon = Daemon(config)
    assert daemon.periodic_test is not None and daemon.periodic_test.interval == 60
    daemon.periodic_test = PeriodicTest(1.0, None, TZ, time.time())
    async with SiaReceiver({ACCOUNT: None}) as rx:
        cfg, key = bridge_config(tmp_path, mosquitto.url, rx.port)
        cfg = cfg.model_copy(update={"accounts": [cfg.accounts[0].model_copy(
            update={"zones": {"hall": 5}})]})
        async with Bridge(cfg, key) as bridge:
            run = asyncio.create_task(daemon.run())
            try:
                await rx.wait_for(lambda: ("1", "602") in {c[1:3] for c in rx.cid()}, 30)
                await rx.wait_for(lambda: (ACCOUNT, "1", "101", "01", "005") in rx.cid(), 30)
                await rx.wait_for(lambda: bridge.acks_published and not any(
                    e.event.type == "sos" for e in daemon.outbox.entries.values()), 30)
            finally:
                daemon.stop_requested.set()
                await asyncio.wait_for(run, 20)
