"""The installed release, a leaf: the daemon (Home Assistant's device info) and the CLI's
`--version` both need it, and the daemon must not import the CLI."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def installed_version() -> str:
    """The version pip installed (from the wheel's metadata), so bug reports name a release."""
    try:
        return version("safehome")
    except PackageNotFoundError:  # run from a clone that was never installed
        return "unknown (not installed)"
