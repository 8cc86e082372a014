"""A broken database must not silence the home: alarms flow from memory, the centre is told."""

from __future__ import annotations

import signal

from tests.support.gateway_proc import GatewayProcess, Listener, write_config


async def test_corrupt_database_gives_one_log_line_a_technical_event_and_alarms_still_flow(mosquitto, tmp_path):
    (tmp_path / "gw-test-01.db").write_bytes(b"garbage, not SQLite" * 500)
    cfg = write_config(tmp_path, mosquitto.url, sensor_settings="sos_after = 1\nsos_every = 0.5\nsos_count = 3")
    async with Listener(mosquitto.host, mosquitto.port) as centre:
        gw = GatewayProcess(cfg).start()
        try:
            alarms = await centre.wait_for("alarm", 3, timeout=20)
            events = centre.on("event")
            heartbeat = (await centre.wait_for("heartbeat"))[0]
        finally:
            gw.signal(signal.SIGTERM)
            assert gw.wait() == 0
    assert [e["type"] for e in events].count("storage_failure") == 1
    assert len({a["id"] for a in alarms}) == 3
    assert heartbeat["storage"] == "degraded"
    assert gw.output().count("event store failed") == 1
