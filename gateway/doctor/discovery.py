"""Finds known radars on serial ports by listening to what they send.

Why passive: a port may belong to something else (a modem, a UPS, another radar's CLI
port), and writing bytes to an unknown device can change its state. Each radar family
reports unasked at a fixed baud rate, so the probe opens the port at each family's rate,
listens for a moment and hands the bytes to that family's real parser: a decoded frame
(magic word, lengths, tail and checksum all right) is the recognition. Garbage at the
wrong baud rate never decodes, so a wrong guess costs only the listening time.

Listening longer (`walk_s`, `safehome discover --listen S`): a TI radar that is already
streaming is heard for S more seconds; a person walking across the room meanwhile (2 m of
range or more) gives its mounting (height, tilt; sensordata/radar_mounting.py), reported
with the sensorPosition that states it. The default 1.5 s cannot see a walk.

The one exception, optional (`query_ld2410`): an LD2410 found passively is asked for its
firmware version, a read-only command, bracketed by enter/leave config mode.
"""

from __future__ import annotations

import asyncio
import glob
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from drivers.ld2410 import protocol as LP
from drivers.ld2410.parser import LD2410Parser
from drivers.seeed.fda1 import FDA1Parser
from drivers.seeed.fda2 import FDA2Parser
from drivers.serial_io import open_stream
from drivers.ti_mmwave.parser import FrameParser
from sensordata.radar_mounting import MountingEstimator

DEFAULT_GLOBS = ("/dev/ttyUSB*", "/dev/ttyACM*", "/dev/serial/by-id/*")


@dataclass(frozen=True)
class Probe:
    type: str
    baud: int
    parser: Callable[[], Any]
    #: frames of this family among what the parser returned (LD2410: reports, not acks)
    count: Callable[[list], int] = len


PROBES = (
    Probe("ti_mmwave", 921600, FrameParser),
    Probe("hlk_ld2410", 256000, LD2410Parser,
          lambda frames: sum(isinstance(f, LP.Report) for f in frames)),
    Probe("seeed_mr60fda2", 115200, FDA2Parser),
    Probe("seeed_mr60fda1", 115200, FDA1Parser),
)


@dataclass
class Found:
    port: str
    type: str
    baud: int
    frames: int
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"port": self.port, "type": self.type, "baud": self.baud, "frames": self.frames,
                **self.detail}


@dataclass
class PortResult:
    port: str
    found: Found | None = None
    heard: dict[int, int] = field(default_factory=dict)  # baud -> bytes received
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"port": self.port, "found": self.found.to_json() if self.found else None,
                "bytes_heard": self.heard, "error": self.error}


def candidate_ports(extra: list[str] | None = None,
                    globs: tuple[str, ...] = DEFAULT_GLOBS) -> list[str]:
    """Ports to probe, each device once, named by its stable /dev/serial/by-id link if any."""
    by_real: dict[str, str] = {}
    for pattern in globs:
        for path in sorted(glob.glob(pattern)):
            real = os.path.realpath(path)
            if real not in by_real or "/by-id/" in path:
                by_real[real] = path
    for path in extra or []:
        by_real.setdefault(os.path.realpath(path), path)
    return list(by_real.values())


async def _listen(port: str, baud: int, seconds: float) -> bytes:
    stream = await open_stream(port, baud, driver_type="discover")
    data = bytearray()
    try:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                chunk = await asyncio.wait_for(stream.read(), left)
            except asyncio.TimeoutError:
                break
            if not chunk:
                break
            data += chunk
    finally:
        await stream.close()
    return bytes(data)


def recognise(baud: int, data: bytes) -> tuple[Probe, list] | None:
    """The probe at `baud` whose parser decodes frames from `data` (most frames wins)."""
    best: tuple[Probe, list] | None = None
    for probe in PROBES:
        if probe.baud != baud:
            continue
        frames = probe.parser().feed(data)
        if probe.count(frames) and (best is None or probe.count(frames) > best[0].count(best[1])):
            best = (probe, frames)
    return best


