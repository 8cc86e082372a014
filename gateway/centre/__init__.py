"""The alarm-centre side: code that runs at the centre, never in a home.

`receiver/` is the reference alarm receiver (`safehome centre`), `bridge/` forwards the
MQTT contract to DC-09 receiver software (`safehome bridge dc09`) and `fleet/` is the
load, failover and storm tool (`safehome fleet`). Nothing in the home's daemon imports
this package (tests/test_layers.py checks the daemon's import closure); see
docs/architecture.md for why it is a sub-package of `gateway/`."""
