"""A wall radar's mounting as the radar fall detector measures it itself, from a person's walks.

Why apart from the fall detector: judging a descent and knowing where the radar hangs are
two jobs. Installers' tape measures are often wrong, so the detector keeps one of these per
wall radar: it feeds the moving points of each frame (undoing the configured mounting) to the
walk estimator of `sensordata/radar_mounting.py`, every `ESTIMATE_EVERY_S` of sensor time
offers a better estimate, and, once one is adopted, gives the affine map from heights under
the configured mounting to heights under the measured one. The detector decides what an
adoption means for its tracks (heights before and after are in different frames).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from detectors.zones import INF
from sensordata.radar_mounting import (
    MIN_SPEED_MPS,
    Mounting,
    MountingEstimate,
    MountingEstimator,
    reprojection,
    room_to_sensor,
)


@dataclass(slots=True)
class SelfMounting:
    """One radar's mounting: the configured one, the walk estimator, the estimate in use."""

    ESTIMATE_EVERY_S: ClassVar[float] = 10.0   # sensor seconds between mounting estimates
    # A walk's estimate outside these is not a walk (a fan, a pet, one person pacing at one
    # range): a wall radar hangs between knee and ceiling height and looks down, not up.
    PLAUSIBLE_HEIGHT_M: ClassVar[tuple[float, float]] = (0.3, 3.5)
    PLAUSIBLE_TILT_DEG: ClassVar[tuple[float, float]] = (-20.0, 60.0)

    configured: Mounting
    est: MountingEstimator = field(default_factory=MountingEstimator)
    used: MountingEstimate | None = None
    next_try: float = -INF
    a: np.ndarray | None = None        # room_configured -> room_measured: p @ a.T + b
    b: np.ndarray | None = None

    def feed(self, points: Any, t: float) -> MountingEstimate | None:
        """Feed a frame's points to the walk estimator (in the sensor frame, undoing the
        configured mounting); every ESTIMATE_EVERY_S, return a better estimate to adopt."""
        p = np.asarray(points)
        if len(p):
            # only moving points feed the walk estimator: pick them before transforming
            # (most of a frame is static clutter, and this runs on every frame)
            walking = p[np.abs(p[:, 3].astype(np.float64)) >= MIN_SPEED_MPS]
            if len(walking):
                self.est.feed_person(room_to_sensor(walking[:, :3], self.configured))
        if t < self.next_try:
            return None
        self.next_try = t + self.ESTIMATE_EVERY_S
        if not self.est.ready():
            return None
        got = self.est.estimate()
        if got is None or not self.plausible(got):
            return None
        used = self.used
        if used is not None and (got.points < used.points or (
                abs(got.height_m - used.height_m) < 0.01
                and abs(got.elevation_tilt_deg - used.elevation_tilt_deg) < 0.2)):
            return None   # rests on fewer points than the one in use (after a restart), or same
        return got

    @classmethod
    def plausible(cls, e: MountingEstimate) -> bool:
        lo, hi = cls.PLAUSIBLE_HEIGHT_M
        tlo, thi = cls.PLAUSIBLE_TILT_DEG
        return lo <= e.height_m <= hi and tlo <= e.elevation_tilt_deg <= thi

    def adopt(self, e: MountingEstimate) -> None:
        self.used = e
        self.a, self.b = reprojection(self.configured, Mounting(
            e.height_m, e.elevation_tilt_deg, self.configured.azimuth_tilt_deg))

    def as_dict(self) -> dict[str, float] | None:
        """The measured mounting once a walk gave one (the console shows it), else None."""
        if self.used is None:
            return None
        return {"height_m": self.used.height_m, "tilt_deg": self.used.elevation_tilt_deg,
                "points": float(self.used.points)}

    # --- persistence: kept with the configured mounting it was measured against (if the
    # installer changed that meanwhile, the radar was probably re-hung) ---------------------
    def saved(self) -> dict[str, Any] | None:
        if self.used is None:
            return None
        c = self.configured
        return {"configured": [c.height_m, c.elevation_tilt_deg, c.azimuth_tilt_deg],
                "estimate": self.used.to_json()}

    def restorable(self, saved: dict[str, Any]) -> MountingEstimate | None:
        """The saved estimate, when it was measured against this configured mounting and is
        plausible, else None."""
        c = self.configured
        if not np.allclose(saved["configured"], [c.height_m, c.elevation_tilt_deg,
                                                 c.azimuth_tilt_deg], atol=1e-6):
            return None
        est = MountingEstimate.from_json(saved["estimate"])
        return est if self.plausible(est) else None
