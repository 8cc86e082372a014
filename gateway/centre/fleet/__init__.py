"""`safehome fleet`: many virtual gateways in one process, for load, failover and storm
tests of the centre side (broker cluster, receivers). Each virtual gateway runs the
gateway's own Store, Outbox and Uplink; only the sensors and detectors are replaced by
a timer that raises alarms."""
