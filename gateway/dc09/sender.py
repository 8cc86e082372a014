"""The DC-09 delivery rules: the oldest waiting message to the receiver, one at a time.

Shared by the centre-side bridge (gateway/centre/bridge/service.py) and the gateway's own second
path (gateway/dc09_path.py). What each answer means, as SIA DC-09 says:
- ACK: delivered; `on_delivered(item, at)` runs (the bridge then acks the alarm on MQTT).
- NAK with a timestamp away from ours: our clock is off. The link adopts the receiver's
  time and the message goes again at once with a corrected timestamp.
- NAK while the clocks agree, a bare NAK, or an encrypted answer that does not decrypt:
  the receiver rejects us (wrong AES key, unknown account). Logged loudly, shown in the
  state, retried with backoff, at most ANSWERING_RETRY_MAX apart (the receiver is there:
  when it takes the message again, the message goes within seconds); never counted as
  delivered.
- DUH (cannot process), in a valid frame with our sequence number: resending will not
  help. Marked refused, never delivered; the queue moves on.
- No answer / no connection / garbage (anything that is not a valid frame for this
  message, gateway/dc09/link.py): retry with exponential backoff and jitter up to
  `retry_max`, for ever; new messages wait in SQLite, alarms first, oldest first.
Supervision: a NULL message for each account `null_accounts(now)` names, every
`null_interval`, counted from that account's last ACK.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from gateway.dc09.frame import Header
from gateway.dc09.link import Link, NoAnswer, Rejected
from gateway.dc09.queue import Item, Queue
from gateway.dc09.settings import ReceiverConfig

log = logging.getLogger("safehome.bridge")

MAX_CLOCK_FIXES = 3
ANSWERING_RETRY_MAX = 4.0   # s: the longest backoff while the receiver answers (NAKs)


class Answer(Enum):
    ACKED = "ack"                 # the receiver has it
    CANNOT_PROCESS = "duh"        # DUH: resending cannot help
    CLOCK_FIXED = "clock"         # NAK for our timestamp, clock corrected: send again now
    FAILED = "failed"             # no answer, or rejected: back off and retry


@dataclass(frozen=True)
class Outcome:
    answer: Answer
    problem: str | None = None


class Sender:
    def __init__(self, rc: ReceiverConfig, queue: Queue, link: Link, *,
                 on_delivered: Callable[[Item, float], Awaitable[None]],
                 null_accounts: Callable[[float], Iterable[str]],
                 on_change: Callable[[], None] = lambda: None,
                 clock: Callable[[], float] = time.time, queue_path: Path | None = None) -> None:
        self.rc, self.queue, self.link, self.clock = rc, queue, link, clock
        self.on_delivered, self.null_accounts, self.on_change = on_delivered, null_accounts, on_change
        self.queue_path = queue_path
        self.link_state = "unknown"           # up / down / rejected / unknown
        self.problem: str | None = None
        self.last_ack_at: float | None = None
        self.counts = {"delivered": 0, "naks": 0, "clock_fixes": 0, "refused": 0,
                       "retries": 0, "nulls": 0}
        self.delays: deque[float] = deque(maxlen=10_000)  # s, taken -> receiver ACK
        self.wake = asyncio.Event()
        self._last_ok: dict[str, float] = {}  # account -> last ACK (message or NULL)
        self._seqs: dict[str, int] = {}       # item id -> its DC-09 sequence number
        self._taken: dict[str, float] = {}    # item id -> perf_counter when queued
        self._clock_fixes = 0

    def added(self, item_id: str) -> None:
        """A new item is in the queue: note when (for `delays`) and wake the sender."""
        self._taken[item_id] = time.perf_counter()
        self.wake.set()

    async def run(self) -> None:
        delay = self.rc.retry_min
        while True:
            self.wake.clear()
            item = self.queue.next_pending()
            wait: float | None
            if item is None:
                wait = await self._supervise()
            else:
                wait = 0.0 if await self._deliver(item) else None
            if wait is None:                                # failed: back off
                self.counts["retries"] += 1
                # A receiver that answers (NAKs us) is tried again within
                # ANSWERING_RETRY_MAX, so the message goes as soon as the NAKs stop;
                # the long backoff is for a receiver that does not answer at all.
                cap = self.rc.retry_max
                if self.link_state == "rejected":
                    cap = min(cap, max(self.rc.retry_min, ANSWERING_RETRY_MAX))
                delay = min(delay, cap)
                wait = delay * random.uniform(0.8, 1.2)
                delay = min(delay * 2, cap)
                await asyncio.sleep(wait)                   # a backoff is not cut short
                continue
            delay = self.rc.retry_min
            if wait > 0:
                try:
                    await asyncio.wait_for(self.wake.wait(), wait)
                except TimeoutError:
                    pass

    def _header(self, account: str) -> Header:
        return Header(account, self.rc.prefix, self.rc.receiver_number)

    async def _deliver(self, item: Item) -> bool:
        """One attempt. True: progress (ACK, DUH, clock fixed); False: back off."""
        seq = self._seqs.setdefault(item.id, self.link.next_seq())
        outcome = await self._exchange("ADM-CID", seq, item.account, item.data)
        if outcome.answer is Answer.ACKED:
            at = self.clock()
            self.queue.delivered(item.id, at)
            self._seqs.pop(item.id, None)
            self.counts["delivered"] += 1
            taken = self._taken.pop(item.id, None)
            if taken is not None:
                self.delays.append(time.perf_counter() - taken)
            await self.on_delivered(item, at)
            return True
        self.queue.attempted(item.id, outcome.problem)
        if outcome.answer is Answer.CANNOT_PROCESS:
            why = (f"receiver answered DUH (cannot process) to {item.type} {item.id} "
                   f"({item.data}); not resent, not acknowledged")
            log.error("%s", why)
            self.queue.refused(item.id, self.clock(), why)
            self._seqs.pop(item.id, None)
            self.counts["refused"] += 1
            return True
        return outcome.answer is Answer.CLOCK_FIXED

    async def _exchange(self, token: str, seq: int, account: str, data: str) -> Outcome:
        """Send once and read what the receiver's answer means for us."""
        try:
            response, sent_ts = await self.link.exchange(token, seq, self._header(account), data)
        except NoAnswer as exc:
            self._set_link("down", str(exc))
            return Outcome(Answer.FAILED, str(exc))
        except Rejected as exc:
            return self._rejected(account, str(exc))
        if response.token == "ACK":
            self._clock_fixes = 0
            self.last_ack_at = self._last_ok[account] = self.clock()
            self._set_link("up", None)
            return Outcome(Answer.ACKED)
        if response.token == "DUH":
            self._set_link("up", None)
            return Outcome(Answer.CANNOT_PROCESS, "DUH")
        if response.token == "NAK":
            self.counts["naks"] += 1
            if response.timestamp is not None \
                    and abs(response.timestamp - sent_ts) > self.rc.clock_tolerance \
                    and self._clock_fixes < MAX_CLOCK_FIXES:
                step = response.timestamp - sent_ts
                self.link.offset += step
                self._clock_fixes += 1
                self.counts["clock_fixes"] += 1
                log.warning("receiver NAKed our timestamp (%+.0f s from its clock); resending "
                            "with the receiver's time", step)
                return Outcome(Answer.CLOCK_FIXED, "NAK for the timestamp")
            return self._rejected(account, "NAK although our clocks agree"
                                  if response.timestamp is not None else "NAK")
        return self._rejected(account, f"unexpected answer {response.token}")

    def _rejected(self, account: str, detail: str) -> Outcome:
        why = (f"receiver {self.link.host}:{self.link.port} rejects account {account}'s "
               f"messages ({detail}): the AES key (--key-env / receiver.key_env) or the "
               "account number does not match the receiver's")
        if self.link_state != "rejected":
            log.error("%s", why)
        self._set_link("rejected", why)
        return Outcome(Answer.FAILED, why)

    async def _supervise(self) -> float | None:
        """Send the NULL messages that are due; seconds until the next one is due, or None
        when the receiver did not answer (the caller backs off)."""
        now = self.clock()
        interval = self.rc.null_interval
        next_due = interval
        for account in self.null_accounts(now):
            if self.wake.is_set():
                return 0.0                                # real traffic first
            due = self._last_ok.get(account, 0.0) + interval - now
            if due > 0:
                next_due = min(next_due, due)
                continue
            outcome = await self._exchange("NULL", self.link.next_seq(), account, "")
            if outcome.answer is Answer.CLOCK_FIXED:
                return 0.0
            if outcome.answer is Answer.FAILED:
                return None
            self._last_ok[account] = self.clock()
            self.counts["nulls"] += 1
        return max(0.05, next_due)

    def _set_link(self, state: str, problem: str | None) -> None:
        if (state, problem) != (self.link_state, self.problem):
            if state == "up" and self.link_state in ("down", "rejected"):
                log.warning("receiver %s:%s answers again", self.link.host, self.link.port)
            elif state == "down" and self.link_state != "down":
                log.warning("%s; retrying with backoff, messages kept in %s", problem,
                            self.queue_path or "the queue")
            self.link_state, self.problem = state, problem
            self.on_change()
