"""The bridge's answers to a receiver that does not answer, or answers DUH (issue 12).

pysiaalarm never answers DUH to ADM-CID (it maps unknown codes to "YN" and ACKs) and
always answers something, so these two cases use small receivers of our own: one that
reads and stays silent, and one that lets pysiaalarm parse the message and build the
answer, with the code lookup knocked out so that pysiaalarm itself writes its DUH frame.
"""

from __future__ import annotations

import asyncio

from pysiaalarm import SIAAccount, SIAEvent

from gateway.centre.bridge.service import Bridge
from tests.support.bridge_util import ACCOUNT, FakeGateway, bridge_config, event, raw_receiver


def _duh(data: bytes) -> bytes:
    ev = SIAEvent.from_line(data.decode().strip(), {ACCOUNT: SIAAccount(ACCOUNT)})
    ev.sia_code = None                        # "cannot process": pysiaalarm answers DUH
    return ev.create_response()


async def test_a_receiver_that_never_answers_gets_retries_with_backoff_and_nothing_is_acked(
        mosquitto, tmp_path):
    server, got = await raw_receiver(lambda data: None)
    port = server.sockets[0].getsockname()[1]
    async with server, FakeGateway(mosquitto.host, mosquitto.port) as gw:
        cfg, key = bridge_config(tmp_path, mosquitto.url, port, ack_timeout=0.5,
                                 retry_min=0.2, retry_max=0.8)
        async with Bridge(cfg, key) as bridge:
            fall = event("fall")
            await gw.publish(fall)
            await asyncio.sleep(5.0)
            assert bridge.link_state == "down" and "no answer" in (bridge.problem or "")
            assert bridge.queue.state(fall.id) == "pending"
    assert gw.acks == []
    gaps = [b - a for a, b in zip(server.got_at, server.got_at[1:], strict=False)]  # type: ignore[attr-defined]
    assert len(got) >= 4 and gaps[-1] > gaps[0] + 0.3   # retried, each wait longer: backoff
    assert len({g[9:30] for g in got}) == 1        # the same message (same seq) every time


async def test_a_duh_is_not_resent_not_acked_and_does_not_block_the_queue(mosquitto, tmp_path):
    server, got = await raw_receiver(_duh)
    port = server.sockets[0].getsockname()[1]
    async with server, FakeGateway(mosquitto.host, mosquitto.port) as gw:
        cfg, key = bridge_config(tmp_path, mosquitto.url, port)
        async with Bridge(cfg, key) as bridge:
            first, second = event("fall"), event("sos")
            await gw.publish(first)
            await gw.publish(second)
            for ev in (first, second):
                for _ in range(200):
                    if bridge.queue.state(ev.id) == "refused":
                        break
                    await asyncio.sleep(0.05)
                assert bridge.queue.state(ev.id) == "refused"
            await gw.publish(first, attempt=2)      # the gateway re-sends: still not acked
            await asyncio.sleep(0.5)
    assert gw.acks == []
    assert len(got) == 2                           # each sent once, never again
