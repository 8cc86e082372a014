"""`safehome decode --driver hlk_ld2410`: raw LD2410 bytes -> one JSON-able dict per frame.

Same decoder protocol as the other serial decoders (gateway/commands/decode.py): feed()
yields dicts, finish() flushes at end of file, `stats` has frames_decoded,
frames_dropped and bytes_discarded plus the parser's own counters. Acks and commands are
printed too: a capture taken while the gateway configured the module shows whether the
module answered.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Iterable

from drivers.ld2410 import protocol as P
from drivers.ld2410.parser import LD2410Parser


def frame_to_json(f: P.Report | P.Ack | P.Command) -> dict[str, Any]:
    if isinstance(f, P.Report):
        d: dict[str, Any] = {"kind": "report", "present": f.present, "moving": f.moving, "still": f.still}
        d.update({k: v for k, v in asdict(f).items() if v not in (None, ())})
        for k in ("moving_gate_energy", "still_gate_energy"):
            if k in d:
                d[k] = list(d[k])
        return d
    name = P.COMMAND_NAMES.get(f.command, f"0x{f.command:04x}")
    if isinstance(f, P.Ack):
        d = {"kind": "ack", "command": name, "status": f.status}
        if f.command == P.CMD_READ_PARAMS and (p := P.decode_params(f.data)):
            d["params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(p).items()}
        elif f.command == P.CMD_FIRMWARE_VERSION and (fw := P.decode_firmware(f.data)):
            d["firmware"] = fw
        return d
    return {"kind": "command", "command": name, "value": f.value.hex()}


class LD2410Decoder:
    def __init__(self) -> None:
        self.parser = LD2410Parser()
        self._tail = 0

    @property
    def stats(self) -> dict[str, int]:
        s = self.parser.stats
        return {"frames_decoded": s["frames"], "frames_dropped": s["bad_frames"] + s["malformed"],
                "bytes_discarded": s["bytes_discarded"] + self._tail,
                **{k: v for k, v in s.items() if k not in ("frames", "bytes_discarded")}}

    def feed(self, data: bytes) -> Iterable[dict[str, Any]]:
        return [frame_to_json(f) for f in self.parser.feed(data)]

    def finish(self) -> Iterable[dict[str, Any]]:
        self._tail = self.parser.pending  # a frame cut off by the end of the capture
        return ()
