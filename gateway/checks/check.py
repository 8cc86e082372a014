"""One checklist item, and how a list of them becomes an exit code.

Why explicit `required`: a sensor the installer marked `required = false` (a spare
wearable, a door contact still in the post) may fail without failing the commissioning,
so its failures are downgraded to warnings when they are made (`Check.fail`), and the
exit code only has to look at the status.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"


@dataclass
class Check:
    item: str                       # what was checked, e.g. "sensor hall-radar: device"
    status: str                     # ok | warn | fail | skip
    finding: str                    # what was found, in plain words
    fix: str | None = None          # what to do about it (for warn and fail)
    data: dict[str, Any] = field(default_factory=dict)  # figures for --json

    @classmethod
    def ok(cls, item: str, finding: str, **data: Any) -> "Check":
        return cls(item, OK, finding, None, data)

    @classmethod
    def warn(cls, item: str, finding: str, fix: str | None, **data: Any) -> "Check":
        return cls(item, WARN, finding, fix, data)

    @classmethod
    def fail(cls, item: str, finding: str, fix: str | None, *, required: bool = True,
             **data: Any) -> "Check":
        """A failure; for an optional part (`required=False`) only a warning."""
        return cls(item, FAIL if required else WARN,
                   finding if required else f"{finding} (optional: not failing the check)",
                   fix, data)

    @classmethod
    def skip(cls, item: str, finding: str, **data: Any) -> "Check":
        return cls(item, SKIP, finding, None, data)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def exit_code(checks: list[Check]) -> int:
    """0 when no required item failed, else 1 (config errors exit 2 before any check)."""
    return 1 if any(c.status == FAIL for c in checks) else 0
