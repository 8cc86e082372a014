#!/usr/bin/env bash
# Run the demo: a simulated home whose alarm reaches an alarm centre over a real MQTT broker.
source "$(dirname "$0")/bootstrap.sh"
ensure_venv demo
exec .venv/bin/safehome demo "$@"
