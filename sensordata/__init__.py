"""The shared vocabulary below gateway/, drivers/ and simulator/.

Readings (what a sensor reports), the trace format (model, codec, reader and writer of
MCAP trace files) and time helpers. Everything above imports these words; this package
imports nothing of the project's, so drivers and the simulator never need the gateway
application and the dependency arrows all point down:

    gateway ──▶ drivers, simulator, detectors ──▶ sensordata
"""
