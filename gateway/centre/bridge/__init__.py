"""Bridges from the Safehome MQTT contract to other alarm-centre software.

`dc09`: SIA DC-09 (Contact ID in ADM-CID messages) to an alarm receiver, so that a centre
running existing receiver software gets Safehome alarms without writing code. Parts:
frame.py (DC-09 framing, CRC, AES), contact_id.py (event -> Contact ID report),
queue.py (durable SQLite queue), link.py (one TCP connection to the receiver),
mqtt_side.py (MQTT in and out), service.py (`Bridge`, the rules that tie them),
config.py (validated settings). See docs/contact-id.md.
"""

from gateway.centre.bridge.config import BridgeConfig, load_bridge_config, parse_bridge_config
from gateway.centre.bridge.service import Bridge

__all__ = ["Bridge", "BridgeConfig", "load_bridge_config", "parse_bridge_config"]
