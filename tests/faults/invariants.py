"""The invariant checker: everything the centre received, every daemon log, the hook's
log and the final database, against the promises of docs/mqtt-api.md and issue 9.

Invariants (each violation is one line naming the alarm/seq and what broke):
- every committed alarm is delivered and acknowledged by the end of the run, and within
  its bound (created + max_attempts x ack_timeout + 2 s, extended by the time the daemon
  was down) it was either acknowledged or escalated locally (the hook ran for it);
- every committed `fall_suspected` ends in a `fall` or an `alarm_cancelled` naming it;
- no seq is used for two different ids (centre copies and database rows together);
- no copy of an alarm reaches the centre after the gateway logged its ack (one second
  of grace for a copy already in flight; an ack whose process was SIGKILLed within
  `ack_commit_grace` of logging it may not have been committed, and is counted apart).
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.faults.centre import Received
from tests.faults.daemon import LogLine
from tests.faults.home import Timing

INFLIGHT_GRACE = 1.0
ACK_COMMIT_GRACE = 0.5
RESTART_ALLOWANCE = 3.0


@dataclass(frozen=True)
class Alarm:
    id: str
    seq: int
    type: str
    created: float    # detected_at, wall clock


@dataclass
class Report:
    alarms: int = 0
    alarms_lost: list[str] = field(default_factory=list)
    not_escalated: list[str] = field(default_factory=list)
    falls_unresolved: list[str] = field(default_factory=list)
    seq_reused: list[str] = field(default_factory=list)
    resent_after_ack: list[str] = field(default_factory=list)
    resent_after_uncommitted_ack: int = 0
    escalations: int = 0
    events_pending_at_end: int = 0

    def violations(self) -> list[str]:
        return [*self.alarms_lost, *self.not_escalated, *self.falls_unresolved,
                *self.seq_reused, *self.resent_after_ack]


def db_rows(db: Path) -> list[dict[str, Any]]:
    if not db.exists():
        return []
    # A plain connection (only SELECTs): a read-only one cannot recreate the -shm file a
    # clean shutdown removed, and fails with "disk I/O error".
    c = sqlite3.connect(db, timeout=10)
    try:
        rows = c.execute("SELECT id, seq, type, is_alarm, state, body, attempts FROM events").fetchall()
    finally:
        c.close()
    out = []
    for id_, seq, type_, is_alarm, state, body, attempts in rows:
        b = json.loads(body)
        out.append({"id": id_, "seq": seq, "type": type_, "is_alarm": bool(is_alarm), "state": state,
                    "ref": b.get("ref"), "detected_at": b.get("detected_at"), "attempts": attempts})
    return out


def hook_runs(path: Path) -> dict[str, float]:
    """First hook run per alarm id (the hook appends `ID UNIX_TIME`)."""
    out: dict[str, float] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2:
                out.setdefault(parts[0], float(parts[1]))
    return out


def acks_logged(logs: Iterable[LogLine]) -> dict[str, float]:
    """First time the gateway logged each alarm's ack: `alarm ID acknowledged by ...`."""
    out: dict[str, float] = {}
    for line in logs:
        if line.text.startswith("alarm ") and " acknowledged by " in line.text:
            out.setdefault(line.text.split()[1], line.at)
    return out


def _iso_to_unix(s: str) -> float:
    from gateway.events import parse_iso
    return parse_iso(s)


