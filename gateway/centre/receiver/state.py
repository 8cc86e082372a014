"""What the reference alarm centre knows: gateways, their supervision, and the alarms.

WHY pure: the rules a receiving centre must apply (drop duplicates by id, flag a
gateway whose heartbeat is overdue, flag gaps in the event `seq`) are the heart of the
contract, and a pure class lets tests drive them message by message with a fake clock.
The MQTT client (client.py) only feeds messages in and carries acknowledgements out.

Supervision rules (docs/mqtt-api.md, "Supervision"):
- a heartbeat is overdue when none arrived for more than 2.5 of its announced intervals
  (counted from the last heartbeat, or from when the gateway was first seen);
- `seq` is shared by alarms and events; a seq above the highest seen opens a gap of the
  seqs in between; a late arrival fills its place. After a reconnect the gateway sends
  alarms before other events, so a gap may be open for a few seconds without loss:
  gaps are reported once older than `gap_grace` seconds;
- a seq at or below the highest seen that is neither a duplicate nor a gap filler
  means the gateway's counter went back (its database was replaced): counted, not a gap.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any

from gateway.received_payloads import SHORT, clean, clean_event, clean_heartbeat, clean_status

OVERDUE_FACTOR = 2.5
DEFAULT_INTERVAL = 60.0


@dataclass
class AlarmRecord:
    """One alarm as the centre keeps it (the first copy received; later copies counted)."""

    number: int                   # operator's handle: type it + Enter to acknowledge
    id: str
    gateway_id: str
    payload: dict[str, Any]
    received_at: float
    copies: int = 1
    acked_by: str | None = None
    acked_at: float | None = None
    stored: bool = False          # committed to the shared (PostgreSQL) log

    @property
    def type(self) -> str:
        return self.payload.get("type", "?")

    @property
    def seq(self) -> int | None:
        return self.payload.get("seq")

    @property
    def test(self) -> bool:
        return bool(self.payload.get("test"))

    def text(self, lang: str) -> str:
        texts = self.payload.get("text") or {}
        return str(texts.get(lang) or texts.get("en") or self.type)


class SeqTracker:
    """Missing seqs of one gateway as half-open ranges [lo, hi) with when each opened."""

    def __init__(self) -> None:
        self.highest: int | None = None
        self.missing: list[list[float]] = []   # [lo, hi, opened_at]
        self.resets = 0

    def see(self, seq: int, now: float) -> None:
        if self.highest is None:
            self.highest = seq
            return
        if seq > self.highest:
            if seq > self.highest + 1:
                self.missing.append([self.highest + 1, seq, now])
            self.highest = seq
            return
        for i, (lo, hi, opened) in enumerate(self.missing):
            if lo <= seq < hi:
                parts = [[lo, seq, opened], [seq + 1, hi, opened]]
                self.missing[i:i + 1] = [p for p in parts if p[0] < p[1]]
                return
        if seq < self.highest:   # not a filler: the counter restarted lower
            self.resets += 1
            self.missing.clear()
            self.highest = seq

    def gaps(self, now: float, grace: float) -> list[tuple[int, int]]:
        """Closed ranges (first, last) of seqs missing for longer than `grace` seconds."""
        return [(int(lo), int(hi) - 1) for lo, hi, opened in self.missing if now - opened >= grace]


@dataclass
class GatewayRow:
    gateway_id: str
    first_seen: float
    site_id: str | None = None
    state: str = "unknown"               # online / offline / unknown (no status yet)
    state_since: str | None = None
    reason: str | None = None
    version: str | None = None
    last_heartbeat: float | None = None  # centre clock
    heartbeat: dict[str, Any] | None = None
    interval: float = DEFAULT_INTERVAL
    heartbeat_seq: int | None = None
    heartbeats_missed: int = 0
    events: int = 0
    seq: SeqTracker = field(default_factory=SeqTracker)

    def overdue(self, now: float) -> bool:
        """No heartbeat for more than 2.5 intervals. An offline gateway is reported as
        offline, not overdue (the will already said it is gone)."""
        if self.state == "offline":
            return False
        since = self.last_heartbeat if self.last_heartbeat is not None else self.first_seen
        return now - since > OVERDUE_FACTOR * self.interval

    def summary(self, now: float, grace: float) -> dict[str, Any]:
        return {
            "gateway_id": self.gateway_id, "site_id": self.site_id, "state": self.state,
            "since": self.state_since, "reason": self.reason, "version": self.version,
            "last_heartbeat_age": None if self.last_heartbeat is None
            else round(now - self.last_heartbeat, 1),
            "interval": self.interval, "overdue": self.overdue(now),
            "heartbeat_seq": self.heartbeat_seq, "heartbeats_missed": self.heartbeats_missed,
            "events": self.events, "highest_seq": self.seq.highest,
            "seq_gaps": [list(g) for g in self.seq.gaps(now, grace)],
            "seq_resets": self.seq.resets,
        }


@dataclass(frozen=True)
class Received:
    """What one message meant. `alarm` is set for alarms (new or duplicate); `duplicate`
    tells the client not to log it again but still to acknowledge if it was acked."""

    kind: str                          # status/heartbeat/alarm/event/result/ack/cmd/other/bad
    gateway_id: str | None = None
    alarm: AlarmRecord | None = None
    duplicate: bool = False
    payload: Any = None
    problem: str | None = None
    dropped: tuple[str, ...] = ()      # fields of a wrong type or size, blanked (received_payloads)


class CentreState:
    def __init__(self, root: str = "safehome/v1", *, gap_grace: float = 5.0,
                 memory: int = 100_000) -> None:
        self.root = root
        self.gap_grace = gap_grace
        self.gateways: dict[str, GatewayRow] = {}
        self.alarms: list[AlarmRecord] = []            # unique alarms, in arrival order
        self.events: list[dict[str, Any]] = []         # unique non-alarm events (bounded)
        self.results: list[dict[str, Any]] = []        # command results (bounded)
        self.duplicates = 0
        self._seen: OrderedDict[str, AlarmRecord | None] = OrderedDict()
        self._memory = memory

    def gateway(self, gateway_id: str, now: float) -> GatewayRow:
        row = self.gateways.get(gateway_id)
        if row is None:
            row = self.gateways[gateway_id] = GatewayRow(gateway_id, first_seen=now)
        return row

    def alarm(self, ref: str | int) -> AlarmRecord | None:
        for a in self.alarms:
            if a.id == ref or a.number == ref:
                return a
        return None

    def ingest(self, topic: str, payload: bytes, retained: bool, now: float) -> Received:
        prefix = self.root + "/"
        if not topic.startswith(prefix):
            return Received("other")
        parts = topic[len(prefix):].split("/")
        gw, kind = parts[0], "/".join(parts[1:])
        if kind.startswith("cmd/") and not kind.endswith("/result"):
            return Received("cmd", gw)   # commands, ours or another centre's
        try:
            body = json.loads(payload) if payload else None
        except (UnicodeDecodeError, ValueError):
            return Received("bad", gw, problem=f"{topic}: payload is not JSON")
        if kind == "ack":   # ours, or another centre's: then the alarm is not WAITING here
            if isinstance(body, dict):
                ack, _ = clean(body, {"id": SHORT, "by": SHORT})
                record = self.alarm(ack.get("id") or "")
                if record is not None and record.acked_by is None:
                    record.acked_by, record.acked_at = str(ack.get("by") or "another centre"), now
            return Received("ack", gw)
        if kind == "status":
            if isinstance(body, dict):
                body, dropped = clean_status(body)
                return replace(self._status(gw, body, now), dropped=tuple(dropped))
            return self._status(gw, body, now)
        if not isinstance(body, dict):
            return Received("bad", gw, problem=f"{topic[:200]}: payload is not a JSON object")
        if kind == "heartbeat":
            body, dropped = clean_heartbeat(body)
            return replace(self._heartbeat(gw, body, now), dropped=tuple(dropped))
        if kind in ("alarm", "event"):
            # Every field checked first (gateway/received_payloads.py): a field of a wrong
            # type is blanked and named, the alarm itself is kept.
            event, dropped = clean_event(body)
            if event is None:
                return Received("bad", gw, problem=f"{gw[:80]}/{kind}: no usable id")
            return replace(self._event(kind, gw, event, now), dropped=tuple(dropped))
        if kind.startswith("cmd/") and kind.endswith("/result"):
            self.results.append({"gateway_id": gw, "name": parts[2], **body})
            del self.results[:-1000]
            return Received("result", gw, payload=body)
        return Received("other", gw)

    def _status(self, gw: str, body: Any, now: float) -> Received:
        if body is None:           # an empty retained message clears the status
            return Received("status", gw)
        if not isinstance(body, dict):
            return Received("bad", gw, problem=f"{gw}/status: payload is not a JSON object")
        row = self.gateway(gw, now)
        row.state = str(body.get("state", "unknown"))
        row.state_since = body.get("since")
        row.reason = body.get("reason")
        row.site_id = body.get("site_id", row.site_id)
        row.version = body.get("version", row.version)
        return Received("status", gw, payload=body)

    def _heartbeat(self, gw: str, body: dict[str, Any], now: float) -> Received:
        row = self.gateway(gw, now)
        seq = body.get("seq")
        if isinstance(seq, int) and row.heartbeat_seq is not None and seq > row.heartbeat_seq + 1:
            row.heartbeats_missed += seq - row.heartbeat_seq - 1
        if isinstance(seq, int):
            row.heartbeat_seq = seq
        interval = body.get("interval")
        if isinstance(interval, (int, float)) and interval > 0:
            row.interval = float(interval)
        row.last_heartbeat = now
        row.heartbeat = body
        row.site_id = body.get("site_id", row.site_id)
        if row.state != "online":   # a heartbeat proves it is up (status may lag)
            row.state = "online"
        return Received("heartbeat", gw, payload=body)

    def _event(self, kind: str, gw: str, body: dict[str, Any], now: float) -> Received:
        eid = body.get("id")
        if not isinstance(eid, str) or not eid:
            return Received("bad", gw, problem=f"{gw}/{kind}: no id")
        if eid in self._seen:
            self.duplicates += 1
            self._seen.move_to_end(eid)
            record = self._seen[eid] or self.alarm(eid)
            if record is not None:
                record.copies += 1
            return Received(kind, gw, alarm=record, duplicate=True, payload=body)
        row = self.gateway(gw, now)
        row.events += 1
        row.site_id = body.get("site_id", row.site_id)
        if isinstance(body.get("seq"), int):
            row.seq.see(body["seq"], now)
        if kind == "alarm":
            record = AlarmRecord(len(self.alarms) + 1, eid, gw, body, now)
            self.alarms.append(record)
            self._remember(eid, record)
            return Received(kind, gw, alarm=record, payload=body)
        self._remember(eid, None)
        self.events.append(body)
        del self.events[:-10_000]
        return Received(kind, gw, payload=body)

    def _remember(self, eid: str, record: AlarmRecord | None) -> None:
        self._seen[eid] = record
        while len(self._seen) > self._memory:
            self._seen.popitem(last=False)

    def snapshot(self, now: float) -> dict[str, Any]:
        return {
            "gateways": [g.summary(now, self.gap_grace) for g in self.gateways.values()],
            "alarms": [{"number": a.number, "id": a.id, "gateway_id": a.gateway_id,
                        "type": a.type, "seq": a.seq, "copies": a.copies, "test": a.test,
                        "acked_by": a.acked_by, "text": a.payload.get("text")}
                       for a in self.alarms],
            "duplicates": self.duplicates,
        }
