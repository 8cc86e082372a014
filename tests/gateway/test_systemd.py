"""Under systemd the daemon says READY, feeds the watchdog and stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal
import socket

from tests.support.gateway_proc import GatewayProcess, retained, write_config


async def test_ready_and_watchdog_notifications_then_clean_sigint(mosquitto, tmp_path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    cfg = write_config(tmp_path, mosquitto.url, sensor_settings="sos_after = 1000")
    gw = GatewayProcess(cfg, env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "2000000"})
    gw.env.pop("WATCHDOG_PID", None)
    gw.start()
    messages: list[str] = []
    try:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(15):
            while sum("WATCHDOG=1" in m for m in messages) < 2:
                messages.append((await loop.sock_recv(sock, 4096)).decode())
    finally:
        gw.signal(signal.SIGINT)
        rc = gw.wait()
        sock.close()
    assert rc == 0
    assert any(m.startswith("READY=1") for m in messages)
    assert (await retained(mosquitto.host, mosquitto.port, "safehome/v1/gw-test-01/status"))["state"] == "offline"