def check(*, received: list[Received], db: Path, logs: list[LogLine], hooks: Path, timing: Timing,
          kills: list[float], downtime: list[tuple[float, float]], end_excluded_after: float | None = None,
          checks_escalation: bool = True) -> Report:
    """`downtime`: (from, to) wall-clock spans with no daemon able to act (killed .. ready).
    `end_excluded_after`: alarms created after this are not held to the escalation bound
    (the run ended before it)."""
    rep = Report()
    rows = db_rows(db)
    copies = [m for m in received if m.leaf in ("alarm", "event") and isinstance(m.body, dict)
              and "seq" in m.body and "id" in m.body]

    # -- seq never names two ids ------------------------------------------------------
    by_seq: dict[int, set[str]] = defaultdict(set)
    for m in copies:
        by_seq[int(m.body["seq"])].add(str(m.body["id"]))
    for r in rows:
        by_seq[int(r["seq"])].add(r["id"])
    for seq, ids in sorted(by_seq.items()):
        if len(ids) > 1:
            rep.seq_reused.append(f"seq {seq} reused for {len(ids)} ids: {sorted(ids)}")

    # -- the alarms: from the database and from what the centre saw ----------------------
    alarms: dict[str, Alarm] = {}
    for r in rows:
        if r["is_alarm"]:
            alarms[r["id"]] = Alarm(r["id"], r["seq"], r["type"], float(r["detected_at"]))
    for m in copies:
        if m.leaf == "alarm" and m.body["id"] not in alarms:
            alarms[m.body["id"]] = Alarm(m.body["id"], int(m.body["seq"]), m.body["type"],
                                         _iso_to_unix(m.body["detected_at"]))
    rep.alarms = len(alarms)
    acked = acks_logged(logs)
    state = {r["id"]: r["state"] for r in rows}
    hooked = hook_runs(hooks)
    rep.escalations = len(hooked)
    for a in alarms.values():
        if a.id not in acked and state.get(a.id) != "acknowledged":
            rep.alarms_lost.append(f"alarm {a.type} seq {a.seq} id {a.id} never acknowledged "
                                   f"(store state {state.get(a.id, 'absent')})")
        if not checks_escalation or (end_excluded_after is not None and a.created > end_excluded_after):
            continue
        deadline = a.created + timing.escalation_bound
        for start, stop in sorted(downtime):   # the bound does not run while nobody can act
            if start <= deadline and stop >= a.created:
                deadline += (stop - max(start, a.created)) + RESTART_ALLOWANCE
        in_time = acked.get(a.id, float("inf")) <= deadline or hooked.get(a.id, float("inf")) <= deadline
        if not in_time:
            rep.not_escalated.append(
                f"alarm {a.type} seq {a.seq} id {a.id}: neither acknowledged nor escalated within "
                f"{deadline - a.created:.1f} s (ack after {acked.get(a.id, float('nan')) - a.created:.1f} s, "
                f"hook after {hooked.get(a.id, float('nan')) - a.created:.1f} s)")

    # -- no copy after the ack -----------------------------------------------------------
    for m in copies:
        if m.leaf != "alarm":
            continue
        t_ack = acked.get(m.body["id"])
        if t_ack is None or m.at <= t_ack + INFLIGHT_GRACE:
            continue
        if any(t_ack <= k <= t_ack + ACK_COMMIT_GRACE for k in kills):
            rep.resent_after_uncommitted_ack += 1
            continue
        rep.resent_after_ack.append(
            f"alarm seq {m.body['seq']} id {m.body['id']} re-sent (attempt {m.body.get('attempt')}) "
            f"{m.at - t_ack:.1f} s after the gateway logged its ack")

    # -- every suspected fall ends in a fall or a cancel ---------------------------------
    suspected: dict[str, int] = {}
    resolved: set[str] = set()
    for r in rows:
        if r["type"] == "fall_suspected":
            suspected[r["id"]] = r["seq"]
        if r["type"] in ("fall", "alarm_cancelled") and r["ref"]:
            resolved.add(r["ref"])
    for m in copies:
        if m.body.get("type") == "fall_suspected":
            suspected.setdefault(m.body["id"], int(m.body["seq"]))
        if m.body.get("type") in ("fall", "alarm_cancelled") and m.body.get("ref"):
            resolved.add(m.body["ref"])
    for sid, seq in sorted(suspected.items(), key=lambda kv: kv[1]):
        if sid not in resolved:
            rep.falls_unresolved.append(f"fall_suspected seq {seq} id {sid} never ended in a fall "
                                        f"or alarm_cancelled")
    rep.events_pending_at_end = sum(1 for r in rows if not r["is_alarm"] and r["state"] == "pending")
    return rep
