"""Ready-to-paste `[[sensors]]` TOML for what `safehome discover` found.

Why snippets and not a written config: the installer still has to say which room each
sensor is in and may rename it; a snippet with those lines commented out is accepted by
`safehome config check` as it stands (a room that is not in `[[rooms]]` would not be),
so the installer can paste first and refine after.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Sequence

from gateway.doctor.ble_scan import BleFound
from gateway.doctor.discovery import Found

PLACEMENT = {"ti_mmwave": "ceiling", "hlk_ld2410": "wall", "seeed_mr60fda2": "ceiling",
             "seeed_mr60fda1": "ceiling", "ble_heart_rate": "chest", "polar_pmd": "chest",
             "ble_button": "pendant"}
ID_PREFIX = {"ti_mmwave": "radar", "hlk_ld2410": "presence", "seeed_mr60fda2": "fall-radar",
             "seeed_mr60fda1": "fall-radar", "ble_heart_rate": "heart-rate",
             "polar_pmd": "polar", "ble_button": "button"}


def _s(value: Any) -> str:
    """A TOML value (basic strings are JSON strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, str) else str(value)


def sensor_toml(sid: str, type_: str, settings: dict[str, Any], comment: str,
                notes: Sequence[str] = (), placement: str | None = None) -> str:
    placement = placement or PLACEMENT.get(type_)
    lines = [f"# {comment}", "[[sensors]]", f"id = {_s(sid)}", f"type = {_s(type_)}",
             '# room = "living"        # a room id from your [[rooms]]',
             f"placement = {_s(placement)}" if placement else "# placement = ...",
             "[sensors.settings]"]
    lines += [f"{k} = {_s(v)}" for k, v in settings.items()]
    lines += list(notes)
    return "\n".join(lines) + "\n"


def _other_port(port: str) -> str | None:
    """A guess at the sibling UART of a two-port radar board (/dev/ttyUSB1 -> /dev/ttyUSB0).
    Only a guess, and only for USB serial names: a pty or another device must never get
    a chirp config written to it, so the snippet offers it commented out."""
    m = re.fullmatch(r"(/dev/tty(?:USB|ACM))(\d+)", port)
    if not m or int(m.group(2)) == 0:
        return None
    guess = f"{m.group(1)}{int(m.group(2)) - 1}"
    return guess if os.path.exists(guess) else None


def serial_snippet(found: Found, sid: str) -> str:
    comment = f"{found.type} found on {found.port} ({found.frames} frames at {found.baud} baud)"
    notes: list[str] = []
    placement = None
    if found.type == "ti_mmwave":
        placement = "ceiling" if found.detail.get("tracking") else "wall"
        settings: dict[str, Any] = {"data_port": found.port,
                                    "config": "iwr6843aop_ceiling" if found.detail.get("tracking")
                                    else "iwr6843aop_oob_wall"}
        cli = _other_port(found.port) or "/dev/ttyUSB0"
        notes.append(f"# cli_port = {_s(cli)}  # the board's other port (check!); without it "
                     "the radar keeps the config it is running")
        comment += f", SDK {found.detail.get('sdk')}"
        m = found.detail.get("mounting")
        if m:
            notes.append(f"# measured from a walk (discover --listen): sensor_height_m = "
                         f"{m['height_m']:.2f}, elevation_tilt_deg = {m['tilt_deg']:.1f} "
                         f"(or in the chirp config: sensorPosition {m['height_m']:.2f} 0 "
                         f"{m['tilt_deg']:.0f})")
    else:
        settings = {"port": found.port}
        if found.baud != {"hlk_ld2410": 256000}.get(found.type, 115200):
            settings["baud"] = found.baud
        if found.detail.get("firmware"):
            comment += f", firmware {found.detail['firmware']}"
        notes.append("# preset = \"...\"  # a mounting preset from firmware_configs/ "
                     "(else the module keeps its own settings)")
    return sensor_toml(sid, found.type, settings, comment, notes, placement)


def ble_snippets(found: BleFound, sids: list[str]) -> list[str]:
    out = []
    for type_, sid in zip(found.types, sids, strict=True):
        comment = (f"{type_}: {found.name or 'unnamed'} {found.address} "
                   f"(RSSI {found.rssi} dBm)")
        out.append(sensor_toml(sid, type_, {"address": found.address}, comment))
    return out


def all_snippets(serial: list[Found], ble: list[BleFound]) -> str:
    """Every snippet, with ids unique among them (radar-1, radar-2, ...)."""
    counters: dict[str, int] = {}

    def next_id(type_: str) -> str:
        prefix = ID_PREFIX.get(type_, type_)
        counters[prefix] = counters.get(prefix, 0) + 1
        return f"{prefix}-{counters[prefix]}"

    parts = [serial_snippet(f, next_id(f.type)) for f in serial]
    for b in ble:
        parts.extend(ble_snippets(b, [next_id(t) for t in b.types]))
    return "\n".join(parts)
