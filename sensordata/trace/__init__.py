"""Trace files: many sensors' readings, their metadata and ground truth in one MCAP file.

See docs/trace-format.md for the layout. `TraceWriter` appends (live or offline),
`TraceReader` streams readings back in arrival order and reports damage.

The reader and writer (and with them mcap, zstandard and lz4) load on first use: the
daemon's simulated sensors and the detectors need only `model` (labels, stream metadata),
and a gateway that does not record should not carry the MCAP libraries in its memory.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sensordata.trace.model import FORMAT_VERSION, Label, StreamInfo, TraceDamage

if TYPE_CHECKING:
    from sensordata.trace.reader import RecordedEvent, TraceError, TraceReader
    from sensordata.trace.writer import TraceWriter

_LAZY = {"RecordedEvent": "sensordata.trace.reader", "TraceError": "sensordata.trace.reader",
         "TraceReader": "sensordata.trace.reader", "TraceWriter": "sensordata.trace.writer"}

__all__ = ["FORMAT_VERSION", "Label", "RecordedEvent", "StreamInfo", "TraceDamage",
           "TraceError", "TraceReader", "TraceWriter"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
