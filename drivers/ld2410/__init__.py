"""HLK-LD2410 presence radar: protocol, incremental parser, driver, presets, decoder."""
