"""The JSON the console's API serves, built from the running gateway's state (`ConsoleHost`).

Every function here only reads: the health monitor, the outbox, the uplink's state, the
console's own `LiveState`, and the event store's newest rows (`Store.recent`, through the
store's own connection: the gateway holds the database exclusively).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from drivers import registry as driver_registry
from gateway.checks.check import Check
from gateway.console import mounting
from gateway.console.host import ConsoleHost
from gateway.console.live import LiveState
from gateway.events import iso

SECRET_KEY = re.compile(r"(pass|secret|token|api_?key|psk|credential)", re.IGNORECASE)
HIDDEN = "•••• (hidden)"
LOW_BATTERY_PERCENT = 20.0
WEAK_RSSI_DBM = -85.0
EVENTS_LIMIT = 50


def _expected_rate(sensor_type: str) -> float | None:
    try:
        rate = getattr(driver_registry.load(sensor_type), "expected_rate_hz", None)
    except Exception:  # noqa: BLE001
        return None
    return float(rate) if isinstance(rate, (int, float)) else None


def _ago(last: dict[str, Any] | None) -> str:
    if not last or not last.get("at"):
        return "unknown"
    from gateway.events import parse_iso
    return f"{max(0.0, time.time() - parse_iso(last['at'])):.0f} s ago"


def sensors(d: ConsoleHost, live: LiveState) -> list[dict[str, Any]]:
    """One object per sensor the daemon watches (config entries, then bridged devices)."""
    now = time.monotonic()
    summary = d.health.summary()
    configured = {s.id: s for s in d.cfg.sensors}
    names = d.cfg.room_names()
    out = []
    for k in d.known_sensors:
        sid = k.meta.id
        h = d.health.sensors.get(sid)
        s = summary.get(sid, {})
        lv = live.sensors.get(sid)
        rate, rate_kind = lv.rate(now) if lv else (None, None)
        silence: dict[str, Any] = {"timeout_s": k.timeout}
        if h is not None:
            since = h.last_mono if h.last_mono is not None else h.started
            silence["silent_for_s"] = round(now - since, 1)
            silence["remaining_s"] = round(max(0.0, k.timeout - (now - since)), 1)
        cfg = configured.get(sid) or configured.get(k.parent or "")
        out.append({
            "id": sid, "type": k.meta.type, "room": k.meta.room,
            "room_name": names.get(k.meta.room or "", {}),
            "placement": k.meta.placement, "role": k.meta.role, "parent": k.parent,
            "required": cfg.required if cfg else True,
            "state": s.get("state", "waiting"), "failed": h.failed if h else None,
            "last_seen": s.get("last_seen"), "readings": h.readings if h else 0,
            "last_reading": None if lv is None or lv.last_kind is None else {
                "kind": lv.last_kind, "at": iso(lv.last_wall) if lv.last_wall else None,
                "values": lv.last_value},
            "rate_hz": None if rate is None else round(rate, 2), "rate_kind": rate_kind,
            "expected_hz": _expected_rate(k.meta.type),
            "battery": s.get("battery"), "rssi": s.get("rssi"), "lqi": lv.lqi if lv else None,
            "silence": silence,
        })
    return out


def zones(d: ConsoleHost, sensor: str) -> list[dict[str, Any]]:
    settings = d.cfg.detector_settings().get("radar_fall")
    out = []
    for kind in ("lying_zones", "blind_zones"):
        for z in getattr(settings, kind, None) or []:
            if z.sensor is None or z.sensor == sensor:
                out.append({"kind": kind.removesuffix("_zones"), "name": z.name,
                            "x": list(z.x), "y": list(z.y)})
    return out


def radars(d: ConsoleHost, live: LiveState, zones: dict[str, list[dict[str, Any]]],
           configured: dict[str, dict[str, float | None]]) -> list[dict[str, Any]]:
    """Each radar: its latest targets and points (room frame, metres), zones, mounting.
    `zones` and `configured` (mounting) come from the frozen config, computed once."""
    detectors = d.pipeline.detectors if d.pipeline is not None else {}
    out = []
    for s in d.cfg.sensors:
        frame = live.radar.get(s.id)
        if s.type not in mounting.RADAR_TYPES and frame is None:
            continue
        conf = configured.get(s.id) or {"height_m": None, "tilt_deg": None}
        meas = mounting.measured(detectors, s.id)
        out.append({
            "id": s.id, "room": s.room, "placement": s.placement,
            "at": iso(frame.wall) if frame else None,
            "targets": frame.targets if frame else [],
            "points": frame.points if frame else [],
            "zones": zones.get(s.id, []),
            "mounting": mounting.check(conf, meas),
        })
    return out


def walk(d: ConsoleHost, live: LiveState) -> dict[str, Any]:
    w = live.walk
    return {"running": w.running,
            "started_at": iso(w.started_wall) if w.started_wall else None,
            "stopped_at": iso(w.stopped_wall) if w.stopped_wall else None,
            "sensors": [{"id": k.meta.id, "room": k.meta.room, "type": k.meta.type,
                         "seen": k.meta.id in w.seen,
                         "count": w.seen.get(k.meta.id, {}).get("count", 0),
                         "first_at": iso(w.seen[k.meta.id]["first"]) if k.meta.id in w.seen else None,
                         "last_at": iso(w.seen[k.meta.id]["last"]) if k.meta.id in w.seen else None}
                        for k in d.known_sensors]}


def uplink(d: ConsoleHost) -> dict[str, Any]:
    return {"state": d.uplink.state, "broker": f"{d.cfg.mqtt.host}:{d.cfg.mqtt.port}",
            "pending": d.outbox.pending, "unacknowledged": d.outbox.unacknowledged,
            "storage": "degraded" if d.store.failed else "ok"}


def live_checks(d: ConsoleHost, live: LiveState, tests: list[dict[str, Any]]) -> list[Check]:
    """The doctor's checklist from what the running daemon sees. The CLI doctor opens the
    devices itself; here the daemon already holds them, so their health is read instead."""
    out = [Check.ok("config", f"valid: gateway {d.cfg.gateway_id}, {len(d.cfg.sensors)} sensors, "
                    f"broker {d.cfg.mqtt.url}")]
    for s in sensors(d, live):
        item = f"sensor {s['id']}"
        req = bool(s["required"])
        state = s["state"]
        if state == "ok":
            rate, expected = s["rate_hz"], s["expected_hz"]
            if expected and rate is not None and rate < 0.5 * expected:
                out.append(Check.fail(item, f"{rate:g}/s readings, expected {expected:g}/s: "
                                      "readings are being lost", "check the cable and the baud "
                                      "rate", required=req))
            else:
                flow = f"{rate:g} readings/s" if rate is not None else "readings arrive"
                out.append(Check.ok(item, f"{flow}; last {_ago(s['last_reading'])}"))
        elif state == "waiting":
            out.append(Check.warn(item, "no reading yet since the gateway started",
                                  "event-driven sensors (motion, door) report when something "
                                  "happens: walk past it"))
        elif state == "silenced":
            out.append(Check.warn(item, "silenced by the alarm centre", None))
        else:
            out.append(Check.fail(item, f"{state}: {s['failed'] or 'no readings within its timeout'}",
                                  "check its power, battery and distance to the gateway",
                                  required=req))
        if s["battery"] is not None and s["battery"] < LOW_BATTERY_PERCENT:
            out.append(Check.warn(f"{item}: battery", f"{s['battery']:g} %, low",
                                  "charge or replace the battery"))
        if s["rssi"] is not None and s["rssi"] < WEAK_RSSI_DBM:
            out.append(Check.warn(f"{item}: signal", f"RSSI {s['rssi']:g} dBm, weak",
                                  "move the gateway or a router closer to the device"))
    up = uplink(d)
    if up["state"] == "connected":
        out.append(Check.ok("uplink: broker", f"connected to {up['broker']}"))
    else:
        out.append(Check.fail("uplink: broker", f"{up['state']} ({up['broker']})",
                              "check the network, the broker address and the credentials"))
    acked = [t for t in tests if t["step"] == "acknowledged"]
    if acked:
        out.append(Check.ok("uplink: test alarm", f"acknowledged by {acked[0]['acknowledged_by']!r}"))
    elif tests:
        out.append(Check.warn("uplink: test alarm", f"last one is {tests[0]['step']}, not yet "
                              "acknowledged", "wait, or ask the centre whether it arrived"))
    else:
        out.append(Check.skip("uplink: test alarm", "not tried yet: open Test alarm and press it"))
    if d.store.failed:
        out.append(Check.fail("disk: event store", f"degraded: {d.store.failed}",
                              "alarms go on from memory; free space or replace the SD card"))
    w = live.walk
    if w.started_wall is not None:
        missing = [k.meta.id for k in d.known_sensors if k.meta.id not in w.seen]
        if missing:
            out.append(Check.warn("walk test", f"not seen yet: {', '.join(missing)}",
                                  "walk past these sensors (open the door, wear the pendant)"))
        else:
            out.append(Check.ok("walk test", "every sensor saw someone"))
    else:
        out.append(Check.skip("walk test", "not started yet"))
    return out


def machine_checks(d: ConsoleHost) -> list[Check]:
    """Clock, disk and recording: the CLI doctor's own checks (run in a thread: they may
    call timedatectl)."""
    from gateway.checks.system import check_clock, check_recording, check_storage
    return [*check_clock(), *check_storage(d.cfg), *check_recording(d.cfg)]


async def recent_events(d: ConsoleHost, limit: int = EVENTS_LIMIT) -> list[dict[str, Any]]:
    """The newest events from the store, through the store's own connection."""
    rows = await d.store.recent(limit)
    out = []
    for body, state, attempts, sent_at, acked_at, acked_by in rows:
        ev = json.loads(body)
        out.append({"id": ev["id"], "seq": ev["seq"], "type": ev["type"],
                    "severity": ev["severity"], "occurred_at": iso(ev["occurred_at"]),
                    "room": ev.get("room"), "sensor": ev.get("sensor"), "text": ev.get("text", {}),
                    "test": ev.get("test", False), "state": state, "attempts": attempts,
                    "sent_at": iso(sent_at) if sent_at else None,
                    "acked_at": iso(acked_at) if acked_at else None, "acked_by": acked_by})
    return out


