"""Issue 26 items 2 and 7: a receiver that speaks garbage, then answers well.

Only a valid DC-09 frame (LF, CRC, length, CR, our sequence number and account) may
settle an alarm's fate. Five unframed bytes `"DUH"` were taken as the receiver's DUH and
the alarm was marked refused for good, although the receiver ACKed the next copies; a
framed DUH for another sequence number or account, or with a length that does not match,
did the same. Here a raw socket answers the first message with each kind of garbage, then
answers as pysiaalarm does (its own ACK frame): the alarm must be delivered and acked on
MQTT, never refused. Also: garbage without a CR must not grow the link's buffer beyond
one frame, and a receiver that NAKs us is tried again within seconds, so the message goes
promptly when the NAKs stop.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable

import pytest

from gateway.config import load_config
from gateway.daemon import Daemon
from gateway.dc09.frame import MAX_FRAME, Header, crc16, dc09_time
from gateway.dc09.link import Link, NoAnswer
from gateway.dc09.sender import ANSWERING_RETRY_MAX
from tests.support.bridge_util import ACCOUNT, bridge_against, event, raw_receiver
from tests.support.broker import free_port
from tests.support.gateway_proc import write_config
from tests.support.sia_receiver import answer_to


def frame(message: str, *, length: int | None = None, crc: int | None = None) -> bytes:
    """A DC-09 envelope around `message`, with the CRC and length right unless given."""
    body = message.encode("ascii")
    crc = crc16(body) if crc is None else crc
    length = len(body) if length is None else length
    return b"\n%04X%04X" % (crc, length) + body + b"\r"


def pysia_answer(data: bytes) -> bytes:
    """What pysiaalarm answers to the bridge's message (an ACK frame for a known account)."""
    return answer_to(data, ACCOUNT)


def seq_of(data: bytes) -> str:
    return data.decode().split('"', 2)[2][:4]


def duh(seq: str, account: str = ACCOUNT) -> str:
    return f'"DUH"{seq}L0#{account}[]'


# Each: what the receiver answers to the first message instead of a valid answer.
GARBAGE: dict[str, Callable[[bytes], bytes]] = {
    "unframed DUH": lambda d: b'"DUH"',
    "unframed DUH with CR": lambda d: b'"DUH"\r',
    "unframed ACK": lambda d: b'"ACK"\r',
    "partial DUH frame": lambda d: frame(duh(seq_of(d)))[:12],
    "DUH with a bad CRC": lambda d: frame(duh(seq_of(d)), crc=0x1234),
    "DUH with a wrong length": lambda d: frame(duh(seq_of(d)), length=len(duh(seq_of(d))) + 1),
    "DUH for sequence 0000": lambda d: frame(duh("0000")),
    "DUH for another sequence": lambda d: frame(duh("%04d" % (int(seq_of(d)) % 9999 + 1))),
    "DUH for another account": lambda d: frame(duh(seq_of(d), "9999")),
    "ACK with a bad CRC": lambda d: pysia_answer(d)[:1] + b"0000" + pysia_answer(d)[5:],
    "binary noise": lambda d: bytes(range(256)) * 4,
    "NULs and CRs": lambda d: b"\x00\r" * 300,
}


async def scripted_receiver(answers: Callable[[int, bytes], bytes | None]
                            ) -> tuple[asyncio.Server, list[tuple[float, bytes]]]:
    """A raw TCP receiver: message number i (over all connections) gets answers(i, data);
    returns the server and (arrival time, message) of every message."""
    got: list[tuple[float, bytes]] = []

    def answer(data: bytes) -> bytes | None:
        got.append((time.monotonic(), data))
        return answers(len(got) - 1, data)

    server, _ = await raw_receiver(answer)
    return server, got


@pytest.mark.parametrize("kind", sorted(GARBAGE))
async def test_garbage_from_the_receiver_is_no_answer_and_the_alarm_is_delivered_later(
        mosquitto, tmp_path, kind):
    garbage = GARBAGE[kind]
    server, got = await scripted_receiver(lambda i, d: garbage(d) if i == 0 else pysia_answer(d))
    async with bridge_against(server, mosquitto, tmp_path, ack_timeout=0.5, retry_min=0.1,
                              retry_max=0.5) as (gw, bridge):
        sos = event("sos")
        await gw.publish(sos)
        await gw.wait_ack(sos.id, timeout=15)
        assert bridge.queue.state(sos.id) != "refused"
        assert bridge.sender.counts["refused"] == 0 and bridge.sender.counts["delivered"] == 1
    assert len(got) >= 2, "the first answer was garbage: the alarm went again"
    assert len({seq_of(d) for _, d in got}) == 1, "a retried message keeps its sequence number"


