"""Bounds on what the gateway parses from MQTT (acks and commands), checked before parsing.

WHY: `json.loads` recurses once per nesting level, so `[` x 100,000 raises
RecursionError (not ValueError) and a 10 MB ack costs 10 MB of parsing and logging.
Anyone who can publish on `ack` or `cmd/+` could tear the uplink down with one message.
Here a payload is refused cheaply, by size first and then by a linear scan of its
nesting depth, with an error that names the limit; only then is it parsed. Acks and
commands are small flat objects, so the limits are far above any honest message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_DEPTH = 16
LOG_CHARS = 200


class PayloadError(ValueError):
    """A payload refused before or while parsing; the message names the problem."""


def parse_object(raw: bytes | bytearray | str | None, *, max_bytes: int = MAX_PAYLOAD_BYTES,
                 max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """The JSON object in `raw`, or PayloadError (too large, too deep, not JSON, not an object)."""
    data = raw.encode() if isinstance(raw, str) else bytes(raw or b"")
    if len(data) > max_bytes:
        raise PayloadError(f"payload of {len(data)} bytes is larger than {max_bytes} bytes")
    depth = nesting_depth(data)
    if depth > max_depth:
        raise PayloadError(f"payload nested {depth} levels deep; at most {max_depth} allowed")
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise PayloadError("payload is not valid JSON") from None
    if not isinstance(body, dict):
        raise PayloadError("payload must be a JSON object")
    return body


def nesting_depth(data: bytes) -> int:
    """The deepest [ / { nesting outside strings (linear, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:      # backslash
                escaped = True
            elif byte == 0x22:      # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth = max(0, depth - 1)
    return deepest


def excerpt(raw: bytes | bytearray | str | None, limit: int = LOG_CHARS) -> str:
    """A payload as it may appear in a log line: repr'd and cut to `limit` characters."""
    data = raw if isinstance(raw, str) else bytes(raw or b"")
    text = repr(data[: limit + 1])
    size = len(data)
    return text[:limit] + f"... ({size} bytes)" if len(text) > limit or size > limit else text


class RateLimitedLog:
    """At most one log line per kind of problem per `interval`; the rest are counted.

    Kinds are few and fixed (malformed, unknown, duplicate), so memory is bounded no
    matter how many different bad messages arrive; the next line that is let through
    says how many were suppressed since the last one."""

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self.counts: dict[str, int] = {}

    def __call__(self, kind: str, emit: Callable[..., None], msg: str, *args: Any) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        now = self.clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.interval:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return
        self._last[kind] = now
        skipped = self._suppressed.pop(kind, 0)
        if skipped:
            msg += " (%d more like it suppressed in the last %.0f s)"
            args = (*args, skipped, self.interval)
        emit(msg, *args)
