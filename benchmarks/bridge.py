"""The DC-09 bridge: messages per second through it, and the delay it adds (p50 / p99).

A real mosquitto on a free port, pysiaalarm as the DC-09 receiver on a free port, the
bridge in this process, and a fake gateway publishing real alarm payloads (QoS 1).

- throughput: N alarms published at once; alarms per second from the first publish
  until the receiver has ACKed all N and the gateway holds all N MQTT acks.
- delay: alarms one at a time at a steady rate; for each, the time from the gateway's
  publish to (a) the receiver's callback and (b) the MQTT ack back at the gateway, next
  to (c) the broker alone (publish -> a plain subscriber). (a) - (c) is what the bridge
  adds on the way in: SQLite commit (synchronous=FULL), Contact ID mapping, DC-09 framing
  (and AES), one TCP round trip to the receiver.

Run from the repo root:
    python benchmarks/bridge.py [--n 2000] [--rate 50] [--aes] [--broker-nodelay]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from pathlib import Path

import _util  # noqa: F401
import aiomqtt
from _util import percentile

from gateway.centre.bridge.service import Bridge
from tests.support.bridge_util import ACCOUNT, FakeGateway, bridge_config, event
from tests.support.broker import Mosquitto
from tests.support.sia_receiver import SiaReceiver, hex_key

KEY = "AAAABBBBCCCCDDDD"


async def broker_only(broker: Mosquitto, gw: FakeGateway, n: int, rate: float) -> list[float]:
    got: dict[str, float] = {}
    ready = asyncio.Event()

    async def listen() -> None:
        async with aiomqtt.Client(broker.host, broker.port, identifier="bench-plain") as c:
            await c.subscribe("safehome/v1/+/alarm", qos=1)
            ready.set()
            async for m in c.messages:
                got[json.loads(m.payload)["id"]] = time.time()

    task = asyncio.create_task(listen())
    await asyncio.wait_for(ready.wait(), 10)
    sent: dict[str, float] = {}
    for i in range(n):
        ev = event("fall", seq=i)
        sent[ev.id] = time.time()
        await gw.publish(ev)
        await asyncio.sleep(1.0 / rate)
    await asyncio.sleep(1.0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return [(got[i] - t) * 1000 for i, t in sent.items() if i in got]


async def measure(n: int, rate: float, aes: bool, latency_n: int, nodelay: bool) -> None:
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("mqtt").setLevel(logging.CRITICAL)   # "N pending publish calls"
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp) / "broker")
        # mosquitto drops QoS 1 messages beyond 1,000 queued for one client by default: a
        # burst of thousands would lose events on the way to the bridge (alarms would come
        # again with the gateway's re-send). A centre's broker should raise it likewise.
        extra = "max_queued_messages 100000\n"
        if nodelay:       # mosquitto leaves Nagle on by default: ~40 ms on small messages
            extra += "set_tcp_nodelay true\n"
        broker.conf.write_text(broker.conf.read_text() + extra)
        broker.start()
        try:
            async with SiaReceiver({ACCOUNT: KEY if aes else None}) as rx, \
                    FakeGateway(broker.host, broker.port) as gw:
                baseline = await broker_only(broker, gw, latency_n, rate)
                cfg, key = bridge_config(Path(tmp), broker.url, rx.port,
                                         key_hex=hex_key(KEY) if aes else None, ack_timeout=10)
                async with Bridge(cfg, key) as bridge:
                    # ---- delay, one at a time ----
                    sent: dict[str, float] = {}
                    order: list[str] = []
                    rx.listeners.append(lambda e: order.append(e.event_type or "")
                                        if str(e.message_type.value) == "ADM-CID" else None)
                    for i in range(latency_n):
                        ev = event("fall", seq=i)
                        sent[ev.id] = time.time()
                        await gw.publish(ev)
                        await asyncio.sleep(1.0 / rate)
                    await rx.wait_for(lambda: len(gw.acks) >= latency_n, 60)
                    rx_times = rx.arrived_at[-latency_n:]
                    acks = {a["id"]: t for a, t in zip(gw.acks, gw.ack_times, strict=False)}
                    in_rx = [(r - s) * 1000 for r, s in zip(rx_times, sent.values(), strict=False)]
                    in_ack = [(acks[i] - s) * 1000 for i, s in sent.items()]
                    inside = [d * 1000 for d in list(bridge.delays)[-latency_n:]]
                    # ---- throughput, a burst ----
                    before_acks, before_rx = len(gw.acks), len(rx.cid())
                    burst = [event("sos", seq=i) for i in range(n)]
                    t0 = time.perf_counter()
                    for k in range(0, n, 100):
                        await asyncio.gather(*(gw.publish(ev) for ev in burst[k:k + 100]))
                    await rx.wait_for(lambda: len(gw.acks) - before_acks >= n, 300)
                    took = time.perf_counter() - t0
                    assert len(rx.cid()) - before_rx == n, "receiver did not get every alarm once"
        finally:
            broker.stop()
    mode = ("AES-128" if aes else "unencrypted") + (", mosquitto set_tcp_nodelay" if nodelay
                                                    else ", mosquitto defaults")
    print(f"DC-09 bridge ({mode}, pysiaalarm receiver, mosquitto, loopback):")
    print(f"  throughput: {n} alarms published at once -> all ACKed by the receiver and acked on "
          f"MQTT in {took:.2f} s = {n / took:,.0f} alarms/s")
    print(f"  delay, {latency_n} alarms at {rate:.0f}/s (ms)           p50     p99     max")
    for name, xs in (("broker only (publish -> subscriber)", baseline),
                     ("publish -> receiver callback", in_rx),
                     ("publish -> MQTT ack at the gateway", in_ack),
                     ("in the bridge: MQTT in -> receiver ACK", inside)):
        print(f"  {name:43s} {percentile(xs, 50):6.2f} {percentile(xs, 99):7.2f} "
              f"{max(xs):7.2f}")
    print("  (the last line is the delay the bridge adds: SQLite commit, Contact ID, DC-09 "
          "framing, the TCP round trip to the receiver)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="alarms in the throughput burst")
    ap.add_argument("--latency-n", type=int, default=300, help="alarms for the delay figures")
    ap.add_argument("--rate", type=float, default=50.0, help="alarms per second for delays")
    ap.add_argument("--aes", action="store_true", help="AES-128 encrypted DC-09")
    ap.add_argument("--broker-nodelay", action="store_true",
                    help="run mosquitto with set_tcp_nodelay true (recommended for a centre)")
    args = ap.parse_args()
    asyncio.run(measure(args.n, args.rate, args.aes, args.latency_n, args.broker_nodelay))


if __name__ == "__main__":
    main()