def memory_events(d: ConsoleHost) -> list[dict[str, Any]]:
    """While the store is degraded: what the outbox still holds."""
    return [{"id": e.event.id, "seq": e.event.seq, "type": e.event.type,
             "severity": e.event.severity, "occurred_at": iso(e.event.occurred_at),
             "room": e.event.room, "sensor": e.event.sensor, "text": dict(e.event.text),
             "test": e.event.test, "state": "in memory", "attempts": e.attempts,
             "sent_at": None, "acked_at": None, "acked_by": None}
            for e in sorted(d.outbox.entries.values(), key=lambda e: -e.event.seq)]


def _hide(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _hide(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide(v, key) for v in value]
    if key and not key.endswith("_env") and SECRET_KEY.search(key) and value not in (None, ""):
        return HIDDEN
    return value


def config(d: ConsoleHost) -> dict[str, Any]:
    """The validated config, secrets hidden. The file names environment variables rather
    than holding secrets; a driver's own settings might still hold one (`api_key`), and a
    broker URL might carry a password."""
    data = _hide(d.cfg.model_dump(mode="json"))
    url = data.get("mqtt", {}).get("url", "")
    data.setdefault("mqtt", {})["url"] = re.sub(r"//([^@/]*)@", "//" + HIDDEN + "@", url)
    return data