async def test_a_valid_duh_for_our_message_still_refuses_it(mosquitto, tmp_path):
    """The other side of the rule: a real DUH frame settles the message (docs/contact-id.md)."""
    server, got = await scripted_receiver(lambda i, d: frame(duh(seq_of(d))))
    async with bridge_against(server, mosquitto, tmp_path, ack_timeout=0.5) as (gw, bridge):
        sos = event("sos")
        await gw.publish(sos)
        for _ in range(100):
            if bridge.queue.state(sos.id) == "refused":
                break
            await asyncio.sleep(0.05)
        assert bridge.queue.state(sos.id) == "refused"
    assert gw.acks == [] and len(got) == 1


async def test_garbage_without_a_cr_never_grows_the_buffer_beyond_one_frame(caplog):
    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r")
        try:
            for _ in range(2000):           # 16 MB without a CR, as fast as it goes
                writer.write(b"\nDUH" * 2048)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(flood, "127.0.0.1", free_port())
    port = server.sockets[0].getsockname()[1]
    link = Link("127.0.0.1", port, key=None, ack_timeout=2.0)
    largest = 0
    stop = asyncio.Event()

    async def watch() -> None:
        nonlocal largest
        while not stop.is_set():
            largest = max(largest, len(link._buffer))
            await asyncio.sleep(0)

    caplog.set_level(logging.WARNING, "safehome.bridge.link")
    async with server:
        watcher = asyncio.create_task(watch())
        with pytest.raises(NoAnswer):
            await link.exchange("ADM-CID", 1, Header(ACCOUNT), f"#{ACCOUNT}|1101 00 003")
        stop.set()
        await watcher
    print(f"largest line buffer under a flood without CR: {largest} bytes")
    assert largest <= MAX_FRAME + 4096, f"the line buffer grew to {largest} bytes"
    assert link.garbage.counts.get("overlong", 0) > 10
    assert sum("without a CR" in r.message for r in caplog.records) == 1, "logged once"


async def test_a_receiver_that_naks_for_a_while_is_retried_within_seconds_and_then_delivers(
        mosquitto, tmp_path):
    """Item 7: 12 s of NAKs (clocks agree: a rejection), then ACKs. With the default
    backoff (1 s doubling to 30 s) the gap between tries grew to 8 s and then 16 s;
    while the receiver answers, no gap is longer than ANSWERING_RETRY_MAX (+ jitter)."""
    nak_until = time.monotonic() + 12.0

    def nak_then_ack(i: int, data: bytes) -> bytes:
        if time.monotonic() < nak_until:
            return frame(f'"NAK"0000L0R0A0[]_{dc09_time(time.time())}')
        return pysia_answer(data)

    server, got = await scripted_receiver(nak_then_ack)
    async with bridge_against(server, mosquitto, tmp_path, retry_min=1.0,
                              retry_max=30.0) as (gw, bridge):
        sos = event("sos")
        await gw.publish(sos)
        await gw.wait_ack(sos.id, timeout=30)
        assert bridge.sender.counts["naks"] >= 4
    times = [t for t, _ in got]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    print(f"gaps between tries: {[round(g, 2) for g in gaps]} s; delivered "
          f"{times[-1] - nak_until:.2f} s after the NAKs stopped")
    assert max(gaps) <= ANSWERING_RETRY_MAX * 1.2 + 0.5, f"gaps between tries: {gaps}"
    assert times[-1] - nak_until <= ANSWERING_RETRY_MAX * 1.2 + 0.5


async def test_the_gateways_own_dc09_path_takes_an_unframed_duh_as_no_answer(mosquitto, tmp_path):
    """The same rules on the gateway's second path (gateway/dc09_path.py), with the broker
    down: every message first gets five bytes `"DUH"`, then pysiaalarm's ACK. The alarm
    must end acknowledged by the DC-09 receiver, not refused."""
    mosquitto.stop()
    seen: set[str] = set()

    def duh_first(i: int, data: bytes) -> bytes:
        if seq_of(data) not in seen:
            seen.add(seq_of(data))
            return b'"DUH"'
        return answer_to(data, "5678")

    server, _ = await scripted_receiver(duh_first)
    port = server.sockets[0].getsockname()[1]
    path = write_config(tmp_path, mosquitto.url, extra=f"""
        [dc09]
        account = "5678"
        [dc09.receiver]
        host = "127.0.0.1"
        port = {port}
        ack_timeout = 0.5
        retry_min = 0.1
        retry_max = 0.5
        """)
    async with server:
        daemon = Daemon(load_config(path))
        run = asyncio.create_task(daemon.run())
        try:
            for _ in range(300):
                sos = [e for e in daemon.outbox.entries.values() if e.event.type == "sos"]
                if daemon.dc09 is not None and daemon.dc09.sender.counts["delivered"] >= 2 and not sos:
                    break
                await asyncio.sleep(0.1)
            assert daemon.dc09 is not None and daemon.dc09.sender.counts["refused"] == 0
        finally:
            daemon.stop_requested.set()
            await asyncio.wait_for(run, 20)
    c = sqlite3.connect(load_config(path).storage.path)
    try:
        acked = c.execute("SELECT acked_by FROM events WHERE type = 'sos'").fetchall()
    finally:
        c.close()
    assert acked == [(f"dc09:127.0.0.1:{port}",)]
