"""The wearable fall detector's settings: what an installer or a config file can set.

Why a file of its own: the thresholds, their units and their documented defaults are the
detector's contract with `safehome config check`, the console and `examples/home.toml`;
the streaming code that applies them is `detectors/wearable_fall.py`, which re-exports
these names.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from detectors.base import DetectorSettings

# The wrist rule is chosen by benchmarks/wrist_crossval.py on SisFall, UMAFall wrist,
# FallAllD wrist and SmartFallMM (a consumer smartwatch; older wearers) together, the
# procedure whose held-out figures docs/detection.md reports: a wrist turns freely, so its
# orientation says little about the body's posture (no posture weight); a smartwatch arm
# swings to 2.5-3.5 g in everyday life (older wearers' false alarms peak there), so the
# impact must reach 3 g; an arm already moving at 1 g RMS before made the peak itself; and
# 3 s of steps after the suspicion cancel it (at the waist the get-up rule already sees the
# trunk upright again; at the wrist the arm's orientation is the arm's, so steps are asked).
# A wrist also claps, waves and pulls sleeves: more than two peaks of about the impact's
# size within 2 s before it up to the judging point are the arm's own rhythm (one impact
# and one rebound or second hit are a fall's; `max_similar_peaks`, a fixed physical limit
# added after choosing, not chosen on the data sets). `getup_needs_pre_fall` (a get-up only
# against a recorded pre-fall orientation) stays off: measured, it trades lab falls for
# smartwatch falls (docs/detection.md, "Where SmartFallMM's falls are lost"). The same
# rhythm seen after the decision (`active_peaks` 2: two more peaks of about the impact's
# size, the count the rhythm limit already allows besides the impact) is the arm at work
# again and cancels, like steps; fixed from that physics, not chosen on the data sets.
PLACEMENT_DEFAULTS: dict[str, dict[str, float]] = {
    "wrist": {"impact_g": 3.0, "score_threshold": 3.25, "max_post_activity_g": 0.4,
              "w_posture": 0.0, "w_still": 1.0, "max_pre_activity_g": 1.0, "walk_s": 3.0,
              "max_similar_peaks": 2, "active_peaks": 2},
}


class PlacementSettings(BaseModel):
    """Thresholds for one body placement; the score weighs the evidence in physical units."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    impact_g: float = Field(1.8, gt=1.0, le=16, title="Peak acceleration (g) that starts a look at a possible fall")
    min_posture_deg: float = Field(30.0, ge=0, le=180, title="Smallest change of orientation (degrees) from before to after the impact")
    max_post_activity_g: float = Field(0.25, gt=0, title="Largest RMS movement (g) after the impact that still counts as lying still")
    score_threshold: float = Field(2.5, title="Score at or above which a fall is suspected (the main threshold)")
    max_pre_activity_g: float = Field(100.0, gt=0, title="Largest movement (RMS g) before an episode; above: a waving arm")
    max_similar_peaks: int = Field(100, ge=1, title="Most peaks of about the impact's size near it; more: the arm's own rhythm (clapping)")
    getup_needs_pre_fall: bool = Field(False, title="Only a recorded pre-fall orientation can show a get-up (else only steps cancel)")
    walk_s: float = Field(0.0, ge=0, le=6.0, title="Seconds of step rhythm after a suspected fall that cancel it (walking again; 0: off)")
    active_peaks: int = Field(0, ge=0, le=10, title="Hard peaks after the decision that cancel (the arm at work again; 0: off)")
    w_peak: float = Field(1.0, title="Score weight per g of impact above 1 g")
    w_drop: float = Field(1.0, title="Score weight per m/s of downward speed before the impact")
    w_posture: float = Field(1.0, title="Score weight per 90 degrees of posture change")
    w_still: float = Field(1.0, title="Score weight for stillness after the impact (0..1)")
    bias: float = Field(0.0, title="Score offset")


class WearableFallSettings(DetectorSettings):
    """The `[detectors.wearable_fall]` table: timing shared by all placements, then one
    table of thresholds per placement."""

    post_s: float = Field(1.4, ge=0.8, le=5.0, title="Seconds after the impact to judge posture and stillness (the decision delay)")
    still_tol_g: float = Field(0.1, gt=0, title="Deviation (g) from the resting orientation that still counts as still")
    settle_s: float = Field(3.0, ge=0.8, le=10.0, title="Longest wait (s after the impact) for a body still rolling to come to rest")
    getup_s: float = Field(1.0, gt=0, title="Seconds back in the pre-fall orientation that cancel a suspected fall")
    upright_deg: float = Field(35.0, gt=0, le=90, title="Orientation within this angle of the pre-fall one counts as upright again")
    getup_activity_g: float = Field(0.0, ge=0, title="Movement (RMS g over 1 s) that shows the person is up and about")
    rearm_s: float = Field(120.0, gt=0, title="Seconds after a suspected fall without a get-up before new falls are looked for again")
    rest_activity_g: float = Field(0.05, gt=0, title="Movement (RMS g over 1 s) below which the wearer counts as resting in a posture")
    rest_memory_s: float = Field(10.0, ge=0, le=120, title="How long (s) postures rested in are remembered; a fall must end in a new one")
    max_gap_s: float = Field(1.0, gt=0, title="A gap in the samples longer than this restarts the analysis")
    waist: PlacementSettings = Field(default_factory=PlacementSettings, title="Belt or hip (also unknown placements)")
    chest: PlacementSettings = Field(default_factory=PlacementSettings, title="Chest strap")
    pendant: PlacementSettings = Field(default_factory=PlacementSettings, title="Pendant around the neck")
    wrist: PlacementSettings = Field(
        default_factory=lambda: PlacementSettings(**PLACEMENT_DEFAULTS["wrist"]),
        title="Wrist band or watch (a free-swinging arm peaks at 2 g in daily life: demand more)")

    @model_validator(mode="before")
    @classmethod
    def _placement_defaults(cls, data: Any) -> Any:
        """A partial placement table (`[detectors.wearable_fall.wrist] impact_g = 2.0`)
        changes only what it names; the placement's own defaults keep the rest."""
        if isinstance(data, dict):
            data = dict(data)
            for key, base in PLACEMENT_DEFAULTS.items():
                if isinstance(data.get(key), dict):
                    data[key] = {**base, **data[key]}
        return data
