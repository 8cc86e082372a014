#!/usr/bin/env bash
# Run the test suite: installs mosquitto (Debian package) and the Python test dependencies
# when they are missing. Extra arguments go to pytest, e.g. scripts/test.sh -k config.
source "$(dirname "$0")/bootstrap.sh"
if ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then
  echo "installing mosquitto (the tests run a real broker)" >&2
  apt_install mosquitto mosquitto-clients
fi
command -v mosquitto_passwd >/dev/null || apt_install mosquitto
command -v openssl >/dev/null || apt_install openssl   # certificates for the TLS broker tests
[ -x /usr/bin/chromium ] || apt_install chromium         # the console's browser tests (Playwright drives it)
ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1 || apt_install faketime   # wall-clock steps (tests/faults)
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || apt_install nats-server   # the 3-node cluster tests
ensure_venv test,plot,demo
# The suite mostly waits (brokers stopped and started, cancel windows, clusters failing
# over), so three workers finish it in a third of the time even on two cores; every test
# starts its own brokers on its own ports. SAFEHOME_TEST_WORKERS=0 runs it in one process
# (as does passing -n 0 yourself).
exec .venv/bin/python -m pytest -n "${SAFEHOME_TEST_WORKERS:-3}" "$@"
