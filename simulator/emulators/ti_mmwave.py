"""A TI mmWave radar (IWR6843AOP and relatives) in software: frame encoder and pty device.

The encoder is the inverse of `drivers/ti_mmwave/parser.py`, written separately from the
byte layout facts (shared/reference/sensor-protocols.md) so the two can check each other:
SDK 3.x float points, SDK 2.x Q-format points, side info, statistics, temperature, and the
people-tracking TLVs (1010 targets, 1011 index, 1012 height, 1020 compressed points), with
the 40-byte header (36 on IWR1443) and padding to 32 bytes of any chosen byte value.

`TiRadarEmulator` opens two pseudo-terminals like the two USB UARTs of an EVM: the CLI
port echoes each config line and answers `Done` (or an error for unknown commands, as
the firmware does), and after `sensorStart` the data port streams frames at the
configured rate until `sensorStop`.
"""

from __future__ import annotations

import math
import struct
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from drivers.ti_mmwave.chirp import KNOWN_COMMANDS
from simulator.emulators.pty import PtyDevice, PtyPort

MAGIC = bytes.fromhex("0201040306050807")
PLATFORM_6843 = 0xA6843
PLATFORM_1443 = 0xA1443
VERSION_SDK3 = 0x03060000   # 3.6.0.0
VERSION_SDK2 = 0x02010004   # 2.1.0.4


# -- TLV payloads --------------------------------------------------------------------
def tlv(typ: int, payload: bytes) -> bytes:
    """One TLV: u32 type, u32 payload length, payload."""
    return struct.pack("<II", typ, len(payload)) + payload


def points_sdk3(xyzv: np.ndarray) -> bytes:
    """TLV 1, SDK 3.x: float32 x, y, z, v per point."""
    return np.asarray(xyzv, dtype="<f4").reshape(-1, 4).tobytes()


def points_sdk2(xyz: np.ndarray, q_format: int = 9, doppler_idx: Sequence[int] | None = None,
                range_idx: Sequence[int] | None = None, peak: Sequence[int] | None = None) -> bytes:
    """TLV 1, SDK 2.x: u16 numObj, u16 xyzQFormat, then 12 B per object."""
    xyz = np.asarray(xyz, dtype=float).reshape(-1, 3)
    n = len(xyz)
    rec = np.zeros(n, dtype=[("r", "<u2"), ("d", "<i2"), ("p", "<u2"),
                             ("x", "<i2"), ("y", "<i2"), ("z", "<i2")])
    q = np.clip(np.round(xyz * (1 << q_format)), -32768, 32767).astype("<i2")
    rec["x"], rec["y"], rec["z"] = q[:, 0], q[:, 1], q[:, 2]
    rec["r"] = range_idx if range_idx is not None else np.arange(n)
    rec["d"] = doppler_idx if doppler_idx is not None else 0
    rec["p"] = peak if peak is not None else 1000
    return struct.pack("<HH", n, q_format) + rec.tobytes()


def side_info(snr_db: Sequence[float], noise_db: Sequence[float]) -> bytes:
    """TLV 7: i16 snr, i16 noise per point in 0.1 dB."""
    a = np.zeros(len(snr_db), dtype=[("s", "<i2"), ("n", "<i2")])
    a["s"] = np.round(np.asarray(snr_db) * 10)
    a["n"] = np.round(np.asarray(noise_db) * 10)
    return a.tobytes()


def stats(values: Sequence[int] = (1000, 200, 40000, 50, 30, 20)) -> bytes:
    """TLV 6: six u32 (processing times, margins, CPU loads)."""
    return struct.pack("<6I", *values)


def temperature(valid: int = 0, time_ms: int = 1234, temps: Sequence[int] = (40,) * 10) -> bytes:
    """TLV 9: i32 valid, u32 time, ten i16 sensor temperatures (28 B)."""
    return struct.pack("<iI10h", valid, time_ms, *temps)


@dataclass
class EncTarget:
    tid: int
    pos: tuple[float, float, float]
    vel: tuple[float, float, float] = (0.0, 0.0, 0.0)
    acc: tuple[float, float, float] = (0.0, 0.0, 0.0)
    gating_gain: float = 3.0
    confidence: float = 1.0
    max_z: float | None = None
    min_z: float = 0.0


def targets(ts: Iterable[EncTarget]) -> bytes:
    """TLV 1010: 112 B per target."""
    out = b""
    for t in ts:
        out += struct.pack("<I9f16f2f", t.tid, *t.pos, *t.vel, *t.acc, *([0.0] * 16),
                           t.gating_gain, t.confidence)
    return out


def heights(ts: Iterable[EncTarget]) -> bytes:
    """TLV 1012: u32 tid, float32 maxZ, float32 minZ."""
    return b"".join(struct.pack("<Iff", t.tid, t.max_z if t.max_z is not None else t.pos[2],
                                t.min_z) for t in ts)


def target_index(idx: Sequence[int]) -> bytes:
    """TLV 1011: u8 per point (track id, or 253/254/255)."""
    return bytes(int(i) & 0xFF for i in idx)


