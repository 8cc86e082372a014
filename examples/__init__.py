"""Shipped examples: the commented home config, the demo home, the systemd unit and the
broker ACL recipe. Data, found through importlib.resources by gateway/shipped.py; a package
only so that an installed wheel carries them as one real directory."""
