"""What one decoded TI mmWave data-port frame holds.

The parser turns bytes into these plain dataclasses and nothing else: no unit
conversion that needs the chirp config, no mounting geometry. That keeps the parser a
pure function of the bytes (testable against captures), while `convert.py` applies the
installation's knowledge (sensor height, tilt, doppler resolution) to make readings.

Arrays are numpy so a frame with hundreds of points costs one `frombuffer`, not a
Python object per point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

MAGIC = bytes.fromhex("0201040306050807")

# TLV types (TI mmWave SDK out-of-box demo and Radar Toolbox people tracking).
TLV_POINTS = 1
TLV_RANGE_PROFILE = 2
TLV_NOISE_PROFILE = 3
TLV_AZIMUTH_HEATMAP = 4
TLV_RANGE_DOPPLER_HEATMAP = 5
TLV_STATS = 6
TLV_SIDE_INFO = 7
TLV_AZIMUTH_ELEVATION_HEATMAP = 8
TLV_TEMPERATURE = 9
TLV_TARGETS = 1010
TLV_TARGET_INDEX = 1011
TLV_TARGET_HEIGHT = 1012
TLV_COMPRESSED_POINTS = 1020
TLV_PRESENCE = 1021
TLV_OCCUPANCY = 1030
TLV_VITALS = 1040

#: target-index values that do not name a track (TLV 1011)
INDEX_WEAK_SNR, INDEX_OUTSIDE_BOUNDARY, INDEX_NOISE = 253, 254, 255

STATS_FIELDS = (
    "inter_frame_processing_time_us", "transmit_output_time_us",
    "inter_frame_processing_margin_us", "inter_chirp_processing_margin_us",
    "active_frame_cpu_load", "inter_frame_cpu_load",
)


@dataclass(frozen=True, slots=True)
class FrameHeader:
    """The frame header. `header_len` is 40, or 36 on IWR1443 (no subFrameNumber)."""

    version: int
    total_packet_len: int
    platform: int
    frame_number: int
    time_cpu_cycles: int
    num_detected_obj: int
    num_tlvs: int
    sub_frame_number: int
    header_len: int

    @property
    def sdk_major(self) -> int:
        """Version is MajorNum * 2^24 + MinorNum * 2^16 + BugfixNum * 2^8 + BuildNum."""
        return (self.version >> 24) & 0xFF

    @property
    def version_str(self) -> str:
        v = self.version
        return f"{v >> 24 & 0xFF}.{v >> 16 & 0xFF}.{v >> 8 & 0xFF}.{v & 0xFF}"


@dataclass(slots=True)
class Points:
    """A point cloud in the *sensor* frame: x right, y along the boresight, z up (m).

    `fmt` says which wire format it came from: "float" (SDK 3.x, TLV 1), "q" (SDK 2.x
    TLV 1, where velocity is only a Doppler bin index: `velocity` is NaN and
    `doppler_idx` holds the index) or "compressed" (people tracking TLV 1020, spherical).
    `snr_db`/`noise_db` are NaN where the frame carried no side info.
    """

    fmt: str
    xyz: np.ndarray          # (N, 3) float32
    velocity: np.ndarray     # (N,) float32, m/s (radial)
    snr_db: np.ndarray       # (N,) float32
    noise_db: np.ndarray     # (N,) float32
    range_idx: np.ndarray | None = None    # SDK 2.x only
    doppler_idx: np.ndarray | None = None  # SDK 2.x only
    peak: np.ndarray | None = None         # SDK 2.x only
    xyz_q_format: int | None = None        # SDK 2.x only

    def __len__(self) -> int:
        return int(self.xyz.shape[0])


@dataclass(frozen=True, slots=True)
class TrackedTarget:
    """One people-tracking target (TLV 1010), world frame when sensorPosition is set."""

    tid: int
    pos: tuple[float, float, float]
    vel: tuple[float, float, float]
    acc: tuple[float, float, float]
    gating_gain: float
    confidence: float
    max_z: float | None = None  # from TLV 1012
    min_z: float | None = None


@dataclass(slots=True)
class Frame:
    """One complete, decoded frame."""

    header: FrameHeader
    points: Points | None = None
    stats: dict[str, int] | None = None
    temperature: dict[str, int] | None = None
    targets: list[TrackedTarget] | None = None  # None: frame had no target TLV
    target_index: np.ndarray | None = None       # (N,) uint8, TLV 1011
    occupancy: int | None = None                 # TLV 1030 bitmask
    range_profile: np.ndarray | None = None      # TLV 2, u16 per bin
    #: TLVs we carry but do not interpret (heatmaps, presence, vitals): type -> payload
    other: dict[int, bytes] = field(default_factory=dict)
    #: problems inside an otherwise well-framed frame (e.g. a TLV of the wrong size)
    warnings: list[str] = field(default_factory=list)

    @property
    def number(self) -> int:
        return self.header.frame_number

    def to_json(self) -> dict[str, Any]:
        """A JSON-able summary in the device's own coordinates (used by `safehome decode`)."""
        h = self.header
        out: dict[str, Any] = {
            "frame": h.frame_number,
            "subframe": h.sub_frame_number,
            "version": h.version_str,
            "platform": f"{h.platform:#x}",
            "num_detected_obj": h.num_detected_obj,
        }
        p = self.points
        if p is not None:
            cols = np.column_stack([p.xyz, p.velocity, p.snr_db]).astype(float)
            out["point_format"] = p.fmt
            out["points"] = [[None if v != v else round(v, 4) for v in row] for row in cols.tolist()]
        else:
            out["points"] = []
        out["targets"] = [
            {"tid": t.tid, "x": t.pos[0], "y": t.pos[1], "z": t.pos[2],
             "vx": t.vel[0], "vy": t.vel[1], "vz": t.vel[2],
             "confidence": t.confidence, "max_z": t.max_z, "min_z": t.min_z}
            for t in (self.targets or [])
        ]
        if self.stats is not None:
            out["stats"] = self.stats
        if self.target_index is not None:
            out["target_index"] = self.target_index.tolist()
        if self.occupancy is not None:
            out["occupancy"] = self.occupancy
        if self.other:
            out["other_tlvs"] = sorted(self.other)
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out
