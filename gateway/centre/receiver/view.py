"""What the operator sees in `safehome centre`: a live table and a one-line command prompt.

WHY the view is separate from the client: the receiving rules are exercised by the
integration tests through `Centre`; the screen is a presentation of the same snapshot
and must never hold state of its own (an alarm acknowledged here is acknowledged in
the Centre, which re-acks any later copy).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timezone
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gateway.centre.receiver.client import Centre

HELP = ("Type an alarm number + Enter to acknowledge it; 't GW' test alarm, 's GW' status, "
        "'q' quit.")


def _clock(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, tz=timezone.utc).astimezone().strftime("%H:%M:%S")


def render(centre: Centre, now: float, max_alarms: int = 15, note: str = "") -> Group:
    gw = Table(title="Gateways", expand=True)
    longest = max((len(r.gateway_id) for r in centre.gateways.values()), default=7)
    gw.add_column("gateway", no_wrap=True, min_width=longest)   # whole: operators type it
    for col in ("site", "state", "last heartbeat", "interval", "supervision",
                "seq", "seq gaps", "events"):
        gw.add_column(col)
    for row in sorted(centre.gateways.values(), key=lambda r: r.gateway_id):
        overdue = row.overdue(now)
        gaps = row.seq.gaps(now, centre.state.gap_grace)
        state = Text(row.state, style="green" if row.state == "online" else "red")
        age = "-" if row.last_heartbeat is None else f"{now - row.last_heartbeat:.0f} s ago"
        gw.add_row(row.gateway_id, row.site_id or "-", state, age, f"{row.interval:.0f} s",
                   Text("OVERDUE", style="bold red") if overdue else Text("ok", style="green"),
                   str(row.seq.highest if row.seq.highest is not None else "-"),
                   Text(", ".join(f"{a}-{b}" if a != b else str(a) for a, b in gaps) or "none",
                        style="bold yellow" if gaps else ""),
                   str(row.events))
    alarms = Table(title=f"Alarms ({len(centre.alarms)}; duplicates dropped: "
                         f"{centre.state.duplicates})", expand=True)
    for col in ("#", "received", "gateway", "severity", "type", "room", "text", "copies",
                "acknowledged"):
        # only the text wraps: ids, rooms and severities stay whole and typeable
        alarms.add_column(col, no_wrap=col != "text",
                          min_width=longest if col == "gateway" else None)
    for a in centre.alarms[-max_alarms:][::-1]:
        acked = Text(f"{a.acked_by} {_clock(a.acked_at)}", style="green") if a.acked_by \
            else Text("WAITING", style="bold red")
        kind = a.type + (" (test)" if a.test else "")
        severity = str(a.payload.get("severity") or "-")
        alarms.add_row(str(a.number), _clock(a.received_at), a.gateway_id,
                       Text(severity, style="bold red" if severity == "critical" else ""),
                       kind, str(a.payload.get("room") or "-"), a.text(centre.lang),
                       str(a.copies), acked)
    parts: list[Any] = [gw, alarms]
    if centre.state.results:
        parts.append(_results(centre.state.results[-5:]))
    parts.append(Text(HELP, style="dim"))
    if note:
        parts.append(Text(note, style="cyan"))
    return Group(*parts)


def _results(results: list[dict[str, Any]]) -> Table:
    """The last command results, so an operator sees what `t GW` / `s GW` answered."""
    table = Table(title="Command results (latest last)", expand=True)
    for col in ("gateway", "command", "id", "result"):
        table.add_column(col, no_wrap=col in ("gateway", "id"))
    for r in results:
        if r.get("ok"):
            body = r.get("result") or {}
            summary = Text(", ".join(f"{k}={v}" for k, v in body.items()
                                     if not isinstance(v, (dict, list))) or "ok", style="green")
        else:
            summary = Text(f"failed: {r.get('error', '?')}", style="bold red")
        table.add_row(str(r.get("gateway_id")), str(r.get("name")), str(r.get("id")), summary)
    return table


async def operator_command(centre: Centre, line: str) -> str:
    """Carry out one typed line; returns a short note for the screen."""
    words = line.split()
    if not words:
        return ""
    try:
        if words[0].isdigit():
            record = await centre.ack(int(words[0]))
            return f"acknowledged #{record.number} ({record.type} from {record.gateway_id})"
        if words[0] in ("t", "s") and len(words) == 2:
            name = "test_alarm" if words[0] == "t" else "status"
            cid = await centre.publish_command(words[1], name)
            return f"sent {name} to {words[1]} (id {cid})"
    except Exception as exc:  # noqa: BLE001 - an operator typo must not stop the centre
        return f"could not do {line!r}: {exc}"
    return f"unknown input {line!r}. {HELP}"


def stdin_lines() -> "asyncio.Queue[str | None]":
    """Lines typed on stdin, read without a thread (None at end of input)."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    fd = sys.stdin.fileno()

    def readable() -> None:
        line = sys.stdin.readline()
        if not line:
            loop.remove_reader(fd)
            queue.put_nowait(None)
        else:
            queue.put_nowait(line.strip())

    loop.add_reader(fd, readable)
    return queue
