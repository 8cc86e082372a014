"""Radar frames: tracked targets (position, velocity, height) and point clouds.

The radar sits at the middle of its room's front wall (x across, y into the room, z up,
metres). The resident is a target while in the room and not hidden in a blind zone; a
fall is the head dropping from standing height to near the floor in under a second and
staying there, as mmWave trackers report it (TI 1010/1012 height, 1020 points).
"""

from __future__ import annotations

import numpy as np

from simulator.timeline import Segment

HEIGHT = {"upright": 1.62, "seated": 1.2, "lying": 0.35}


def _height(seg: Segment, u: np.ndarray, prev: str) -> np.ndarray:
    """Top-of-head height above the floor during the segment."""
    end = HEIGHT[seg.posture]
    start = HEIGHT[prev]
    if seg.act == "fall":
        descent = 0.9 if seg.params.get("kind") == "fainting" else 0.5
        f = np.clip(u / descent, 0, 1) ** 2
    elif seg.act in ("walk", "stairs", "stand", "sit", "lie", "sleep", "floor_still",
                     "floor_struggle", "out"):
        f = np.clip(u / 1.0, 0, 1)
    else:
        f = 0.5 - 0.5 * np.cos(np.pi * np.clip(u / max(seg.dur, 1e-3), 0, 1))
    return start + (end - start) * f


def segment_track(seg: Segment, t: np.ndarray, prev_posture: str,
                  rng: np.random.Generator, noise: float) -> np.ndarray:
    """Per frame: x, y, z, vx, vy, vz, height (shape (n, 7)); x, y in the room frame with
    the radar at (0, 0) in the middle of the front wall."""
    n = len(t)
    u = t - seg.t0
    p0, p1 = np.array(seg.pos0), np.array(seg.pos1)
    f = np.clip(u / max(seg.dur, 1e-6), 0, 1)[:, None]
    xy = p0 + (p1 - p0) * f
    v = np.tile((p1 - p0) / max(seg.dur, 1e-6), (n, 1))
    if seg.act in ("walk", "stairs"):
        xy = xy + 0.03 * np.sin(2 * np.pi * 0.8 * t)[:, None]
    elif seg.act == "floor_struggle":
        xy = xy + 0.1 * np.sin(2 * np.pi * 0.5 * t)[:, None]
        v = v + 0.2 * np.cos(2 * np.pi * 0.5 * t)[:, None]
    h = _height(seg, u, prev_posture)
    dt = 0.05
    vz = (_height(seg, u + dt, prev_posture) - _height(seg, u - dt, prev_posture)) / (2 * dt)
    vz = np.where(u - dt < 0, 0.0, vz)
    out = np.empty((n, 7))
    out[:, 0:2] = xy + rng.normal(0, 0.03 + noise, (n, 2))
    out[:, 2] = 0.55 * h + rng.normal(0, 0.02, n)
    out[:, 3:5] = v + rng.normal(0, 0.02, (n, 2))
    out[:, 5] = 0.55 * vz + rng.normal(0, 0.02, n)
    out[:, 6] = h + rng.normal(0, 0.02 + noise, n)
    return out


def room_frame(xy: np.ndarray, size: tuple[float, float]) -> np.ndarray:
    """Room coordinates (origin at a corner) -> radar frame (radar mid front wall)."""
    out = xy.copy()
    out[..., 0] -= size[0] / 2
    return out


def in_blind(xy: np.ndarray, blind: tuple[tuple[float, float, float, float], ...]) -> np.ndarray:
    hidden = np.zeros(len(xy), dtype=bool)
    for x0, y0, x1, y1 in blind:
        hidden |= (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    return hidden


def point_cloud(track: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A person's point cloud for one frame: x, y, z, doppler, snr (float32, shape (k, 5))."""
    k = int(rng.poisson(14))
    x, y, _, vx, vy, vz, h = track
    pts = np.empty((k, 5), dtype=np.float32)
    pts[:, 0] = x + rng.normal(0, 0.15, k)
    pts[:, 1] = y + rng.normal(0, 0.15, k)
    pts[:, 2] = rng.uniform(0.05, max(0.1, h), k)
    rng_dist = max(np.hypot(x, y), 0.3)
    radial = (x * vx + y * vy) / rng_dist
    pts[:, 3] = radial + vz * 0.3 + rng.normal(0, 0.05, k)
    pts[:, 4] = rng.uniform(8, 30, k)
    return pts
