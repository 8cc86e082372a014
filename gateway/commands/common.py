"""Helpers shared by subcommands: loading a config with installer-friendly errors, logging."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from gateway.config import ConfigError, HomeConfig, load_config


def load_or_exit(path: str | Path) -> HomeConfig | int:
    """The validated config, or exit code 2 after printing every problem to stderr."""
    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"{exc.path}: {len(exc.lines)} problem(s) found:", file=sys.stderr)
        for line in exc.lines:
            print(f"  - {line}", file=sys.stderr)
        return ConfigError.exit_code


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
