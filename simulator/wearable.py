"""Wearable accelerometer signals (waist or wrist), vectorised per segment.

Each activity is gravity (a unit vector in the device frame that turns with the body)
plus its dynamics: a gait oscillation for walking and stairs, a seat impact for sitting
down (soft or hard: elderly people sit down hard, the classic false alarm), a free-fall
dip, an impact and a new lying orientation for falls, bursts for struggling, breathing
for lying still. The waist frame follows SisFall: standing reads -1 g on y.

A segment's signal is a function of absolute time, so any slice of the timeline can be
generated on its own and the pieces join seamlessly.
"""

from __future__ import annotations

import numpy as np

from simulator.timeline import Segment

TABLE = np.array([0.0, 0.0, 1.0])   # a wearable lying on a table


def _blend(g0: np.ndarray, g1: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Orientations from g0 to g1 for fractions f in [0, 1] (normalised lerp)."""
    f = np.clip(f, 0.0, 1.0)[:, None]
    g = g0[None, :] * (1 - f) + g1[None, :] * f
    n = np.linalg.norm(g, axis=1, keepdims=True)
    return g / np.where(n < 1e-6, 1.0, n)


def _pulse(t: np.ndarray, at: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((t - at) / width) ** 2)


def _hash01(*keys: float) -> float:
    """A deterministic pseudo-random number in [0, 1) from segment facts (stable across slices)."""
    x = np.random.default_rng([int(abs(k) * 1000) % (2**32) for k in keys]).random()
    return float(x)


def segment_accel(seg: Segment, t: np.ndarray, wrist: bool, rng: np.random.Generator,
                  noise: float) -> np.ndarray:
    """Acceleration in g, shape (len(t), 3), for times t inside the segment."""
    n = len(t)
    if not seg.worn:
        return np.tile(TABLE, (n, 1)) + rng.normal(0, 0.0015, (n, 3))
    g0 = np.array(seg.w0 if wrist else seg.g0)
    g1 = np.array(seg.w1 if wrist else seg.g1)
    u = t - seg.t0                        # seconds into the segment
    f = u / max(seg.dur, 1e-6)
    act = seg.act
    dyn = np.zeros((n, 3))
    base_noise = 0.006
    if act in ("fall", "collapse"):
        g, dyn = _fall(seg, u, g0, g1, wrist)
        base_noise = 0.02
    elif act in ("sit_down", "stand_up", "lie_down", "get_up_bed", "get_up_floor", "turn"):
        g = _blend(g0, g1, 0.5 - 0.5 * np.cos(np.pi * f))
        level = {"sit_down": 0.12, "stand_up": 0.15, "lie_down": 0.1, "get_up_bed": 0.12,
                 "get_up_floor": 0.25, "turn": 0.08}[act]
        dyn += level * np.sin(np.pi * f)[:, None] * g1[None, :]
        if act == "sit_down":
            hard = bool(seg.params.get("hard"))
            peak = (1.0 + 0.9 * _hash01(seg.t0, 3)) if hard else (0.25 + 0.25 * _hash01(seg.t0, 3))
            if wrist:
                peak *= 0.7
            dyn += (peak * _pulse(u, 0.85 * seg.dur, 0.035))[:, None] * g1[None, :]  # seat jolt, upwards
            dyn[:, 1] -= 0.25 * np.sin(np.pi * np.clip(u / (0.8 * seg.dur), 0, 1))
        base_noise = 0.015
    elif act == "knock":
        # the hand goes to the chest while the wrist rings from the knock (the waist barely
        # notices); the peak varies knock to knock
        g = _blend(g0, g1, u / max(seg.dur, 1e-3))
        r = _hash01(seg.t0, 11)
        peak = (3.2 + 3.0 * r) if wrist else 0.2
        way = np.array([0.6, 0.3 + r, -0.5])
        dyn += (peak * _pulse(u, 0.12, 0.015))[:, None] * (way / np.linalg.norm(way))[None, :]
        base_noise = 0.02
    elif act == "bend":
        lean = np.array([0.0, -0.35, -0.94])
        g = _blend(g0, lean, np.sin(np.pi * f))
        base_noise = 0.015
    else:
        g = _blend(g0, g1, u / min(1.0, max(seg.dur / 2, 1e-3)))
        if act in ("walk", "stairs"):
            step = float(seg.params.get("step_hz", 1.6)) * (0.8 if act == "stairs" else 1.0)
            amp = (0.35 if act == "stairs" else 0.22) * (0.8 + 0.4 * _hash01(seg.t0, 5))
            ph = 2 * np.pi * step * t
            vert = amp * np.sin(ph)
            dyn += vert[:, None] * g[:, :]
            dyn[:, 2] += 0.08 * np.sin(ph + 1.1)
            dyn[:, 0] += 0.05 * np.sin(0.5 * ph)
            if wrist and not seg.params.get("hand_held"):  # arm swing: a half-step-frequency rotation of the wrist
                swing = 0.35 * np.sin(0.5 * ph + 0.4)
                dyn[:, 2] += swing
                dyn[:, 0] += 0.5 * swing
            base_noise = 0.03
        elif act == "floor_struggle":
            burst = 0.25 + 0.2 * np.sin(2 * np.pi * 0.7 * t) ** 2
            dyn += rng.normal(0, 1, (n, 3)) * burst[:, None] * 0.5
            g = _blend(g0, g1 + 0.4 * np.sin(2 * np.pi * 0.3 * t)[:, None] *
                       np.array([1.0, 0.3, 0.0]), np.ones(n))
            base_noise = 0.05
        elif act in ("sit", "stand"):
            period = float(seg.params.get("fidget_s", 40.0 if act == "stand" else 90.0))
            phase = (t - seg.t0) % period
            fidget = np.where(phase < 1.5, 0.08 if act == "sit" else 0.12, 0.0)
            if seg.params.get("hand_held"):
                fidget[:] = 0.0   # standing still, holding the knocked hand
            dyn += rng.normal(0, 1, (n, 3)) * fidget[:, None]
            base_noise = 0.008 if act == "sit" else 0.012
        elif act in ("lie", "sleep", "floor_still"):
            dyn += (0.004 * np.sin(2 * np.pi * 0.25 * t))[:, None] * g
            base_noise = 0.003
        if wrist and act in ("sit", "stand", "lie"):
            base_noise *= 2.0
    return g + dyn + rng.normal(0, base_noise + noise, (n, 3))


def _fall(seg: Segment, u: np.ndarray, g0: np.ndarray, g1: np.ndarray,
          wrist: bool) -> tuple[np.ndarray, np.ndarray]:
    """Free fall, impact and landing. Fainting is slower and softer; a chair fall is short."""
    kind = seg.params.get("kind", "collapse") if seg.act == "fall" else "collapse"
    r = _hash01(seg.t0, 7)
    descent = {"forward": 0.45, "backward": 0.5, "lateral": 0.45, "from_chair": 0.3,
               "fainting": 0.9, "collapse": 2.5}[kind]
    peak = {"forward": 3.5, "backward": 3.8, "lateral": 3.2, "from_chair": 2.6,
            "fainting": 2.4, "collapse": 0.4}[kind] * (0.85 + 0.4 * r)
    if wrist:
        peak *= 1.3
    impact = descent + 0.05
    rot = np.clip(u / impact, 0, 1)
    g = _blend(g0, g1, 0.5 - 0.5 * np.cos(np.pi * rot))
    # free fall: the measured magnitude sinks towards 0.3 g (less for slow collapses)
    dip = 1.0 - (0.35 if kind == "collapse" else 0.65) * np.sin(np.pi * np.clip(u / impact, 0, 1))
    g = g * dip[:, None]
    shock = peak * _pulse(u, impact, 0.03) + 0.35 * peak * _pulse(u, impact + 0.12, 0.04)
    ring = 0.3 * np.exp(-np.clip(u - impact, 0, None) / 0.15) * np.sin(
        2 * np.pi * 9 * np.clip(u - impact, 0, None))
    direction = g1 + np.array([0.3, 0.2, -0.2])
    direction = direction / np.linalg.norm(direction)
    dyn = (shock + np.where(u > impact, ring, 0.0))[:, None] * direction[None, :]
    return g, dyn


def heart_rate(seg: Segment) -> float:
    """Mean beats per minute during an activity (an older adult's values)."""
    return {"sleep": 56, "lie": 60, "turn": 62, "sit": 66, "sit_down": 68, "stand_up": 72,
            "stand": 72, "bend": 76, "walk": 86, "stairs": 98, "get_up_bed": 66,
            "lie_down": 64, "fall": 100, "floor_struggle": 112, "floor_still": 96,
            "get_up_floor": 105, "collapse": 58, "out": 80}.get(seg.act, 70)
