"""The gateway's side of traces: recording live readings, replaying a trace through the
daemon's pipeline, importing CSV files and plotting.

The trace format itself (model, codec, reader, writer) is shared vocabulary and lives in
`sensordata.trace`, so drivers and the simulator can write traces without the gateway.
"""
