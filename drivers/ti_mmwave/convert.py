"""Decoded TI frames -> gateway readings in the room frame.

Coordinate convention of every `RadarPoints` / `RadarTargets` reading (sensordata/readings.py
says "room frame"; this is what it means for a TI radar):

* origin on the floor directly below the radar, **z up from the floor** (metres);
* y horizontal, in the direction the radar looks (for a ceiling radar: the direction the
  top edge of the board points); x horizontal, to the right seen from the radar.

The radar reports point clouds in its own *sensor* frame (x right, y along the
boresight, z up of the board); the out-of-box demo (TLV 1) and the people tracking
compressed cloud (TLV 1020) both do. Those points are rotated by the mounting's elevation
tilt (positive down) about x, then by the azimuth tilt about z, then lifted by the
mounting height. People-tracking targets (TLV 1010) and heights (1012) are already in
this world frame, because the firmware's tracker applies `sensorPosition` itself: they
are passed through untouched. Without a known mounting, points stay in the sensor frame
(the driver refuses to start in that case unless told the height; see driver.py).
"""

from __future__ import annotations

import numpy as np

from drivers.ti_mmwave.frames import Frame
from sensordata.radar_mounting import Mounting, rotation, sensor_to_room
from sensordata.readings import RadarPoints, RadarTargets, Reading, Target

# the geometry lives in sensordata (the radar fall detector re-projects with it too)
__all__ = ["FrameConverter", "Mounting", "rotation", "sensor_to_room"]


class FrameConverter:
    """Turns one decoded frame into readings for one configured sensor."""

    def __init__(self, sensor: str, mounting: Mounting | None, *, tracking: bool = False,
                 doppler_resolution_mps: float | None = None) -> None:
        self.sensor = sensor
        self.mounting = mounting
        self.tracking = tracking
        self.doppler_resolution = doppler_resolution_mps

    def points_array(self, frame: Frame) -> np.ndarray:
        """(N, 5) float32: x, y, z (room frame, m), radial velocity (m/s), SNR (dB)."""
        p = frame.points
        if p is None or len(p) == 0:
            return np.zeros((0, 5), dtype=np.float32)
        xyz = sensor_to_room(p.xyz, self.mounting) if self.mounting else p.xyz
        vel = p.velocity
        if p.doppler_idx is not None and self.doppler_resolution:
            vel = p.doppler_idx.astype(np.float32) * np.float32(self.doppler_resolution)
        return np.column_stack([xyz, vel, p.snr_db]).astype(np.float32)

    def readings(self, frame: Frame, t: float) -> list[Reading]:
        out: list[Reading] = []
        n = frame.header.frame_number
        if frame.points is not None or not self.tracking:
            out.append(RadarPoints(self.sensor, t, n, self.points_array(frame)))
        if self.tracking or frame.targets is not None:
            out.append(RadarTargets(self.sensor, t, n, tuple(
                Target(tt.tid, *tt.pos, *tt.vel, height=tt.max_z) for tt in frame.targets or ())))
        return out
