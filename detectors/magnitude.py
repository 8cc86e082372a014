"""The magnitude of a block of acceleration samples, and its spread, worked out once per
block for every detector that asks.

Why: the home trackers (activity.py: is the wearer moving?), the wearable health detector
(is the sensor worn?) and the daily summary (movement level, steps) each looked at every
wearable block, so replaying a day worked out the same magnitudes four times per block
and their standard deviation three times. The last block's figures are kept, by the
identity of its `xyz` array (held, so its id cannot be reused): readings are immutable,
and every caller gets the very numbers it computed itself before, bit for bit.
"""

from __future__ import annotations

import numpy as np

_last: list[object] = [None, None, None]   # xyz, its magnitudes, their std (None: not yet)


def magnitude(xyz: np.ndarray) -> np.ndarray:
    """|a| of each sample: `np.sqrt(np.einsum("ij,ij->i", xyz, xyz))`. Read only: the
    array is shared with the other callers of the same block."""
    if _last[0] is not xyz:
        _last[:] = xyz, np.sqrt(np.einsum("ij,ij->i", xyz, xyz)), None
    mag: np.ndarray = _last[1]  # type: ignore[assignment]
    return mag


def magnitude_std(xyz: np.ndarray) -> float:
    """`float(magnitude(xyz).std())`."""
    mag = magnitude(xyz)
    std = _last[2]
    if std is None:
        std = _last[2] = float(mag.std())
    return std  # type: ignore[return-value]
