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
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.dc09.settings import ContactIdNumber, Dc09Account, ReceiverConfig
from gateway.dc09.contact_id import AccountMap, report_for
from gateway.dc09.frame import parse_key
from gateway.dc09.link import Link
from gateway.dc09.queue import Item, Queue
from gateway.dc09.sender import Sender
from gateway.config_errors import describe_errors
from gateway.events import Event

log = logging.getLogger("safehome.dc09_path")


class Dc09PathConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    receiver: ReceiverConfig = Field(title="The DC-09 alarm receiver of the second path")
    account: Dc09Account = Field(title="This home's DC-09 account: 3-16 hex digits, upper case")
    group: int = Field(1, ge=0, le=99, title="Contact ID group/partition (GG)")
    zones: dict[str, ContactIdNumber] = Field(default_factory=dict,
                                              title="Room id -> Contact ID zone (1-999)")
    users: dict[str, ContactIdNumber] = Field(default_factory=dict,
                                              title="Sensor id -> Contact ID user (1-999)")
    queue: Path | None = Field(None, title="SQLite queue; default: next to the event store")


def check(table: Any, env: Mapping[str, str] | None = None) -> list[str]:
    """Problems with a home's `[dc09]` table, as config lines (key, value, fix)."""
    env = os.environ if env is None else env
    try:
        cfg = Dc09PathConfig.model_validate(table)
    except ValidationError as exc:
        return describe_errors(exc, ("dc09",), Dc09PathConfig)
    var = cfg.receiver.key_env
    if var is None:
        return []
    if var not in env:
        return [(f"dc09.receiver.key_env: environment variable {var!r} is not set; "
                 f"export {var}=<hex AES key> before starting")]
    try:
        parse_key(env[var])
    except ValueError as exc:
        return [f"dc09.receiver.key_env: {var}: {exc}"]
    return []


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
    def from_home(cls, home: Any, on_acked: Callable[[str, str, float], None]) -> Dc09Path | None:
        """The path a home's config asks for (`[dc09]`), or None."""
        if home.dc09 is None:
            return None
        cfg = Dc09PathConfig.model_validate(home.dc09)
        log.info("second alarm path: DC-09 to %s:%d, account %s", cfg.receiver.host,
                 cfg.receiver.port, cfg.account)
        return cls(cfg, home.gateway_id, home.site_id, Path(home.storage.path), on_acked)


__all__ = ["Dc09Path", "Dc09PathConfig", "check"]
