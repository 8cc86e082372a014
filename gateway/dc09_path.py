"""The gateway's own second alarm path: SIA DC-09 straight to an alarm receiver.

WHY (EN 50136 dual path): with only MQTT, an alarm cannot reach the centre while the
broker or the centre's MQTT side is down. With `[dc09]` in the home's config the gateway
also sends every event that has a Contact ID code straight to a DC-09 receiver, and an
alarm counts as delivered when *either* path confirms it: the centre's MQTT `ack`, or
this receiver's DC-09 ACK (then logged as acknowledged by `dc09:HOST:PORT`). The MQTT
path goes on as before; a centre that gets both deduplicates as it does for any dual-path
transmitter. The delivery rules are the bridge's (gateway/dc09/sender.py): a durable
SQLite queue next to the event store, alarms first and oldest first, backoff, NAK and
DUH as the standard says, NULL supervision of the account every `null_interval`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.dc09.contact_id import AccountMap, report_for
from gateway.dc09.frame import parse_key
from gateway.dc09.link import Link
from gateway.dc09.queue import Item, Queue
from gateway.dc09.sender import Sender
from gateway.dc09.settings import Dc09PathConfig
from gateway.events import Event

if TYPE_CHECKING:
    from gateway.config import HomeConfig

log = logging.getLogger("safehome.dc09_path")


class Dc09Path:
    def __init__(self, cfg: Dc09PathConfig, gateway_id: str, site_id: str, store_path: Path,
                 on_acked: Callable[[str, str, float], None],
                 clock: Callable[[], float] = time.time) -> None:
        rc = cfg.receiver
        key = parse_key(os.environ[rc.key_env]) if rc.key_env else None
        self.cfg, self.gateway_id, self.site_id, self.on_acked = cfg, gateway_id, site_id, on_acked
        self.mapping = AccountMap(cfg.group, dict(cfg.zones), dict(cfg.users))
        path = cfg.queue or store_path.with_name(store_path.stem + ".dc09.sqlite")
        self.queue = Queue(path)
        self.link = Link(rc.host, rc.port, key=key, ack_timeout=rc.ack_timeout, clock=clock)
        self.by = f"dc09:{rc.host}:{rc.port}"
        self.sender = Sender(rc, self.queue, self.link, on_delivered=self._delivered,
                             null_accounts=lambda now: [cfg.account], clock=clock,
                             queue_path=path)

    def add(self, event: Event) -> None:
        """Queue an event (committed) if it has a Contact ID code."""
        report = report_for(event.payload(self.gateway_id, self.site_id), self.mapping)
        if report is None:
            return
        item = Item(event.id, self.gateway_id, event.is_alarm, event.type, event.occurred_at,
                    self.cfg.account, report.data(self.cfg.account))
        if self.queue.add(item) == "new":
            self.sender.added(event.id)

    async def _delivered(self, item: Item, at: float) -> None:
        if item.is_alarm:
            self.on_acked(item.id, self.by, at)

    async def run(self) -> None:
        try:
            await self.sender.run()
        finally:
            await self.link.close()
            self.queue.close()

    @classmethod
    def from_home(cls, home: HomeConfig, on_acked: Callable[[str, str, float], None]) -> Dc09Path | None:
        """The path a home's config asks for (`[dc09]`), or None."""
        cfg = home.dc09  # validated with the home's config (gateway/dc09/settings.py)
        if cfg is None:
            return None
        log.info("second alarm path: DC-09 to %s:%d, account %s", cfg.receiver.host,
                 cfg.receiver.port, cfg.account)
        return cls(cfg, home.gateway_id, home.site_id, Path(home.storage.path), on_acked)


__all__ = ["Dc09Path", "Dc09PathConfig"]