DEFAULT_UNITS = (0.01, 0.01, 0.005, 0.00025, 0.04)  # elevation rad, azimuth rad, m/s, m, snr


def compressed_points(xyz: np.ndarray, doppler: Sequence[float], snr: Sequence[float],
                      units: Sequence[float] = DEFAULT_UNITS) -> bytes:
    """TLV 1020 from sensor-frame cartesian points: 5 float32 units, 8 B per point."""
    xyz = np.asarray(xyz, dtype=float).reshape(-1, 3)
    el_u, az_u, dop_u, rng_u, snr_u = units
    r = np.linalg.norm(xyz, axis=1)
    el = np.arcsin(np.divide(xyz[:, 2], r, out=np.zeros_like(r), where=r > 0))
    az = np.arctan2(xyz[:, 0], xyz[:, 1])
    a = np.zeros(len(xyz), dtype=[("e", "i1"), ("a", "i1"), ("d", "<i2"), ("r", "<u2"),
                                  ("s", "<u2")])
    a["e"] = np.clip(np.round(el / el_u), -128, 127)
    a["a"] = np.clip(np.round(az / az_u), -128, 127)
    a["d"] = np.clip(np.round(np.asarray(doppler) / dop_u), -32768, 32767)
    a["r"] = np.clip(np.round(r / rng_u), 0, 65535)
    a["s"] = np.clip(np.round(np.asarray(snr) / snr_u), 0, 65535)
    return struct.pack("<5f", *units) + a.tobytes()


