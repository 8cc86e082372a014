#!/usr/bin/env bash
# The project checking itself: ruff (bug-finding rules) and mypy (strict on the daemon's
# runtime, detectors, drivers and sensordata), both configured in pyproject.toml.
# Installs what it needs into .venv like scripts/test.sh.
source "$(dirname "$0")/bootstrap.sh"
ensure_venv test,plot,demo
# Tests mirror the sources (tests/README.md): every test folder is a package and no two test
# files share a basename, so `pytest tests/.../test_x.py` and -k name one file.
dups=$(find tests -name 'test_*.py' -printf '%f\n' | sort | uniq -d)
[ -z "$dups" ] || { echo "test files with the same name: $dups" >&2; exit 1; }
missing=$(find tests -mindepth 1 -type d ! -name __pycache__ ! -path '*/.*' ! -path '*/data' ! -path '*/data/*' \
  ! -exec test -e '{}/__init__.py' ';' -print)
[ -z "$missing" ] || { echo "test folders without __init__.py: $missing" >&2; exit 1; }
.venv/bin/ruff check gateway detectors drivers simulator sensordata tests benchmarks
.venv/bin/mypy
