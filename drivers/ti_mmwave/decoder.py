"""`safehome decode --driver ti_mmwave`: data-port bytes -> one JSON-able dict per frame.

The decoder protocol (shared with the other serial drivers' decoders, see
gateway/commands/decode.py): `feed(bytes) -> iterable of dicts`, `finish() -> iterable of
dicts` at end of file, and `stats`, a dict with at least frames_decoded, frames_dropped
and bytes_discarded.

Coordinates are printed as the device sent them (sensor frame for point clouds, world
frame for tracked targets): a capture file does not say how the radar was mounted. Give
a chirp config (`mounting=`) to get room-frame points as the driver would produce them.
"""

from __future__ import annotations

from typing import Any, Iterable

from drivers.ti_mmwave.chirp import Mounting
from drivers.ti_mmwave.convert import sensor_to_room
from drivers.ti_mmwave.mounting_check import MountingEstimator
from drivers.ti_mmwave.parser import FrameParser


class TiMmwaveDecoder:
    def __init__(self, mounting: Mounting | None = None) -> None:
        self.parser = FrameParser()
        self.mounting = mounting
        # moving points in the sensor frame: the capture measures its own mounting
        self.estimator = MountingEstimator()

    @property
    def stats(self) -> dict[str, int]:
        return self.parser.stats

    def feed(self, data: bytes) -> Iterable[dict[str, Any]]:
        for frame in self.parser.feed(data):
            if frame.points is not None and len(frame.points):
                self.estimator.feed(frame.points.xyz, frame.points.velocity)
            if self.mounting is not None and frame.points is not None and len(frame.points):
                frame.points.xyz = sensor_to_room(frame.points.xyz, self.mounting)
            yield frame.to_json()

    def finish(self) -> Iterable[dict[str, Any]]:
        self.parser.finish()
        return ()

    def notes(self, configured: Mounting | None = None) -> list[str]:
        """What the capture says about the radar's mounting, against the configured one."""
        est = self.estimator.estimate()
        if est is None:
            return ["mounting: not measurable (needs a person walking across 2 m of range)"]
        return ["mounting: " + est.versus(configured)]
