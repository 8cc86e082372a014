#!/usr/bin/env bash
# The project checking itself: ruff (bug-finding rules) and mypy (strict on the daemon's
# runtime, detectors, drivers and sensordata), both configured in pyproject.toml.
# Installs what it needs into .venv like scripts/test.sh.
source "$(dirname "$0")/bootstrap.sh"
ensure_venv test,plot,demo
.venv/bin/ruff check gateway detectors drivers simulator sensordata
.venv/bin/mypy
