"""Seeed MR60FDA1/MR60FDA2 fall radars: frame parsers, drivers, presets, decoders."""