def _detail(probe: Probe, frames: list) -> dict[str, Any]:
    if probe.type == "ti_mmwave":
        h = frames[-1].header
        tracking = any(f.targets is not None for f in frames)
        return {"sdk": h.version_str, "tracking": tracking, "last_frame": h.frame_number}
    if probe.type == "hlk_ld2410":
        return {"engineering": any(f.engineering for f in frames if isinstance(f, LP.Report))}
    return {}


async def ld2410_firmware(port: str, baud: int, timeout: float = 1.0) -> str | None:
    """Ask an LD2410 its firmware version (enter config, read version, leave config)."""
    stream = await open_stream(port, baud, driver_type="discover")
    parser = LD2410Parser()
    version: str | None = None
    try:
        for frame, command in ((LP.enter_config(), LP.CMD_ENTER_CONFIG),
                               (LP.encode_command(LP.CMD_FIRMWARE_VERSION), LP.CMD_FIRMWARE_VERSION),
                               (LP.leave_config(), LP.CMD_LEAVE_CONFIG)):
            await stream.write(frame)
            deadline = time.monotonic() + timeout
            acked = False
            while not acked and (left := deadline - time.monotonic()) > 0:
                try:
                    chunk = await asyncio.wait_for(stream.read(), left)
                except asyncio.TimeoutError:
                    break
                for f in parser.feed(chunk):
                    if isinstance(f, LP.Ack) and f.command == command:
                        acked = True
                        if command == LP.CMD_FIRMWARE_VERSION and f.ok:
                            version = LP.decode_firmware(f.data)
            if not acked and command == LP.CMD_ENTER_CONFIG:
                return None
    finally:
        await stream.close()
    return version


def walk_mounting(frames: list) -> dict[str, Any]:
    """What a TI radar's frames say about its mounting (sensor-frame points, moving ones)."""
    est = MountingEstimator()
    for f in frames:
        if f.points is not None and len(f.points):
            est.feed(f.points.xyz, f.points.velocity)
    got = est.estimate()
    if got is None:
        return {"mounting": None, "mounting_note": (
            f"not measurable from {est.points} moving points: walk across the room, "
            "towards and away from the radar over 2 m or more, while it listens")}
    return {"mounting": got.to_json(), "mounting_note": got.versus(None)}


async def probe_port(port: str, listen_s: float = 1.5, query_ld2410: bool = False,
                     walk_s: float = 0.0) -> PortResult:
    result = PortResult(port)
    for baud in sorted({p.baud for p in PROBES}, reverse=True):
        try:
            data = await _listen(port, baud, listen_s)
        except Exception as exc:  # noqa: BLE001 - busy, vanished, permission denied
            result.error = str(exc)
            return result
        result.heard[baud] = len(data)
        hit = recognise(baud, data)
        if hit is not None:
            probe, frames = hit
            result.found = Found(port, probe.type, baud, probe.count(frames), _detail(probe, frames))
            if walk_s > 0 and probe.type == "ti_mmwave":
                try:
                    more = await _listen(port, baud, walk_s)
                except Exception as exc:  # noqa: BLE001 - the passive find stands
                    result.found.detail["mounting_note"] = f"listening for a walk failed: {exc}"
                else:
                    result.found.detail.update(walk_mounting(FrameParser().feed(data + more)))
            if query_ld2410 and probe.type == "hlk_ld2410":
                try:
                    result.found.detail["firmware"] = await ld2410_firmware(port, baud)
                except Exception as exc:  # noqa: BLE001 - the passive find stands
                    result.found.detail["firmware_error"] = str(exc)
            return result
    return result


async def probe_ports(ports: list[str], listen_s: float = 1.5,
                      query_ld2410: bool = False, walk_s: float = 0.0) -> list[PortResult]:
    """Probe every port; ports are independent devices, so side by side."""
    return list(await asyncio.gather(*(probe_port(p, listen_s, query_ld2410, walk_s)
                                       for p in ports)))