# -- frames --------------------------------------------------------------------------
def frame(frame_number: int, tlvs: Sequence[tuple[int, bytes]], *, version: int = VERSION_SDK3,
          platform: int = PLATFORM_6843, num_detected_obj: int = 0, subframe: int = 0,
          time_cpu_cycles: int = 0, pad: int | bytes = 0x0F, align: int = 32) -> bytes:
    """A complete data-port frame. `pad` is the padding byte value or a byte pattern."""
    body = b"".join(tlv(t, p) for t, p in tlvs)
    hlen = 36 if platform & 0xFFFF == 0x1443 else 40
    total = hlen + len(body)
    total += (-total) % align if align else 0
    fields = [version, total, platform, frame_number, time_cpu_cycles, num_detected_obj, len(tlvs)]
    if hlen == 40:
        fields.append(subframe)
    head = MAGIC + struct.pack(f"<{len(fields)}I", *fields)
    npad = total - hlen - len(body)
    padding = bytes([pad]) * npad if isinstance(pad, int) else (pad * (npad // max(1, len(pad)) + 1))[:npad]
    return head + body + padding


def oob_frame(n: int, xyzv: np.ndarray, *, sdk: int = 3, snr_db: Sequence[float] | None = None,
              with_stats: bool = True, platform: int = PLATFORM_6843, pad: int | bytes = 0x0F,
              q_format: int = 9) -> bytes:
    """An out-of-box demo frame: points (SDK 2.x or 3.x layout), side info, statistics."""
    xyzv = np.asarray(xyzv, dtype=float).reshape(-1, 4)
    tl: list[tuple[int, bytes]] = []
    if len(xyzv):
        if sdk >= 3:
            tl.append((1, points_sdk3(xyzv)))
            snr = snr_db if snr_db is not None else [20.0] * len(xyzv)
            tl.append((7, side_info(snr, [5.0] * len(xyzv))))
        else:
            tl.append((1, points_sdk2(xyzv[:, :3], q_format,
                                      doppler_idx=np.round(xyzv[:, 3] / 0.1).astype(int).tolist())))
    if with_stats:
        tl.append((6, stats()))
    return frame(n, tl, version=VERSION_SDK3 if sdk >= 3 else VERSION_SDK2, platform=platform,
                 num_detected_obj=len(xyzv), pad=pad)


def tracking_frame(n: int, ts: Sequence[EncTarget], xyz: np.ndarray | None = None,
                   doppler: Sequence[float] | None = None, snr: Sequence[float] | None = None,
                   index: Sequence[int] | None = None, pad: int | bytes = 0x0F) -> bytes:
    """A 3D people tracking frame: 1020 points, 1010 targets, 1012 heights, 1011 index.

    As the Radar Toolbox demo does, 1010/1012 are present only when there are targets
    and 1011 only when there are points.
    """
    xyz = np.zeros((0, 3)) if xyz is None else np.asarray(xyz, dtype=float).reshape(-1, 3)
    npts = len(xyz)
    tl: list[tuple[int, bytes]] = [(1020, compressed_points(
        xyz, doppler if doppler is not None else [0.0] * npts,
        snr if snr is not None else [10.0] * npts))]
    if ts:
        tl.append((1010, targets(ts)))
        tl.append((1012, heights(ts)))
    if npts:
        tl.append((1011, target_index(index if index is not None else [255] * npts)))
    return frame(n, tl, version=VERSION_SDK3, num_detected_obj=npts, pad=pad)


def walking_then_fall(n_frames: int, fps: float = 20.0, fall_at: float = 3.0,
                      first_frame: int = 1, fall_s: float = 0.6,
                      mounting: tuple[float, float] = (2.0, 15.0)) -> list[bytes]:
    """A person walks along y at 0.8 m/s and falls at `fall_at` s: their top drops from
    1.7 m to 0.4 m within `fall_s` seconds and stays there. People-tracking frames; points
    are expressed in the sensor frame of a radar at `mounting` = (height m, tilt deg)."""
    out = []
    for k in range(n_frames):
        t = k / fps
        frac = min(max((t - fall_at) / fall_s, 0.0), 1.0)
        z_top = 1.7 - 1.3 * frac
        vz = -1.3 / fall_s if 0.0 < frac < 1.0 else 0.0
        walking = t < fall_at
        pos = (0.3, 1.0 + min(t, fall_at) * 0.8, z_top / 2)
        tgt = EncTarget(1, pos, vel=(0.0, 0.8 if walking else 0.0, vz / 2), max_z=z_top)
        pts = np.array([[pos[0] + dx, pos[1], z] for dx in (-0.1, 0.1)
                        for z in np.linspace(0.1, z_top, 4)])
        out.append(tracking_frame(first_frame + k, [tgt], _world_to_sensor(pts, *mounting),
                                  index=[1] * len(pts)))
    return out


def frame_from_readings(frame_number: int, xyz_room: np.ndarray | None,
                        ts: Sequence[EncTarget], mounting: tuple[float, float] = (2.0, 15.0),
                        doppler: Sequence[float] | None = None,
                        snr: Sequence[float] | None = None) -> bytes:
    """A people-tracking frame from room-frame points and targets (e.g. from a simulated
    trace): what a radar at `mounting` = (height m, elevation tilt deg) would send."""
    xyz = None if xyz_room is None else _world_to_sensor(np.asarray(xyz_room, float).reshape(-1, 3),
                                                         *mounting)
    return tracking_frame(frame_number, ts, xyz, doppler, snr)


def _world_to_sensor(pts: np.ndarray, height: float = 2.0, tilt_deg: float = 15.0) -> np.ndarray:
    """Inverse of the driver's room-frame transform (wall mount, elevation tilt down)."""
    th = math.radians(tilt_deg)
    x, y, z = pts[:, 0], pts[:, 1], pts[:, 2] - height
    ys = y * math.cos(th) - z * math.sin(th)
    zs = y * math.sin(th) + z * math.cos(th)
    return np.column_stack([x, ys, zs])


# -- the device ----------------------------------------------------------------------
class TiRadarEmulator(PtyDevice):
    """Two ptys: `cli_path` (config lines in, echo + Done out) and `data_path` (frames).

    `frames` is a list of encoded frames (played in order, looped if `loop`) or a
    function of the frame index. `errors` maps a command name to the answer the device
    gives instead of Done (e.g. {"cfarCfg": "Error -1"}).
    """

    prompt = "mmwDemo:/>"

    def __init__(self, frames: Sequence[bytes] | Callable[[int], bytes], fps: float = 20.0,
                 loop: bool = True, errors: dict[str, str] | None = None) -> None:
        self.cli = PtyPort("cli")
        self.data = PtyPort("data")
        super().__init__(self.cli, self.data)
        self.frames = frames
        self.fps = fps
        self.loop = loop
        self.errors = dict(errors or {})
        self.received_lines: list[str] = []
        self.frames_sent = 0
        self.streaming = False
        self._next_at = 0.0
        self._line = bytearray()

    @property
    def cli_path(self) -> str:
        return self.cli.path

    @property
    def data_path(self) -> str:
        return self.data.path

    def on_read(self, port: PtyPort, data: bytes) -> None:
        if port is not self.cli:
            return
        self._line += data
        while True:
            i = self._line.find(b"\n")
            if i < 0:
                return
            raw = self._line[:i].rstrip(b"\r").decode("ascii", "replace")
            del self._line[: i + 1]
            self._answer(raw)

    def _answer(self, line: str) -> None:
        line = line.strip()
        if not line:
            self.cli.write(f"\r\n{self.prompt}".encode())
            return
        self.received_lines.append(line)
        cmd = line.split()[0]
        reply = [line]  # the firmware echoes what it received
        if cmd not in KNOWN_COMMANDS:
            reply.append(f"'{cmd}' is not recognized as a CLI command")
        elif cmd in self.errors:
            reply.append(self.errors[cmd])
        else:
            if cmd == "sensorStart":
                self.streaming = True
                self._next_at = time.monotonic()
            elif cmd == "sensorStop":
                if not self.streaming:
                    reply.append("Ignored: Sensor is already stopped")
                self.streaming = False
            reply.append("Done")
        self.cli.write(("\r\n".join(reply) + "\r\n" + self.prompt).encode())

    def _frame(self, k: int) -> bytes | None:
        if callable(self.frames):
            return self.frames(k)
        if not self.frames:
            return None
        if k >= len(self.frames) and not self.loop:
            return None
        return self.frames[k % len(self.frames)]

    def on_tick(self, now: float) -> None:
        if not self.streaming:
            return
        while now >= self._next_at:
            self._next_at += 1.0 / self.fps
            f = self._frame(self.frames_sent)
            if f is None:
                self.streaming = False
                return
            self.data.write(f)
            self.frames_sent += 1
