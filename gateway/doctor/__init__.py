"""`safehome doctor` and `safehome discover`: commissioning a home's gateway.

Why a package of small modules: each check answers one installer question (is the
radar plugged in, does it talk, does an alarm reach the centre, is the clock right, is
there room on the SD card) and each has its own failure modes and fixes. `runner`
assembles them into one checklist of `Check` items (gateway/checks/, shared with the
console, which shows the clock, storage and recording checks of the running daemon),
`report` prints it, and `discovery`/`ble_scan`/`snippets` find devices nobody has
configured yet.
"""

from gateway.checks.check import Check, exit_code

__all__ = ["Check", "exit_code"]
