"""TI mmWave radars (IWR6843AOP and relatives): data-port parser, chirp configs, driver.

`parser.py` turns data-port bytes into `frames.Frame`s (pure, no I/O); `chirp.py` loads and
validates chirp configs from `drivers/firmware_configs/`; `convert.py` puts frames into the room
frame as gateway readings; `driver.py` is the `ti_mmwave` driver; `decoder.py` serves
`safehome decode --driver ti_mmwave`.
"""
