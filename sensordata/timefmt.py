"""Time as text on the wire and in trace metadata: ISO 8601 UTC with milliseconds."""

from __future__ import annotations

from datetime import datetime, timezone


def iso(ts: float) -> str:
    """Unix seconds to ISO 8601 UTC with milliseconds, e.g. 2026-11-26T02:03:04.123Z."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def parse_iso(text: str) -> float:
    """ISO 8601 (a trailing Z or an offset) to Unix seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
