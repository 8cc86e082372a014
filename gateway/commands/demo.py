"""`safehome demo`: a simulated home, a real broker and a listening alarm centre, in one go.

The demo uses a local mosquitto when one is installed (started on a free port, so it never
disturbs a broker already running), otherwise an embedded pure-Python broker (amqtt,
MQTT 3.1.1 only, so the gateway is switched to 3.1.1 for it). The gateway runs in this
process exactly as `safehome run` would; a subscriber plays the alarm centre, prints what
arrives and acknowledges each alarm, so the whole contract is visible on one screen.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from gateway.commands.common import duration_arg, load_or_exit, setup_logging
from gateway.shipped import EXAMPLES

DEFAULT_CONFIG = EXAMPLES / "demo-home.toml"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run a simulated home against a real broker and show its alarms")
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="home config (default: the demo home)")
    p.add_argument("--duration", type=duration_arg, default=120.0,
                   help="longest run, e.g. 90s, 3m (default 120s); the demo ends soon after the first alarm is acknowledged")
    p.add_argument("--lang", choices=["fi", "sv", "en"], default="en", help="language of alarm texts")
    p.add_argument("--embedded-broker", action="store_true", help="use the embedded broker even if "
                   "mosquitto is installed")
    p.set_defaults(func=run_demo)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def local_broker(embedded: bool, workdir: Path) -> AsyncIterator[tuple[int, str]]:
    """Yields (port, description)."""
    port = _free_port()
    sbin = Path("/usr/sbin/mosquitto")
    mosquitto = shutil.which("mosquitto") or (str(sbin) if sbin.exists() else None)  # noqa: ASYNC240 - start-up
    if mosquitto and not embedded:
        conf = workdir / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        proc = subprocess.Popen([mosquitto, "-c", str(conf)],  # noqa: ASYNC220 - start-up, nothing else runs yet stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            await _wait_port(port)
            yield port, f"mosquitto on 127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(5)
        return
    try:
        from amqtt.broker import Broker
    except ImportError:
        raise SystemExit("no MQTT broker: install mosquitto (apt install mosquitto) or "
                         "pip install 'safehome[demo]' for the embedded one") from None
    broker = Broker({"listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
                     "auth": {"allow-anonymous": True, "plugins": ["auth_anonymous"]},
                     "topic-check": {"enabled": False}}, )
    await broker.start()
    try:
        yield port, f"embedded amqtt broker on 127.0.0.1:{port} (MQTT 3.1.1)"
    finally:
        await broker.shutdown()


async def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def centre(port: int, protocol: Any, lang: str, out: Any, done: asyncio.Event) -> None:
    """A minimal alarm centre: print everything, acknowledge alarms (see `safehome centre`)."""
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", port, identifier=f"demo-centre-{_free_port()}",
                              protocol=protocol) as c:
        await c.subscribe("safehome/v1/#", qos=1)
        seen: set[str] = set()
        async for m in c.messages:
            topic = str(m.topic)
            try:
                body = json.loads(m.payload)
            except ValueError:
                continue
            leaf = topic.rsplit("/", 1)[-1]
            gw = topic.split("/")[2]
            if leaf == "status":
                out(f"[bold]{gw}[/] status: [cyan]{body.get('state')}[/]{' (retained)' if m.retain else ''}")
            elif leaf == "heartbeat":
                out(f"{gw} heartbeat #{body['seq']}: pending {body['pending']}, sensors "
                    + ", ".join(f"{k}={v['state']}" for k, v in body.get("sensors", {}).items()))
            elif leaf == "event":
                out(f"{gw} event #{body['seq']} [yellow]{body['type']}[/]: {body['text'][lang]}")
            elif leaf == "alarm":
                dup = body["id"] in seen
                seen.add(body["id"])
                out(f"[bold red]{gw} ALARM #{body['seq']} {body['type']}[/] (attempt {body['attempt']}"
                    f"{', duplicate dropped' if dup else ''}): {body['text'][lang]}\n"
                    f"    fi: {body['text']['fi']}\n    sv: {body['text']['sv']}\n"
                    f"    id {body['id']}, occurred {body['occurred_at']}")
                await c.publish(f"safehome/v1/{gw}/ack", json.dumps(
                    {"id": body["id"], "by": "demo-centre", "at": body["detected_at"]}), qos=1)
                out("[green]    acknowledged by demo-centre[/]")
                done.set()


def run_demo(args: argparse.Namespace) -> int:
    setup_logging("ERROR")  # the centre view below shows what happens
    cfg = load_or_exit(args.config)
    if isinstance(cfg, int):
        return cfg
    from gateway.commands.common import console as wide_console

    console = wide_console()

    async def main() -> int:
        import aiomqtt

        from gateway.config import MqttConfig, StorageConfig
        from gateway.daemon import Daemon

        with tempfile.TemporaryDirectory(prefix="safehome-demo-") as tmp:
            async with local_broker(args.embedded_broker, Path(tmp)) as (port, what):
                protocol = "3.1.1" if "amqtt" in what else cfg.mqtt.protocol
                home = cfg.model_copy(update={
                    "mqtt": MqttConfig.model_validate({**cfg.mqtt.model_dump(),
                                                       "url": f"mqtt://127.0.0.1:{port}",
                                                       "protocol": protocol}),
                    "storage": StorageConfig.model_validate({**cfg.storage.model_dump(),
                                                             "path": Path(tmp) / "events.db"})})
                console.print(f"[bold]Safehome demo[/]: broker {what}; gateway {home.gateway_id}; "
                              f"sensors: {', '.join(s.id + ' (' + s.type + ')' for s in home.sensors)}")
                if home.console.enabled:
                    console.print(f"Installer's console: http://{home.console.host}:{home.console.port}/")
                console.print("Watching safehome/v1/# until the first alarm is acknowledged "
                              f"(at most {args.duration:.0f} s; Ctrl-C stops) ...")
                done = asyncio.Event()
                proto = aiomqtt.ProtocolVersion.V311 if protocol == "3.1.1" else aiomqtt.ProtocolVersion.V5
                listener = asyncio.create_task(centre(port, proto, args.lang, console.print, done))
                await asyncio.sleep(0.3)
                daemon = Daemon(home)
                if home.console.enabled:
                    from gateway.console.attach import attach_console
                    attach_console(daemon)
                gw = asyncio.create_task(daemon.run())
                # Run until the first alarm is acknowledged (plus a moment), or the duration.
                finished = asyncio.create_task(done.wait())
                await asyncio.wait([gw, finished], timeout=args.duration,
                                   return_when=asyncio.FIRST_COMPLETED)
                finished.cancel()
                if done.is_set():
                    await asyncio.sleep(2.0)
                daemon.stop_requested.set()
                await gw
                await asyncio.sleep(0.3)
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)
                if done.is_set():
                    console.print("[bold green]Demo complete[/]: an alarm went from the simulated home "
                                  "through the broker to the centre and was acknowledged.")
                    return 0
                console.print("[bold red]No alarm arrived[/] within the demo's time.")
                return 1

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 130
