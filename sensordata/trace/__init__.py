"""Trace files: many sensors' readings, their metadata and ground truth in one MCAP file.

See docs/trace-format.md for the layout. `TraceWriter` appends (live or offline),
`TraceReader` streams readings back in arrival order and reports damage.
"""

from sensordata.trace.model import FORMAT_VERSION, Label, StreamInfo, TraceDamage
from sensordata.trace.reader import RecordedEvent, TraceError, TraceReader
from sensordata.trace.writer import TraceWriter

__all__ = ["FORMAT_VERSION", "Label", "RecordedEvent", "StreamInfo", "TraceDamage",
           "TraceError", "TraceReader", "TraceWriter"]
