"""`safehome decode --driver seeed_mr60fda2|seeed_mr60fda1`: raw bytes -> dicts per frame.

Decoder protocol as in gateway/commands/decode.py. Known report types are named and their
value decoded; other frames are printed with their raw data so unknown module chatter is
visible rather than hidden.
"""

from __future__ import annotations

from typing import Any, Iterable

from drivers.seeed import fda1, fda2

_FDA2_NAMES = {
    fda2.TYPE_FALL: "fall", fda2.TYPE_PRESENCE: "presence", fda2.TYPE_PARAMS: "params",
    fda2.TYPE_INSTALL_HEIGHT: "install_height", fda2.TYPE_FALL_THRESHOLD: "fall_threshold",
    fda2.TYPE_SENSITIVITY: "sensitivity", fda2.TYPE_RESET: "reset",
}
_FDA1_NAMES = {
    (fda1.CTRL_PRESENCE, fda1.CMD_PRESENCE): "presence",
    (fda1.CTRL_PRESENCE, fda1.CMD_MOTION): "motion",
    (fda1.CTRL_PRESENCE, fda1.CMD_BODY_MOVEMENT): "body_movement",
    (fda1.CTRL_FALL, fda1.CMD_FALL): "fall",
    (fda1.CTRL_FALL, fda1.CMD_RESIDENCY): "residency",
}


def fda2_to_json(f: fda2.Frame) -> dict[str, Any]:
    d: dict[str, Any] = {"kind": _FDA2_NAMES.get(f.type, f"0x{f.type:04x}"), "id": f.id}
    if f.type == fda2.TYPE_PARAMS and (p := fda2.decode_params(f.data)):
        d.update(install_height_m=round(p.install_height_m, 4),
                 fall_threshold_m=round(p.fall_threshold_m, 4), sensitivity=p.sensitivity)
    elif len(f.data) == 1:
        d["value"] = f.data[0]
    elif f.data:
        d["data"] = f.data.hex()
    return d


def fda1_to_json(f: fda1.Frame) -> dict[str, Any]:
    name = _FDA1_NAMES.get((f.control, f.command), f"0x{f.control:02x}{f.command:02x}")
    d: dict[str, Any] = {"kind": name}
    if len(f.data) == 1:
        d["value"] = f.data[0]
    elif f.data:
        d["data"] = f.data.hex()
    return d


class _Decoder:
    def __init__(self, parser: Any, to_json: Any) -> None:
        self.parser = parser
        self._to_json = to_json
        self._tail = 0

    @property
    def stats(self) -> dict[str, int]:
        s = self.parser.stats
        return {"frames_decoded": s["frames"],
                "frames_dropped": s["checksum_errors"] + s["bad_frames"],
                "bytes_discarded": s["bytes_discarded"] + self._tail,
                "checksum_errors": s["checksum_errors"]}

    def feed(self, data: bytes) -> Iterable[dict[str, Any]]:
        return [self._to_json(f) for f in self.parser.feed(data)]

    def finish(self) -> Iterable[dict[str, Any]]:
        self._tail = self.parser.pending
        return ()


class FDA2Decoder(_Decoder):
    def __init__(self) -> None:
        super().__init__(fda2.FDA2Parser(), fda2_to_json)


class FDA1Decoder(_Decoder):
    def __init__(self) -> None:
        super().__init__(fda1.FDA1Parser(), fda1_to_json)
