"""Shipped radar chirp configs (*.cfg) and mounting presets (*.toml): data, found through
importlib.resources by drivers/shipped.py. A package only so that an installed wheel
carries them as one real directory."""
